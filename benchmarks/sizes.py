"""Time against problem size: a noisy gaussian (4 parameters) with m = 10^2 ... 10^6 residuals."""

import time

import numpy as np
from scipy.optimize import least_squares as scipy_least_squares

import lsq


def size_rows(sizes, repeats=3):
    """Median seconds per fit for lsq (compiled model, Python residuals) and SciPy lm / trf at each size."""
    rows = []
    for m in sizes:
        rng = np.random.default_rng(m)
        x = np.linspace(-5, 5, m)
        y = lsq.models.gaussian(x, 3.0, 0.4, 1.2, 0.5) + 0.05 * rng.standard_normal(m)
        p0 = np.array([2.0, 0.0, 1.0, 0.0])

        def resid(p, x=x, y=y):
            return p[0] * np.exp(-0.5 * ((x - p[1]) / p[2]) ** 2) + p[3] - y

        compiled = lsq.models.gaussian.residuals(x, y)
        solvers = {
            "lsq lm, compiled model": lambda c=compiled, p=p0: lsq.least_squares(c, p),
            "lsq lm, Python residuals": lambda f=resid, p=p0: lsq.least_squares(f, p),
            "scipy lm": lambda f=resid, p=p0: scipy_least_squares(f, p, method="lm"),
            "scipy trf": lambda f=resid, p=p0: scipy_least_squares(f, p, method="trf"),
        }
        for name, run in solvers.items():
            run()
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                res = run()
                times.append(time.perf_counter() - t)
            rows.append(dict(solver=name, m=m, seconds=float(np.median(times)), cost=float(res.cost)))
    return rows
