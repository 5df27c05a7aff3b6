"""Cold start: the first call of each entry point in a fresh process with an empty numba cache, beside SciPy,
in units of the compile yardstick (:mod:`benchmarks.ref_compile`), and the same again with the cache warm.

Each row is a new interpreter: ``import lsq`` and the first call are timed, and numba's compile events give
the compile time of lsq's own functions (:class:`benchmarks.compile_profile.CompileProfile`). The yardstick is
run in the same sitting (median of three), so the units compare across machines.
"""

import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from lsq.compile import PATHS

from .compile_profile import run_cold

ROOT = Path(__file__).resolve().parent.parent

TARGETS = {"least_squares": 1.5, "curve_fit_python": 1.5, "curve_fit": 2.0, "fit": 2.0, "model": 2.0,
           "batch": 3.0, "README example": 5.0}
"""Targets of the compile-time issue, in yardstick units (cold cache, fresh process)."""

SCIPY = ("import time; t0 = time.perf_counter()\n"
         "import numpy as np; from scipy.optimize import curve_fit\n"
         "t1 = time.perf_counter()\n"
         "t = np.linspace(0, 10, 100); y = 2 * np.exp(-0.5 * ((t - 4) / 1.5) ** 2) + 0.1\n"
         "curve_fit(lambda x, a, m, s, c: a * np.exp(-0.5 * ((x - m) / s) ** 2) + c, t, y, p0=[1, 3, 1, 0])\n"
         "print(t1 - t0, time.perf_counter() - t1)\n")


def readme_example():
    """The README's first Python example (the one a newcomer runs top to bottom), as source."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```python\n(.*?)```", text, re.S)
    return block.group(1).replace("import numpy as np, lsq\n", "import numpy as np\n")


def yardstick_seconds(runs=3):
    """Median cold time of the compile yardstick, each run a fresh process with an empty cache."""
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, str(Path(__file__).with_name("ref_compile.py"))], capture_output=True,
                             text=True, check=True)
        times.append(float(out.stdout.split()[-1]))
    return statistics.median(times)


def scipy_seconds():
    out = subprocess.run([sys.executable, "-c", SCIPY], capture_output=True, text=True, check=True)
    imp, first = (float(v) for v in out.stdout.split())
    return imp, first


def cold_rows(names=None, include_readme=True):
    """One row per entry point: cold and warm import and first call, and the compile time numba attributes
    to lsq's functions (seconds)."""
    cases = {n: PATHS[n] for n in (names or PATHS)}
    if include_readme:
        cases["README example"] = readme_example()
    rows = []
    for name, code in cases.items():
        with tempfile.TemporaryDirectory(prefix="lsq_cold_") as cache:
            cold = run_cold(code, cache)
            warm = run_cold(code, cache)
        lsq_compile = sum(v for f, v, _ in cold["functions"] if f.startswith("lsq."))
        rows.append(dict(entry=name, cold_import=cold["import"], cold_first=cold["first_call"],
                         compile=lsq_compile, functions=len(cold["functions"]), warm_import=warm["import"],
                         warm_first=warm["first_call"]))
    return rows


def cold_table(rows, unit, scipy):
    lines = [f"Compile yardstick on this machine: **{unit:.2f} s** (median of 3 cold runs); 1 unit = that time.\n",
             "| first call, fresh process | import (s) | first call, cold cache (s) | units | target (units) | "
             "lsq functions compiled | their compile time (s) | import + first call, warm cache (s) |",
             "|---|---|---|---|---|---|---|---|",
             f"| SciPy curve_fit, plain Python f | {scipy[0]:.2f} | {scipy[1]:.3f} | "
             f"{scipy[1] / unit:.3f} | | 0 | 0 | {sum(scipy):.2f} |"]
    for r in rows:
        target = TARGETS.get(r["entry"])
        lines.append(f"| lsq {r['entry']} | {r['cold_import']:.2f} | {r['cold_first']:.1f} | "
                     f"{r['cold_first'] / unit:.1f} | {'' if target is None else f'<= {target}'} | "
                     f"{r['functions']} | {r['compile']:.1f} | {r['warm_import'] + r['warm_first']:.2f} |")
    return "\n".join(lines)


def cold_section(names=None):
    """The benchmark report's cold-start section (minutes: every row compiles from nothing)."""
    unit = yardstick_seconds()
    rows = cold_rows(names)
    env_note = ("" if not os.environ.get("NUMBA_CPU_NAME") else
                f" (numba compiling for `{os.environ['NUMBA_CPU_NAME']}`)")
    return ("## Cold start: the first call in a fresh environment\n\n"
            "Each row is a new process with an empty numba cache" + env_note + ": `import lsq` and the first call, "
            "the functions of lsq that numba compiled and the time its compile events give them (each excluding "
            "the functions it compiles in turn), then the same in a second process that loads the cache. "
            "`python -m lsq.compile` fills the cache ahead (for images and CI).\n\n"
            + cold_table(rows, unit, scipy_seconds()))


if __name__ == "__main__":
    print(cold_section(sys.argv[1:] or None))


_DATA = ("x = np.linspace(-3, 3, 100)\n"
         "y = lsq.models.gaussian(x, 2.0, 0.3, 0.7, 0.1) + 0.01 * np.sin(7 * x)\n")
FIRST_CALLS = {
    "least_squares, Python f": "RESULT = lsq.least_squares(lambda p: [10 * (p[1] - p[0]**2), 1 - p[0]], "
                               "[-1.2, 1.0]).x\n",
    "curve_fit, Python f": _DATA + "RESULT = lsq.curve_fit(lambda x, a, m, s, c: a * np.exp(-0.5 * ((x - m) / s) "
                                   "** 2) + c, x, y, p0=[1, 0, 1, 0])[0]\n",
    "curve_fit, built-in": _DATA + "RESULT = lsq.curve_fit(lsq.models.gaussian, x, y, p0=[1, 0, 1, 0])[0]\n",
    "fit, built-in": _DATA + "RESULT = lsq.fit(lsq.models.gaussian, x, y).values\n",
    "curve_fit, new @lsq.model": _DATA + ("@lsq.model\ndef g(x, a, m, s, c):\n"
                                          "    return a * np.exp(-0.5 * ((x - m) / s) ** 2) + c\n"
                                          "RESULT = lsq.curve_fit(g, x, y, p0=[1, 0, 1, 0])[0]\n"),
    "fit, composite + tie": _DATA + (
        "g = lsq.models.gaussian\nd = g(prefix='p1_') + g(prefix='p2_') + lsq.models.linear()\n"
        "y2 = g(x, 2.0, -1.0, 0.5, 0.0) + g(x, 1.0, 1.2, 0.5, 0.1) + 0.01 * np.cos(5 * x)\n"
        "RESULT = lsq.fit(d, x, y2, tie={'p2_sigma': 'p1_sigma'}).values\n"),
    "fit, Poisson": _DATA + ("c = np.random.default_rng(2).poisson(lsq.models.gaussian(x, 20.0, 0.0, 0.7, 2.0))\n"
                             "RESULT = lsq.fit(lsq.models.gaussian, x, c, estimator='poisson').values\n"),
    "curve_fit_batch, 100 fits": _DATA + (
        "Y = np.array([lsq.models.gaussian(x, 2.0, c, 0.7, 0.1) for c in np.linspace(-1, 1, 100)])\n"
        "RESULT = lsq.curve_fit_batch(lsq.models.gaussian, x, Y).params\n"),
}
"""The first calls of issue 38's table, each leaving its answer in ``RESULT``."""

FIRST_CHILD = """
import json, time
t0 = time.perf_counter()
import numpy as np, lsq
from lsq._tiers.current import tier
t1 = time.perf_counter()
exec(compile(CODE, "<first call>", "exec"))
t2 = time.perf_counter()
print(json.dumps(dict(imp=t1 - t0, first=t2 - t1, result=np.ravel(RESULT).tolist())))
"""


def _first_call(code, env):
    src = f"CODE = {code!r}\n" + FIRST_CHILD
    out = subprocess.run([sys.executable, "-c", src], env=env, capture_output=True, text=True, check=False,
                         cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return __import__("json").loads(out.stdout.strip().splitlines()[-1])


def first_call_rows():
    """Each first call in a fresh process with an empty numba cache and no background compile (interpreted), its
    answer against the same call compiled in this process (relative difference), and the README example top to
    bottom the same way (seconds, wall time of the whole process)."""
    import time

    import numpy as np

    import lsq
    from lsq._tiers.current import COMPILED, running

    rows = []
    cases = FIRST_CALLS.items()
    try:
        from tqdm import tqdm

        cases = tqdm(cases, desc="first calls, fresh processes", unit="call", file=sys.stderr)
    except ImportError:  # tqdm is optional
        pass
    for name, code in cases:
        with tempfile.TemporaryDirectory(prefix="lsq_first_") as tmp:
            env = dict(os.environ, LSQ_TIER="auto", LSQ_COMPILE="never", NUMBA_CACHE_DIR=tmp,
                       LSQ_TIER_DIR=os.path.join(tmp, "tiers"))
            cold = _first_call(code, env)
        ns = {"np": np, "lsq": lsq}
        with running(COMPILED):
            exec(compile(code, "<reference>", "exec"), ns)
        ref = np.ravel(ns["RESULT"])
        got = np.asarray(cold["result"])
        scale = np.maximum(np.abs(ref), 1e-3 * np.max(np.abs(ref)))
        rows.append(dict(entry=name, imp=cold["imp"], first=cold["first"],
                         rel=float(np.max(np.abs(got - ref) / scale))))
    with tempfile.TemporaryDirectory(prefix="lsq_first_") as tmp:
        env = dict(os.environ, LSQ_TIER="auto", LSQ_COMPILE="never", NUMBA_CACHE_DIR=tmp, MPLBACKEND="Agg",
                   LSQ_TIER_DIR=os.path.join(tmp, "tiers"))
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import numpy as np, lsq\n" + readme_example()], env=env,
                       check=True, capture_output=True, cwd=ROOT)
        rows.append(dict(entry="README example, top to bottom", imp=float("nan"), first=time.perf_counter() - t0,
                         rel=float("nan")))
    return rows


def first_call_section(unit=None):
    """The report's section on first calls in a fresh environment (interpreted while nothing is compiled)."""
    unit = unit or yardstick_seconds()
    lines = [f"Compile yardstick on this machine: **{unit:.2f} s** (median of 3 cold runs); 1 unit = that time.\n",
             "| first call, fresh process, empty cache | import (s) | first call (s) | import + first call (units) | "
             "target | answer against the compiled tier (max relative difference) |",
             "|---|---|---|---|---|---|"]
    for r in first_call_rows():
        readme = r["entry"].startswith("README")
        total = r["first"] if readme else r["imp"] + r["first"]
        imp = "" if readme else f"{r['imp']:.2f}"
        rel = "" if readme else f"{r['rel']:.1e}"
        lines.append(f"| {r['entry']} | {imp} | {r['first']:.3f} | {total / unit:.2f} | "
                     f"{'<= 2 units' if readme else '<= 1.5 s (0.3 units)'} | {rel} |")
    return ("## First calls in a fresh environment\n\n"
            "Each row is a new process with an empty numba cache and `LSQ_COMPILE=never` (so no background compile "
            "competes for the cores): the call runs interpreted, the kernels' own Python code, and answers "
            "without waiting on the compiler; the last column compares its answer with the same call on the "
            "compiled tier in this process.\n\n" + "\n".join(lines))
