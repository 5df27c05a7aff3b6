"""Compile ahead: ``python -m lsq.compile`` (or ``lsq compile``) fills numba's disk cache with the kernels of
the common paths, so that the first fit in a new process loads them instead of compiling.

For Docker images and CI set-up: run it once after ``pip install`` (with ``NUMBA_CACHE_DIR`` set to where the
image keeps the cache, if the package directory is read-only). Each path compiles in a fresh process, as many
at a time as ``--jobs`` (default: the CPU count), with a progress bar when tqdm is installed.
"""

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from ._tiers.readiness import mark_ready, status

__all__ = ["PATHS", "compile_ahead", "main"]

_FIRST_ORDER = "lsq.least_squares(f, [1.0, 3.0, 1.0, 0.0], method='adam', max_nfev=50)\n"

_DATA = ("import numpy as np\n"
         "t = np.linspace(0, 10, 100); y = 2 * np.exp(-0.5 * ((t - 4) / 1.5) ** 2) + 0.1\n")

PATHS = {
    "least_squares": _DATA + (
        "def f(p): return p[0] * np.exp(-0.5 * ((t - p[1]) / p[2]) ** 2) + p[3] - y\n"
        "lsq.least_squares(f, [1.0, 3.0, 1.0, 0.0])\n"),
    "first_order": _DATA + "def f(p): return p[0] * np.exp(-0.5 * ((t - p[1]) / p[2]) ** 2) + p[3] - y\n"
                   + _FIRST_ORDER,
    "curve_fit_python": _DATA + (
        "lsq.curve_fit(lambda x, a, m, s, c: a * np.exp(-0.5 * ((x - m) / s) ** 2) + c, t, y, p0=[1, 3, 1, 0])\n"),
    "curve_fit": _DATA + ("lsq.curve_fit(lsq.models.gaussian, t, y, p0=[1.0, 3.0, 1.0, 0.0])\n"
                          "lsq.models.gaussian(t, 1.0, 3.0, 1.0, 0.0)\n"
                          "lsq.models.gaussian.jacobian(t, 1.0, 3.0, 1.0, 0.0)\n"),
    "fit": _DATA + "lsq.fit(lsq.models.gaussian, t, y)\n",
    "model": (
        "import numpy as np\n"
        "@lsq.model\n"
        "def decay(x, a, k, c):\n"
        "    return a * np.exp(-k * x) + c\n"
        "t = np.linspace(0, 5, 60); y = 3 * np.exp(-1.3 * t) + 0.5\n"
        "lsq.curve_fit(decay, t, y, p0=[1.0, 1.0, 0.0])\n"),
    "batch": (
        "import numpy as np\n"
        "t = np.linspace(-3, 3, 80)\n"
        "Y = np.array([lsq.models.gaussian(t, 2.0, c, 0.7, 0.1) for c in np.linspace(-1, 1, 64)])\n"
        "lsq.curve_fit_batch(lsq.models.gaussian, t, Y, kernel='per-fit')\n"
        "lsq.curve_fit_batch(lsq.models.gaussian, t, Y, kernel='lanes')\n"),
}
"""Each common path as the source of a first call (``lsq`` imported): ``least_squares`` and ``curve_fit`` with
a plain Python function, ``curve_fit`` and ``fit`` of a built-in model, ``curve_fit`` of a new ``@lsq.model``
(the engine it runs is shared by every user model) and ``curve_fit_batch`` on the per-fit and lanes
kernels."""

FIRST = ("least_squares", "curve_fit")
"""Paths compiled in a first wave: the others reuse what ``curve_fit`` compiles (the compiled driver), so they
start once it is in the cache rather than compiling it again beside it."""


def _run(name, env):
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", "import lsq\nexec(" + repr(PATHS[name]) + ")"], env=env,
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"compiling the {name} path failed:\n{out.stderr[-2000:]}")
    mark_ready(name)
    return name, time.perf_counter() - t0


def compile_ahead(paths=None, jobs=None, progress=True):
    """Compile the kernels of ``paths`` (names from :data:`PATHS`, default all) into numba's disk cache.

    Parameters
    ----------
    paths : list of str, optional
        Which paths; default all of :data:`PATHS`.
    jobs : int, optional
        Processes at a time (default: the CPU count).
    progress : bool
        Show a progress bar (tqdm, if installed).

    Returns
    -------
    seconds : dict
        Wall time of each path's process.
    """
    names = list(PATHS) if paths is None else list(paths)
    unknown = [p for p in names if p not in PATHS]
    if unknown:
        raise ValueError(f"`paths` must be names from {sorted(PATHS)}, got {unknown}")
    jobs = max(1, int(jobs or os.cpu_count() or 1))
    env = dict(os.environ, LSQ_TIER="compiled", LSQ_COMPILE="never")  # compile, and start nothing else
    bar = None
    if progress:
        try:
            from tqdm import tqdm

            bar = tqdm(total=len(names), desc="compiling lsq kernels", unit="path", file=sys.stderr)
        except ImportError:
            pass
    seconds = {}
    waves = [[n for n in names if n in FIRST], [n for n in names if n not in FIRST]]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for wave in waves:
            pending = {pool.submit(_run, n, env) for n in wave}
            while pending:  # the bar redraws every second (its clock runs) while a long path compiles
                done, pending = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
                for fut in done:
                    name, dt = fut.result()
                    seconds[name] = dt
                    if bar is not None:
                        bar.set_postfix_str(f"{name} {dt:.0f} s")
                        bar.update(1)
                if bar is not None:
                    bar.refresh()
    if bar is not None:
        bar.close()
    return seconds


def main(argv=None):
    """Command line of :func:`compile_ahead`."""
    ap = argparse.ArgumentParser(prog="python -m lsq.compile", description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", help=f"paths to compile (default all): {', '.join(PATHS)}")
    ap.add_argument("--jobs", "-j", type=int, default=None, help="processes at a time (default: CPU count)")
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--status", action="store_true",
                    help="list each path as cached, compiling (in the background) or missing, and compile nothing")
    a = ap.parse_args(argv)
    if a.status:
        for name, state in status().items():
            print(f"{name}: {state}")
        return 0
    t0 = time.perf_counter()
    try:
        seconds = compile_ahead(a.paths or None, a.jobs, not a.no_progress)
    except (ValueError, RuntimeError) as exc:
        print(f"lsq compile: {exc}", file=sys.stderr)
        return 2
    for name, dt in seconds.items():
        print(f"{name}: {dt:.1f} s")
    print(f"compiled {len(seconds)} paths in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
