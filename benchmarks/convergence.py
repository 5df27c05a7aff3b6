"""Convergence curves: cost against iteration and against calls of fun, per method."""

import numpy as np
from scipy.optimize import least_squares as scipy_least_squares

import lsq
from lsq.datasets import load_nist


def convergence_curves(problem="MGH09", start=1):
    """Cost per iteration for lsq gn / levenberg / lm, and SciPy trf (read from a callback)."""
    p = load_nist(problem)
    curves = {}
    with np.errstate(all="ignore"):
        for method in ("gn", "levenberg", "lm"):
            res = lsq.least_squares(p.residuals, p.start(start), jac=p.residual_jacobian, method=method,
                                    ftol=1e-15, xtol=1e-15, gtol=1e-15, max_nfev=2000)
            curves[f"lsq {method}"] = (res.history["nfev"], res.history["cost"])
        costs, nfevs = [], []

        def cb(intermediate_result):
            costs.append(intermediate_result.cost)
            nfevs.append(intermediate_result.nfev)

        scipy_least_squares(p.residuals, p.start(start), jac=p.residual_jacobian, method="trf", ftol=1e-15,
                            xtol=1e-15, gtol=1e-15, max_nfev=2000, callback=cb)
        curves["scipy trf"] = (np.array(nfevs), np.array(costs))
    return curves
