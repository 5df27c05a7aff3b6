"""Small-fit overhead: a 4-parameter gaussian on 100 noisy points, plain Python residuals."""

import time

import numpy as np

from .solvers import run


def gaussian_problem(seed=0, m=100):
    rng = np.random.default_rng(seed)
    x = np.linspace(-5, 5, m)
    y = 3.0 * np.exp(-0.5 * ((x - 0.4) / 1.2) ** 2) + 0.5 + 0.05 * rng.standard_normal(m)

    def residuals(p):
        return p[0] * np.exp(-0.5 * ((x - p[1]) / p[2]) ** 2) + p[3] - y

    return residuals, np.array([2.0, 0.0, 1.0, 0.0])


def overhead_rows(solvers, repeats=30):
    """Median seconds per fit and calls of fun per fit, for each solver."""
    fun, x0 = gaussian_problem()
    rows = []
    for s in solvers:
        run(s, fun, x0)  # warm-up (compilation or cache load)
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            _, calls, _, res = run(s, fun, x0)
            times.append(time.perf_counter() - t)
        # least_squares results have cost; scipy.optimize.minimize's (BFGS, L-BFGS-B on 0.5 ||f||^2) have fun
        cost = getattr(res, "cost", None) if res is not None else np.nan
        cost = float(res.fun if cost is None else cost)
        rows.append(dict(solver=s, seconds=float(np.median(times)), nfev=calls, cost=cost,
                         us_per_call=1e6 * float(np.median(times)) / calls))
    return rows
