"""The solvers compared, each called the same way and counted with the same wrapper."""

import time

import numpy as np
from scipy.optimize import least_squares as scipy_least_squares

import lsq


class Counted:
    """Wrap a residual function and count every call (SciPy leaves finite-difference calls out of nfev)."""

    def __init__(self, fun):
        self.fun = fun
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        return self.fun(x)


SOLVERS = {
    "lsq lm": lambda f, x0, **kw: lsq.least_squares(f, x0, method="lm", **kw),
    "lsq lm marquardt": lambda f, x0, **kw: lsq.least_squares(f, x0, method="lm", damping="marquardt", **kw),
    "lsq levenberg": lambda f, x0, **kw: lsq.least_squares(f, x0, method="levenberg", **kw),
    "lsq gn": lambda f, x0, **kw: lsq.least_squares(f, x0, method="gn", **kw),
    "scipy lm": lambda f, x0, **kw: scipy_least_squares(f, x0, method="lm", **kw),
    "scipy trf": lambda f, x0, **kw: scipy_least_squares(f, x0, method="trf", **kw),
    "scipy dogbox": lambda f, x0, **kw: scipy_least_squares(f, x0, method="dogbox", **kw),
}


def run(solver, fun, x0, **kw):
    """Run one solver; return (x, calls of fun, seconds, result or None on an exception)."""
    f = Counted(fun)
    t = time.perf_counter()
    try:
        with np.errstate(all="ignore"):
            res = SOLVERS[solver](f, np.array(x0, dtype=float), **kw)
        x = res.x
    except Exception:  # noqa: BLE001 - a solver that raises on a problem scores as a failure
        res, x = None, np.full(len(x0), np.nan)
    return x, f.calls, time.perf_counter() - t, res
