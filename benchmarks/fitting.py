"""Fitting features beside their references: Poisson maximum likelihood on low-count spots, composite models
against a hand-written model."""

import time
import warnings

import numba
import numpy as np
from scipy.optimize import curve_fit as scipy_curve_fit
from scipy.optimize import minimize

import lsq

SPOT = np.array([30.0, 2.0, 2.0, 1.0, 2.0])
"""Amplitude, x0, y0, width, offset in photons: a dim single-molecule spot on a 5 x 5 camera patch."""
PIXELS = np.stack([a.ravel() for a in np.meshgrid(np.arange(5.0), np.arange(5.0))])


def poisson_data(k, seed=0):
    """``k`` spots (centres jittered by +-0.5 pixel) with Poisson counts, their truths and starts 10 % off."""
    rng = np.random.default_rng(seed)
    truth = np.tile(SPOT, (k, 1))
    truth[:, 1:3] += rng.uniform(-0.5, 0.5, (k, 2))
    mu = np.array([lsq.models.gaussian_2d(PIXELS, *t) for t in truth])
    Y = rng.poisson(mu).astype(float)
    p0 = truth * (1 + 0.1 * rng.uniform(-1, 1, truth.shape))
    return truth, Y, p0


def cramer_rao(truth):
    """Mean Cramer-Rao bound (standard deviation) of each parameter over the spots: ``diag(I^-1)`` with the
    Poisson Fisher information ``I = sum d mu d mu^T / mu`` at the truth."""
    var = []
    for t in truth:
        G = lsq.models.gaussian_2d.jacobian(PIXELS, *t)
        mu = lsq.models.gaussian_2d(PIXELS, *t)
        var.append(np.diag(np.linalg.inv(G.T @ (G / mu[:, None]))))
    return np.sqrt(np.mean(var, axis=0))


def _rate(fit):
    """Seconds of ``fit()`` on one thread (best of 5, after a warm-up: one thread keeps the ratio of two
    estimators free of the scheduling noise of a shared machine), and its result."""
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        fit(slice(0, 64))
        best = np.inf
        for _ in range(5):
            t = time.perf_counter()
            r = fit(slice(None))
            best = min(best, time.perf_counter() - t)
    finally:
        numba.set_num_threads(before)
    return best, r


def poisson_rows(k, k_direct):
    """Least squares, sqrt(counts)-weighted least squares and Poisson MLE on ``k`` spots: bias and spread of
    amplitude and width next to the Cramer-Rao bound, throughput, and the MLE's agreement with a direct
    minimisation of the deviance (Nelder-Mead, tight tolerances) on the first ``k_direct`` spots."""
    truth, Y, p0 = poisson_data(k)
    model = lsq.models.gaussian_2d
    weights = np.sqrt(np.maximum(Y, 1.0))
    runs = {
        "least squares": lambda s: lsq.curve_fit_batch(model, PIXELS, Y[s], p0=p0[s]),
        "least squares, sigma = sqrt(counts)": lambda s: lsq.curve_fit_batch(model, PIXELS, Y[s], p0=p0[s],
                                                                             sigma=weights[s]),
        "Poisson MLE": lambda s: lsq.curve_fit_batch(model, PIXELS, Y[s], p0=p0[s], estimator="poisson"),
    }
    crb = cramer_rao(truth[: min(k, 2000)])
    rows = []
    for name, fit in runs.items():
        seconds, r = _rate(fit)
        ok = r.success
        rel = r.params[ok] / truth[ok] - 1.0
        rows.append({"estimator": name, "rate": k / seconds, "converged": ok.mean(),
                     "bias": 100 * rel.mean(axis=0), "spread": 100 * rel.std(axis=0), "params": r.params})
    rows.append({"estimator": "Cramer-Rao bound", "spread": 100 * crb / SPOT})
    mle = rows[2]["params"]
    diffs = []
    for i in range(k_direct):
        y = Y[i]

        def deviance(p, y=y):
            mu = model(PIXELS, *p)
            if np.any(mu <= 0):
                return np.inf
            with np.errstate(divide="ignore", invalid="ignore"):
                return 2.0 * float(np.sum(mu - y + np.where(y > 0, y * np.log(y / mu), 0.0)))

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nm = minimize(deviance, p0[i], method="Nelder-Mead",
                          options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 40000, "maxfev": 40000})
        diffs.append(np.abs(mle[i] / nm.x - 1.0))
    diffs = np.array(diffs)
    return rows, {"n": k_direct, "amplitude": float(np.median(diffs[:, 0])), "width": float(np.median(diffs[:, 3]))}


def composite_rows(calls=100):
    """Three gaussians on a linear background (400 points, 11 parameters): the composite
    ``gaussian(prefix=...) * 3 + linear()`` against the same model written by hand as an ``@lsq.model``
    (finite-difference Jacobian) and SciPy's ``curve_fit`` on a plain function; time per fit (best of 5) and
    the largest parameter error against the truth."""
    g = lsq.models.gaussian
    composite = g(prefix="p1_") + g(prefix="p2_") + g(prefix="p3_") + lsq.models.linear()

    def by_hand(x, a1, c1, s1, a2, c2, s2, a3, c3, s3, slope, intercept):
        return (a1 * np.exp(-0.5 * ((x - c1) / s1) ** 2) + a2 * np.exp(-0.5 * ((x - c2) / s2) ** 2)
                + a3 * np.exp(-0.5 * ((x - c3) / s3) ** 2) + slope * x + intercept)

    x = np.linspace(0, 20, 400)
    truth = np.array([5.0, 4.0, 0.8, 3.0, 9.0, 1.2, 4.0, 14.5, 0.6, 0.05, 1.0])
    y = by_hand(x, *truth) + np.random.default_rng(0).normal(0, 0.05, x.size)
    p0 = truth * np.array([1.1, 1.02, 1.2, 0.9, 0.98, 0.8, 1.1, 1.01, 1.2, 1.5, 0.8])
    t = time.perf_counter()
    composite.kernels(1)
    compile_seconds = time.perf_counter() - t
    entries = [("lsq curve_fit, composite (analytic J)", lsq.curve_fit, composite),
               ("lsq curve_fit, hand-written @lsq.model", lsq.curve_fit, lsq.model(by_hand)),
               ("SciPy curve_fit, plain function", scipy_curve_fit, by_hand)]
    rows = []
    for name, curve_fit, f in entries:
        popt, _ = curve_fit(f, x, y, p0=p0)
        best = np.inf
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(calls):
                curve_fit(f, x, y, p0=p0)
            best = min(best, (time.perf_counter() - t) / calls)
        rows.append({"call": name, "seconds": best, "error": float(np.max(np.abs(popt - truth)))})
    return rows, compile_seconds
