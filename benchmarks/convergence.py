"""Convergence curves: cost against iteration and against time, for second-order, first-order and
quasi-Newton methods on the same problem."""

import time

import numpy as np
from scipy.optimize import least_squares as scipy_least_squares
from scipy.optimize import minimize

import lsq
from lsq.datasets import load_nist


class _Recorder:
    """A callback collecting (iteration, seconds, cost) from an intermediate result or a point."""

    def __init__(self, cost_of):
        self.cost_of = cost_of
        self.t0 = time.perf_counter()
        self.rows = []

    def __call__(self, intermediate_result):
        r = intermediate_result
        cost = float(r.cost) if "cost" in r else float(r.fun) if np.ndim(r.fun) == 0 else self.cost_of(r.x)
        self.rows.append((len(self.rows) + 1, time.perf_counter() - self.t0, cost))

    def curve(self, cost0):
        rows = [(0, 0.0, cost0)] + self.rows
        return {k: np.array(v) for k, v in zip(("iteration", "seconds", "cost"), zip(*rows, strict=True),
                                                  strict=True)}


def _problems():
    p = load_nist("MGH09")
    t = np.linspace(0, 4, 200)
    rng = np.random.default_rng(0)
    y = 2.5 * np.exp(-1.3 * t) + 0.5 + 0.02 * rng.standard_normal(t.size)

    def exp_resid(b):
        return b[0] * np.exp(-b[1] * t) + b[2] - y

    def exp_jac(b):
        e = np.exp(-b[1] * t)
        return np.stack((e, -b[0] * t * e, np.ones_like(t)), axis=1)

    return {
        "MGH09 (NIST, start 1)": (p.residuals, p.residual_jacobian, p.start(1), ("gn", "levenberg", "lm")),
        "exponential decay, 200 points": (exp_resid, exp_jac, np.array([1.0, 0.5, 0.0]),
                                          ("gn", "levenberg", "lm", "adam", "sgd")),
    }


def convergence_curves():
    """``{problem: {solver: {"iteration", "seconds", "cost"}}}``."""
    out = {}
    for title, (fun, jac, x0, methods) in _problems().items():
        def cost_of(x, fun=fun):
            return 0.5 * float(np.sum(fun(x) ** 2))

        cost0 = cost_of(x0)
        curves = {}
        with np.errstate(all="ignore"):
            for method in methods:
                kw = dict(ftol=1e-15, xtol=1e-15, gtol=1e-12, max_nfev=3000)
                if method in ("adam", "sgd"):
                    kw.update(epochs=300, seed=0, lr=0.05 if method == "adam" else 0.002, schedule="inverse_sqrt")
                # a first run compiles or loads the kernels, so that the recorded one shows iteration time only
                lsq.least_squares(fun, x0, jac=jac, method=method, **{**kw, "max_nfev": 2, "epochs": 1}
                                  if method in ("adam", "sgd") else {**kw, "max_nfev": 2})
                rec = _Recorder(cost_of)
                lsq.least_squares(fun, x0, jac=jac, method=method, callback=rec, **kw)
                curves[f"lsq {method}"] = rec.curve(cost0)
            rec = _Recorder(cost_of)
            scipy_least_squares(fun, x0, jac=jac, method="trf", ftol=1e-15, xtol=1e-15, gtol=1e-12, max_nfev=3000,
                                callback=rec)
            curves["scipy trf"] = rec.curve(cost0)
            for qn in ("BFGS", "L-BFGS-B"):
                rec = _Recorder(cost_of)
                minimize(cost_of, x0, jac=lambda x, f=fun, j=jac: j(x).T @ f(x), method=qn, callback=rec,
                         options={"maxiter": 3000, "gtol": 1e-12})
                curves[f"scipy {qn}"] = rec.curve(cost0)
        out[title] = curves
    return out
