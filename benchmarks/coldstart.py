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
