"""The solvers compared, each called the same way and counted with the same wrapper."""

import time

import numpy as np
from scipy.optimize import curve_fit as scipy_curve_fit
from scipy.optimize import least_squares as scipy_least_squares
from scipy.optimize import minimize

import lsq


class Counted:
    """Wrap a residual function and count every call (SciPy leaves finite-difference calls out of nfev)."""

    def __init__(self, fun):
        self.fun = fun
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        return self.fun(x)


def quasi_newton(method):
    """SciPy's ``minimize`` on ``0.5 * ||f||^2`` with the gradient ``J^T f`` (exact J, or 2-point differences)."""

    def solve(f, x0, jac=None, ftol=None, xtol=None, gtol=None, max_nfev=None):
        def cost(x):
            r = f(x)
            return 0.5 * float(r @ r)

        grad = None if jac is None else (lambda x: jac(x).T @ f(x))
        opts = {"maxiter": max_nfev or 15000}
        if gtol is not None:
            opts["gtol"] = gtol
        return minimize(cost, x0, jac=grad, method=method, options=opts)

    return solve


def scipy_curve_fit_as_residuals(f, x0, jac=None, **kw):
    """SciPy's curve_fit on the same residuals (data 0, model = residual function of the parameters)."""
    class Res:
        pass

    kw.pop("xtol", None)
    kw.pop("gtol", None)
    popt, _ = scipy_curve_fit(lambda _, *p: f(np.asarray(p)), None, np.zeros(len(f(x0))), p0=x0,
                              jac=None if jac is None else (lambda _, *p: jac(np.asarray(p))),
                              **({"ftol": kw["ftol"], "maxfev": kw.get("max_nfev")} if "ftol" in kw else {}))
    r = Res()
    r.x = popt
    r.cost = 0.5 * float(np.sum(f(popt) ** 2))
    return r


SOLVERS = {
    "lsq lm": lambda f, x0, **kw: lsq.least_squares(f, x0, method="lm", **kw),
    "lsq lm x_scale='jac'": lambda f, x0, **kw: lsq.least_squares(f, x0, method="lm", x_scale="jac", **kw),
    "lsq lm marquardt": lambda f, x0, **kw: lsq.least_squares(f, x0, method="lm", damping="marquardt", **kw),
    "lsq lm nielsen": lambda f, x0, **kw: lsq.least_squares(f, x0, method="lm", damping="nielsen", **kw),
    "lsq levenberg": lambda f, x0, **kw: lsq.least_squares(f, x0, method="levenberg", **kw),
    "lsq levenberg nielsen": lambda f, x0, **kw: lsq.least_squares(f, x0, method="levenberg", damping="nielsen",
                                                                   **kw),
    "lsq gn": lambda f, x0, **kw: lsq.least_squares(f, x0, method="gn", **kw),
    "lsq newton": lambda f, x0, **kw: lsq.least_squares(f, x0, method="newton", **kw),
    "lsq lm secant": lambda f, x0, **kw: lsq.least_squares(f, x0, method="lm", hessian="secant", **kw),
    "scipy lm": lambda f, x0, **kw: scipy_least_squares(f, x0, method="lm", **kw),
    "scipy trf": lambda f, x0, **kw: scipy_least_squares(f, x0, method="trf", **kw),
    "scipy dogbox": lambda f, x0, **kw: scipy_least_squares(f, x0, method="dogbox", **kw),
    "scipy curve_fit": scipy_curve_fit_as_residuals,
    "scipy BFGS": quasi_newton("BFGS"),
    "scipy L-BFGS-B": quasi_newton("L-BFGS-B"),
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
