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


def lsq_throughput(Y, p0, threads):
    """Fits per second of lsq.curve_fit_batch on ``threads`` threads (best of 3 runs)."""
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        lsq.curve_fit_batch(gaussian_2d, PIXELS, Y[:64], p0=p0[:64], **SETTINGS)  # compile / cache load
        best = np.inf
        for _ in range(3):
            t = time.perf_counter()
            r = lsq.curve_fit_batch(gaussian_2d, PIXELS, Y, p0=p0, **SETTINGS)
            best = min(best, time.perf_counter() - t)
    finally:
        numba.set_num_threads(before)
    return Y.shape[0] / best, r


def scipy_loop(Y, p0):
    """SciPy curve_fit in a Python loop over the fits (method 'lm', ftol 1e-4 like Gpufit's tolerance)."""

    def model(xy, a, x0, y0, w, b):
        return a * np.exp(-((xy[0] - x0) ** 2 + (xy[1] - y0) ** 2) / (2 * w**2)) + b

    params = np.full(p0.shape, np.nan)
    t = time.perf_counter()
    for i in range(Y.shape[0]):
        try:
            params[i] = scipy_curve_fit(model, PIXELS, Y[i], p0=p0[i], ftol=1e-4)[0]
        except RuntimeError:
            pass
    return Y.shape[0] / (time.perf_counter() - t), params


def batch_rows(k, k_scipy, sizes):
    """Throughput and accuracy, lsq (1 and 2 threads) against a SciPy loop, plus throughput vs batch size."""
    truth, Y, p0 = gpufit_data(k)
    threads = numba.config.NUMBA_NUM_THREADS
    rate1, _ = lsq_throughput(Y, p0, 1)
    rate_n, r = lsq_throughput(Y, p0, threads)
    rate_sp, sp_params = scipy_loop(Y[:k_scipy], p0[:k_scipy])
    err_lsq = np.median(np.abs(r.params[:k_scipy, 1] - truth[:k_scipy, 1]))
    err_sp = np.nanmedian(np.abs(sp_params[:, 1] - truth[:k_scipy, 1]))
    sweep = []
    for size in sizes:
        rate, _ = lsq_throughput(Y[:size], p0[:size], threads)
        sweep.append((size, rate))
    return dict(k=k, k_scipy=k_scipy, threads=threads, rate1=rate1, rate_n=rate_n, rate_scipy=rate_sp,
                converged=float(np.mean(r.success)), err_lsq=float(err_lsq), err_scipy=float(err_sp),
                err_lsq_all=float(np.median(np.abs(r.params[:, 1] - truth[:, 1]))), sweep=sweep)
