"""The everyday small fit through every entry point against SciPy's ``curve_fit``, and the start-up cost in
fresh processes."""

import subprocess
import sys
import textwrap
import time

import numpy as np
from scipy.optimize import curve_fit as scipy_curve_fit
from scipy.optimize import least_squares as scipy_least_squares

import lsq

from .overhead import gaussian_problem


def _best_seconds(fn, calls, rounds=5):
    """Best of ``rounds`` runs of ``calls`` calls, per call (the issue's measure: a warm-up call first, so no
    compilation or cache load is timed)."""
    fn()
    best = np.inf
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - t) / calls)
    return float(best)


def _gaussian(x, a, b, c, d):
    """The gaussian as a user writes it for ``@lsq.model`` (no analytic Jacobian)."""
    return a * np.exp(-0.5 * ((x - b) / c) ** 2) + d


user_gaussian = lsq.model(_gaussian, name="user_gaussian")
"""Exact derivatives by jets (``jac='auto'``, the default)."""
user_gaussian_fd = lsq.model(_gaussian, jac="2-point", name="user_gaussian_fd")
"""Finite differences in compiled code."""


def everyday_rows(calls=300):
    """The everyday path: the 100-point gaussian fitted through every entry a user types, plain Python
    function first, SciPy's ``curve_fit`` as the reference. Per row: seconds per fit (best of 5 x
    ``calls``), calls of the model, and the fitted parameters."""
    fun, p0 = gaussian_problem()
    x = np.linspace(-5, 5, 100)
    y = -fun(np.array([0.0, 0.0, 1.0, 0.0]))  # fun(p) = model - y, and the model is 0 for a zero amplitude
    model = lsq.models.gaussian
    resid = model.residuals(x, y)

    def numpy_gaussian(x, a, b, c, d):
        return a * np.exp(-0.5 * ((x - b) / c) ** 2) + d

    rows = [
        ("SciPy curve_fit, plain Python f", lambda: scipy_curve_fit(numpy_gaussian, x, y, p0=p0)),
        ("SciPy least_squares(method='lm'), plain Python f", lambda: scipy_least_squares(fun, p0, method="lm")),
        ("lsq curve_fit, plain Python f", lambda: lsq.curve_fit(numpy_gaussian, x, y, p0=p0)),
        ("lsq least_squares, plain Python f", lambda: lsq.least_squares(fun, p0)),
        ("lsq curve_fit, @lsq.model (jets, jac='auto')", lambda: lsq.curve_fit(user_gaussian, x, y, p0=p0)),
        ("lsq curve_fit, @lsq.model (jac='2-point')", lambda: lsq.curve_fit(user_gaussian_fd, x, y, p0=p0)),
        ("lsq curve_fit, built-in lsq.models.gaussian", lambda: lsq.curve_fit(model, x, y, p0=p0)),
        ("lsq fit, @lsq.model (jets)", lambda: lsq.fit(user_gaussian, x, y, p0=p0)),
        ("lsq fit, built-in gaussian", lambda: lsq.fit(model, x, y, p0=p0)),
        ("lsq least_squares, built-in gaussian residuals", lambda: lsq.least_squares(resid, p0)),
    ]
    out = []
    for name, fn in rows:
        res = fn()
        x_fit = res[0] if isinstance(res, tuple) else (res.values if isinstance(res, lsq.FitResult) else res.x)
        out.append(dict(solver=name, seconds=_best_seconds(fn, calls), x=np.asarray(x_fit)))
    return out


STARTUP = textwrap.dedent("""
    import time, json
    t0 = time.perf_counter()
    import numpy as np, lsq
    t1 = time.perf_counter()
    x = np.linspace(-5, 5, 100); y = lsq.models.gaussian(x, 3.0, 0.4, 1.2, 0.5)
    lsq.least_squares(lsq.models.gaussian.residuals(x, y), [2.0, 0.0, 1.0, 0.0])
    t2 = time.perf_counter()
    @lsq.model
    def bump(x, a, mu, s):
        return a / (1.0 + ((x - mu) / s) ** 2)
    lsq.least_squares(bump.residuals(x, bump.py_func(x, 2.0, 0.1, 0.8)), [1.0, 0.0, 1.0])
    t3 = time.perf_counter()
    @lsq.model(jac="2-point")
    def hump(x, a, mu, s):
        return a / (1.0 + ((x - mu) / s) ** 2)
    lsq.least_squares(hump.residuals(x, hump.py_func(x, 2.0, 0.1, 0.8)), [1.0, 0.0, 1.0])
    t4 = time.perf_counter()
    print(json.dumps({"import": t1 - t0, "first_fit": t2 - t1, "new_model": t3 - t2, "new_model_fd": t4 - t3}))
""")


FLOOR_MODULE = textwrap.dedent("""
    from numba import njit

    @njit(cache=True)
    def add_one(x):
        return x + 1.0
""")

FLOOR = textwrap.dedent("""
    import time, json, sys
    t0 = time.perf_counter()
    import numpy, numba
    t1 = time.perf_counter()
    sys.path.insert(0, sys.argv[1])
    import floor_module
    floor_module.add_one(1.0)
    t2 = time.perf_counter()
    print(json.dumps({"import": t1 - t0, "first_call": t2 - t1}))
""")


def _fresh_process(code, *argv, warm_runs=3):
    """Run ``code`` in fresh interpreters, once to warm the caches and then ``warm_runs`` times; the last JSON
    line of the fastest warm run (the least total; as the fits are timed, a shared machine only adds time),
    or an ``error`` saying why it failed.

    The runs write and read Python bytecode (in a prefix of their own), as any interpreter does by default
    and as ``pip install`` prepares for the packages it installs: where ``PYTHONDONTWRITEBYTECODE`` is set,
    an editable install would otherwise compile its sources at every start."""
    import json
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as prefix:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = prefix
        runs = []
        for _ in range(1 + warm_runs):
            proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=600,
                                  env=env)
            if proc.returncode != 0:  # say why in the report instead of leaving the section out
                lines = (proc.stderr or proc.stdout or "no output").strip().splitlines()
                return {"error": f"exit status {proc.returncode}: {lines[-1] if lines else ''}"}
            runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return min(runs[1:], key=lambda run: sum(run.values()))


def startup_seconds():
    """Fresh-process timings of lsq (the numba cache is whatever this machine has; best of the warm runs), and
    the floor any numba package has here: ``import numpy, numba`` plus the first call of a trivial cached
    function, whose cache load initialises numba's compiler."""
    import tempfile
    from pathlib import Path

    out = _fresh_process(STARTUP)
    if "error" in out:
        return out
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "floor_module.py").write_text(FLOOR_MODULE)
        floor = _fresh_process(FLOOR, tmp)
    if "error" not in floor:
        out["floor"] = floor["import"] + floor["first_call"]
    return out
