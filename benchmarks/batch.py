"""Batch throughput: Gpufit's 2-D Gaussian benchmark re-created (5x5 pixels, 5 parameters, SNR 10)."""

import time

import numba
import numpy as np
from scipy.optimize import curve_fit as scipy_curve_fit

import lsq
from lsq.models import gaussian_2d

TRUE = np.array([500.0, 2.0, 2.0, 1.0, 10.0])  # amplitude, x0, y0, width, background
PIXELS = np.stack([g.ravel() for g in np.meshgrid(np.arange(5.0), np.arange(5.0))])
SETTINGS = dict(tol=1e-4, max_iterations=10)  # Gpufit's relative chi-square tolerance and iteration cap


def gpufit_data(k, seed=0):
    """True parameters within +-10 %, Gaussian noise at SNR 10 (sigma = amplitude / 10), starts +-10 % off."""
    rng = np.random.default_rng(seed)
    truth = TRUE * (1 + 0.1 * rng.uniform(-1, 1, (k, 5)))
    a, x0, y0, w, b = (truth[:, j:j + 1] for j in range(5))
    clean = a * np.exp(-((PIXELS[0] - x0) ** 2 + (PIXELS[1] - y0) ** 2) / (2 * w**2)) + b
    Y = clean + rng.standard_normal(clean.shape) * a / 10
    p0 = truth * (1 + 0.1 * rng.uniform(-1, 1, (k, 5)))
    return truth, Y, p0


def lsq_throughput(Y, p0, threads, kernel="auto", model=gaussian_2d, points=PIXELS, runs=3, **settings):
    """Fits per second of lsq.curve_fit_batch on ``threads`` threads (best of ``runs`` runs) and the result."""
    settings = settings or SETTINGS
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        lsq.curve_fit_batch(model, points, Y[:64], p0=p0[:64], kernel=kernel, **settings)  # compile / cache load
        best = np.inf
        for _ in range(runs):
            t = time.perf_counter()
            r = lsq.curve_fit_batch(model, points, Y, p0=p0, kernel=kernel, **settings)
            best = min(best, time.perf_counter() - t)
    finally:
        numba.set_num_threads(before)
    return Y.shape[0] / best, r


def scipy_loop(Y, p0, model=None, points=PIXELS):
    """SciPy curve_fit in a Python loop over the fits (method 'lm', ftol 1e-4 like Gpufit's tolerance)."""

    def gauss2d(xy, a, x0, y0, w, b):
        return a * np.exp(-((xy[0] - x0) ** 2 + (xy[1] - y0) ** 2) / (2 * w**2)) + b

    model = model or gauss2d
    params = np.full(p0.shape, np.nan)
    t = time.perf_counter()
    for i in range(Y.shape[0]):
        try:
            params[i] = scipy_curve_fit(model, points, Y[i], p0=p0[i], ftol=1e-4)[0]
        except RuntimeError:
            pass
    return Y.shape[0] / (time.perf_counter() - t), params


def agreement(per_fit, lanes):
    """The lanes kernel against the per-fit engine on the same fits: the share with the same status, and the
    share of fits both converged on within ``|dx| <= 1e-6 (1 + |x|)`` (issue 19's criteria)."""
    both = per_fit.success & lanes.success
    close = np.all(np.abs(per_fit.params - lanes.params) <= 1e-6 * (1 + np.abs(per_fit.params)), axis=1)
    return float(np.mean(per_fit.status == lanes.status)), float(np.mean(close[both]))


def gaussian_2d_spots(k, side, seed=1):
    """Gpufit-like spots on ``side x side`` pixels: centre in the middle, width side/5, starts +-10 % off."""
    pixels = np.stack([g.ravel() for g in np.meshgrid(np.arange(float(side)), np.arange(float(side)))])
    true = np.array([500.0, (side - 1) / 2, (side - 1) / 2, side / 5.0, 10.0])
    rng = np.random.default_rng(seed)
    truth = true * (1 + 0.1 * rng.uniform(-1, 1, (k, 5)))
    a, x0, y0, w, b = (truth[:, j:j + 1] for j in range(5))
    clean = a * np.exp(-((pixels[0] - x0) ** 2 + (pixels[1] - y0) ** 2) / (2 * w**2)) + b
    Y = clean + rng.standard_normal(clean.shape) * a / 10
    return pixels, Y, truth * (1 + 0.1 * rng.uniform(-1, 1, (k, 5)))


def gaussian_1d_peaks(k, m=100, seed=2):
    """1-D gaussian peaks on ``m`` points, SNR 10, starts +-10 % off."""
    x = np.linspace(-5.0, 5.0, m)
    rng = np.random.default_rng(seed)
    truth = np.array([10.0, 0.0, 1.0, 1.0]) + np.array([1.0, 0.5, 0.1, 0.1]) * rng.uniform(-1, 1, (k, 4))
    a, mu, s, c = (truth[:, j:j + 1] for j in range(4))
    Y = a * np.exp(-0.5 * ((x - mu) / s) ** 2) + c + rng.standard_normal((k, m)) * a / 10
    return x, Y, truth * (1 + 0.1 * rng.uniform(-1, 1, (k, 4)))


def points_sweep(k, k_per_fit, k_scipy, threads):
    """Throughput against points per fit: 2-D spots of 5x5, 7x7 and 11x11 pixels and 1-D peaks of 100 points;
    the lanes kernel and the per-fit kernel on ``threads`` threads and a SciPy loop."""

    def gauss1d(x, a, mu, s, c):
        return a * np.exp(-0.5 * ((x - mu) / s) ** 2) + c

    rows = []
    cases = [(f"2-D {s}x{s}", gaussian_2d, *gaussian_2d_spots(k, s), None) for s in (5, 7, 11)]
    cases.append(("1-D, 100 points", lsq.models.gaussian, *gaussian_1d_peaks(k), gauss1d))
    for name, model, points, Y, p0, scipy_model in cases:
        lanes, _ = lsq_throughput(Y, p0, threads, "lanes", model, points, runs=2)
        per_fit, _ = lsq_throughput(Y[:k_per_fit], p0[:k_per_fit], threads, "per-fit", model, points, runs=2)
        scipy, _ = scipy_loop(Y[:k_scipy], p0[:k_scipy], scipy_model, points)
        rows.append(dict(name=name, points=Y.shape[1], lanes=lanes, per_fit=per_fit, scipy=scipy))
    return rows


def elliptic_gaussian(x, a, x0, y0, sx, sy, theta, b):
    """A rotated elliptical 2-D gaussian (Gpufit's GAUSS_2D_ROTATED), written as a user would."""
    c, s = np.cos(theta), np.sin(theta)
    dx = x[0] - x0
    dy = x[1] - y0
    u = (c * dx + s * dy) / sx
    w = (c * dy - s * dx) / sy
    return a * np.exp(-0.5 * (u * u + w * w)) + b


def astigmatic_psf(x, n, x0, y0, z, bg):
    """3-D localisation by astigmatism (Huang et al., Science 2008): the widths follow the defocus ``z``
    through a calibration (focal offsets +-0.4, depth 0.5, small cubic and quartic terms)."""
    zx = (z + 0.4) / 0.5
    zy = (z - 0.4) / 0.5
    sx = 1.3 * np.sqrt(1 + zx * zx + 0.05 * zx ** 3 + 0.02 * zx ** 4)
    sy = 1.3 * np.sqrt(1 + zy * zy - 0.05 * zy ** 3 + 0.02 * zy ** 4)
    return n * np.exp(-0.5 * ((x[0] - x0) / sx) ** 2 - 0.5 * ((x[1] - y0) / sy) ** 2) + bg


def gaussian_2d_user(x, a, x0, y0, w, b):
    """The built-in ``gaussian_2d`` written as a user would."""
    return a * np.exp(-((x[0] - x0) ** 2 + (x[1] - y0) ** 2) / (2 * w * w)) + b


USER_SPOTS = [  # (function, true parameters, +- spread of the truth, pixels per side)
    (gaussian_2d_user, [500.0, 2.0, 2.0, 1.0, 10.0], [50.0, 0.2, 0.2, 0.1, 1.0], 5),
    (elliptic_gaussian, [500.0, 4.0, 4.0, 1.3, 1.8, 0.4, 10.0], [50.0, 0.5, 0.5, 0.1, 0.1, 0.1, 2.0], 9),
    (astigmatic_psf, [500.0, 5.0, 5.0, 0.0, 10.0], [50.0, 0.5, 0.5, 0.3, 2.0], 11),
]


def user_spots(func, true, spread, side, k, seed=3):
    """``k`` spots of a user's model on ``side x side`` pixels, SNR 10, starts half the spread off."""
    pixels = np.stack([g.ravel() for g in np.meshgrid(np.arange(float(side)), np.arange(float(side)))])
    rng = np.random.default_rng(seed)
    truth = np.array(true) + np.array(spread) * rng.uniform(-1, 1, (k, len(true)))
    Y = np.array([func(pixels, *t) for t in truth])
    Y += rng.standard_normal(Y.shape) * truth[:, :1] / 10
    return pixels, Y, truth + 0.5 * np.array(spread) * rng.uniform(-1, 1, truth.shape)


def user_model_rows(k, k_per_fit, threads):
    """Users' own ``@lsq.model`` functions (no hand-written kernel): the lanes kernel on ``k`` fits (jets over
    lanes) against the per-fit kernel on the first ``k_per_fit`` (jets, and ``jac='2-point'``), with the lanes
    checked fit by fit against the per-fit engine."""
    rows = []
    for func, true, spread, side in USER_SPOTS:
        points, Y, p0 = user_spots(func, true, spread, side, k)
        model, fd = lsq.model(func), lsq.model(func, jac="2-point")
        lanes, _ = lsq_throughput(Y, p0, threads, "lanes", model, points, runs=2)
        per_fit, rp = lsq_throughput(Y[:k_per_fit], p0[:k_per_fit], threads, "per-fit", model, points, runs=2)
        per_fit_fd, _ = lsq_throughput(Y[:k_per_fit], p0[:k_per_fit], threads, "per-fit", fd, points, runs=2)
        same_status, close = agreement(rp, lsq.curve_fit_batch(model, points, Y[:k_per_fit], p0=p0[:k_per_fit],
                                                                kernel="lanes", **SETTINGS))
        rows.append(dict(name=func.__name__, n=len(true), points=Y.shape[1], lanes=lanes, per_fit=per_fit,
                         per_fit_fd=per_fit_fd, same_status=same_status, close=close))
    return rows


def gpufit_counts(k, seed=4):
    """Gpufit's spots as photon counts (Poisson noise on the spot), starts +-10 % off."""
    rng = np.random.default_rng(seed)
    truth = TRUE * (1 + 0.1 * rng.uniform(-1, 1, (k, 5)))
    a, x0, y0, w, b = (truth[:, j:j + 1] for j in range(5))
    clean = a * np.exp(-((PIXELS[0] - x0) ** 2 + (PIXELS[1] - y0) ** 2) / (2 * w**2)) + b
    return rng.poisson(clean).astype(float), truth * (1 + 0.1 * rng.uniform(-1, 1, (k, 5)))


CURVES = {  # built-ins whose lanes kernels use log, sin/cos or libm's pow: f, true parameters, +- spread
    "sine": (lambda x, a, w, ph, c: a * np.sin(w * x + ph) + c, [2.0, 2.2, 0.4, 0.3], 0.1),
    "damped_sine": (lambda x, a, t, w, ph, c: a * np.exp(-x / t) * np.sin(w * x + ph) + c,
                    [2.0, 2.5, 2.2, 0.4, 0.3], 0.1),
    "voigt": (lambda x, a, mu, w, eta, c: a * (eta / (1 + 4 * ((x - mu) / w) ** 2)
                                              + (1 - eta) * np.exp(-4 * np.log(2) * ((x - mu) / w) ** 2)) + c,
              [4.0, 2.5, 0.9, 0.4, 0.3], 0.1),
    "power_law": (lambda x, a, b: a * x ** b, [2.0, -0.7], 0.1),
}


BOUNDS = {  # Gpufit's constrained fits: all parameters positive; and a box that binds on many fits
    "positive": ([0.0] * 5, [np.inf] * 5),
    "binding box": ([0.0, 1.0, 1.0, 0.97, 0.0], [np.inf, 3.0, 3.0, 5.0, 10.2]),
}


def coverage_rows(k, k_per_fit, threads):
    """The lanes beyond least-squares Gaussians: Poisson maximum likelihood on Gpufit's spots as counts
    (against least squares on the lanes, target >= 0.6x), bounded fits (target >= 0.8x) and the built-ins
    whose kernels use ``log``, ``sin``/``cos`` or ``pow`` (1-D, 100 points, SNR ~ 100), each against the
    per-fit kernel and checked fit by fit."""
    rows = []
    counts, p0c = gpufit_counts(k)
    _, Y, p0 = gpufit_data(k, seed=5)
    ls, r = lsq_throughput(Y, p0, threads, "lanes")
    rows.append(dict(name="gaussian_2d, least squares (the reference)", lanes=ls, per_fit=np.nan, reference=None,
                     target=None, agreement=(np.nan, np.nan), nfev=float(r.nfev.mean())))
    mle, _ = lsq_throughput(counts, p0c, threads, "lanes", estimator="poisson", **SETTINGS)
    mle_pf, rp = lsq_throughput(counts[:k_per_fit], p0c[:k_per_fit], threads, "per-fit", estimator="poisson",
                                **SETTINGS)
    rl = lsq.curve_fit_batch(gaussian_2d, PIXELS, counts[:k_per_fit], p0=p0c[:k_per_fit], estimator="poisson",
                             kernel="lanes", **SETTINGS)
    rows.append(dict(name="gaussian_2d, Poisson MLE (5x5 counts)", lanes=mle, per_fit=mle_pf,
                     reference=ls, target=0.6, agreement=agreement(rp, rl), nfev=float(rl.nfev.mean())))
    for name, bounds in BOUNDS.items():
        pb = np.clip(p0, np.array(bounds[0]) + 0.01, np.array(bounds[1]) - 0.01)
        lanes, _ = lsq_throughput(Y, pb, threads, "lanes", bounds=bounds, **SETTINGS)
        per_fit, rp = lsq_throughput(Y[:k_per_fit], pb[:k_per_fit], threads, "per-fit", bounds=bounds, **SETTINGS)
        rl = lsq.curve_fit_batch(gaussian_2d, PIXELS, Y[:k_per_fit], p0=pb[:k_per_fit], bounds=bounds,
                                 kernel="lanes", **SETTINGS)
        rows.append(dict(name=f"gaussian_2d, bounds {name}", lanes=lanes, per_fit=per_fit, reference=ls, target=0.8,
                         agreement=agreement(rp, rl), nfev=float(rl.nfev.mean())))
    x = np.linspace(0.05, 5.0, 100)
    rng = np.random.default_rng(6)
    for name, (f, true, spread) in CURVES.items():
        model = getattr(lsq.models, name)
        truth = np.array(true) * (1 + spread * rng.uniform(-1, 1, (k, len(true))))
        clean = np.array([f(x, *t) for t in truth])
        Yc = clean + 0.01 * np.abs(clean).max(axis=1, keepdims=True) * rng.standard_normal(clean.shape)
        p0 = truth * (1 + 0.5 * spread * rng.uniform(-1, 1, truth.shape))
        lanes, _ = lsq_throughput(Yc, p0, threads, "lanes", model, x, runs=2)
        per_fit, rp = lsq_throughput(Yc[:k_per_fit], p0[:k_per_fit], threads, "per-fit", model, x, runs=2)
        rl = lsq.curve_fit_batch(model, x, Yc[:k_per_fit], p0=p0[:k_per_fit], kernel="lanes", **SETTINGS)
        rows.append(dict(name=f"{name} (100 points)", lanes=lanes, per_fit=per_fit, reference=None, target=None,
                         agreement=agreement(rp, rl), nfev=float(rl.nfev.mean())))
    return rows


def batch_rows(k, k_per_fit, k_scipy, k_sweep):
    """Gpufit's benchmark: the lanes kernel on ``k`` fits (1 and all threads), the per-fit kernel on the first
    ``k_per_fit`` (which also check the lanes fit by fit), a SciPy loop on the first ``k_scipy``; then the
    points-per-fit sweep on ``k_sweep`` fits."""
    truth, Y, p0 = gpufit_data(k)
    threads = numba.config.NUMBA_NUM_THREADS
    rate1, _ = lsq_throughput(Y, p0, 1, "lanes")
    rate_n, r = lsq_throughput(Y, p0, threads, "lanes")
    per1, _ = lsq_throughput(Y[:k_per_fit], p0[:k_per_fit], 1, "per-fit")
    per_n, rp = lsq_throughput(Y[:k_per_fit], p0[:k_per_fit], threads, "per-fit")
    rate_sp, sp_params = scipy_loop(Y[:k_scipy], p0[:k_scipy])
    same_status, close = agreement(rp, lsq.curve_fit_batch(gaussian_2d, PIXELS, Y[:k_per_fit], p0=p0[:k_per_fit],
                                                            kernel="lanes", **SETTINGS))
    err_lsq = np.median(np.abs(r.params[:k_scipy, 1] - truth[:k_scipy, 1]))
    err_sp = np.nanmedian(np.abs(sp_params[:, 1] - truth[:k_scipy, 1]))
    return dict(k=k, k_per_fit=k_per_fit, k_scipy=k_scipy, threads=threads, rate1=rate1, rate_n=rate_n,
                per1=per1, per_n=per_n, rate_scipy=rate_sp, converged=float(np.mean(r.success)),
                same_status=same_status, close=close, err_lsq=float(err_lsq), err_scipy=float(err_sp),
                err_lsq_all=float(np.median(np.abs(r.params[:, 1] - truth[:, 1]))),
                sweep=points_sweep(k_sweep, max(k_sweep // 10, 64), max(k_scipy // 5, 20), threads),
                user=user_model_rows(k_sweep, max(k_sweep // 5, 400), threads),
                coverage=coverage_rows(k_sweep, max(k_sweep // 5, 400), threads))
