"""Compiled helpers for data-driven starting values (``guess(x, y)``) of the built-in models.

They aim for the basin of the right minimum on noisy data, not for accuracy: the fit does the rest.
"""

import math

import numpy as np

from .._setup.jit import jit


@jit
def tail_mean(v, k, high):
    """Mean of the ``k`` smallest (or, with ``high``, largest) values of ``v``."""
    s = np.sort(v)
    m = s.shape[0]
    k = max(1, min(k, m))
    total = 0.0
    for i in range(k):
        total += s[m - 1 - i] if high else s[i]
    return total / k


@jit
def peak_guess(x, y):
    """``(amplitude, center, fwhm, baseline)`` of the dominant peak (or dip) of ``y(x)``; ``x`` unsorted."""
    m = y.shape[0]
    ymed = np.median(y)
    imax = np.argmax(y)
    imin = np.argmin(y)
    k = max(1, m // 10)
    if y[imax] - ymed >= ymed - y[imin]:
        c = tail_mean(y, k, False)
        a = y[imax] - c
        mu = x[imax]
    else:
        c = tail_mean(y, k, True)
        a = y[imin] - c
        mu = x[imin]
    lo = mu
    hi = mu
    for i in range(m):
        if a != 0.0 and (y[i] - c) / a > 0.5:
            lo = min(lo, x[i])
            hi = max(hi, x[i])
    span = np.max(x) - np.min(x)
    fwhm = hi - lo
    if not fwhm > 0.0:
        fwhm = 0.1 * span if span > 0.0 else 1.0
    return a, mu, fwhm, c


@jit
def window_means(xs, ys, start, stop):
    """Means of ``xs`` and ``ys`` over ``[start, stop)``."""
    sx = 0.0
    sy = 0.0
    for i in range(start, stop):
        sx += xs[i]
        sy += ys[i]
    k = stop - start
    return sx / k, sy / k


@jit
def exponential_guess(x, y):
    """``(amplitude, decay, offset)`` of ``A exp(-x / tau) + c`` from three window means (start, middle, end)."""
    order = np.argsort(x)
    xs = x[order]
    ys = y[order]
    m = xs.shape[0]
    k = max(1, m // 10)
    x0, y0 = window_means(xs, ys, 0, k)
    x2, y2 = window_means(xs, ys, m - k, m)
    mid = np.searchsorted(xs, 0.5 * (x0 + x2))
    a = max(0, min(mid - k // 2, m - k))
    x1, y1 = window_means(xs, ys, a, a + k)
    span = xs[m - 1] - xs[0]
    tau = span / 3.0 if span > 0.0 else 1.0
    c = y2
    d1 = y1 - y0
    d2 = y2 - y1
    if d1 != 0.0 and d2 != 0.0 and x1 > x0 and x2 > x1:
        r = d2 / d1
        if r > 0.0 and r != 1.0:
            # equal spacing assumed; unequal windows only blur the basin estimate
            t = -0.5 * (x2 - x0) / math.log(r)
            den = y0 + y2 - 2.0 * y1
            if math.isfinite(t) and den != 0.0:
                tau = t
                c = (y0 * y2 - y1 * y1) / den
    amp = (y0 - c) * math.exp(x0 / tau)
    if not math.isfinite(amp):
        amp = y0 - c
    return amp, tau, c


@jit
def harmonic_fit(x, y, c, omega, start, stop):
    """Least-squares ``(s, k, explained)`` of ``y - c = s sin(omega x) + k cos(omega x)`` on ``[start, stop)``."""
    ss = 0.0
    cc = 0.0
    sc = 0.0
    ys = 0.0
    yc = 0.0
    for i in range(start, stop):
        si = math.sin(omega * x[i])
        ci = math.cos(omega * x[i])
        r = y[i] - c
        ss += si * si
        cc += ci * ci
        sc += si * ci
        ys += r * si
        yc += r * ci
    det = ss * cc - sc * sc
    if det <= 1e-12 * (ss * cc + 1e-300):
        return 0.0, 0.0, 0.0
    s = (cc * ys - sc * yc) / det
    k = (ss * yc - sc * ys) / det
    return s, k, s * ys + k * yc


@jit
def sine_guess(x, y):
    """``(amplitude, omega, phase, offset)`` of ``A sin(omega x + phase) + c`` from a periodogram scan."""
    m = y.shape[0]
    c = np.mean(y)
    span = np.max(x) - np.min(x)
    if not span > 0.0:
        return np.std(y) * math.sqrt(2.0), 1.0, 0.0, c
    base = 2.0 * math.pi / span
    n_grid = max(16, int(2.5 * m))
    best = -1.0
    best_omega = base
    for q in range(n_grid):
        omega = base * (0.5 + 0.2 * q)
        _, _, e = harmonic_fit(x, y, c, omega, 0, m)
        if e > best:
            best = e
            best_omega = omega
    s, k, _ = harmonic_fit(x, y, c, best_omega, 0, m)
    return math.hypot(s, k), best_omega, math.atan2(k, s), c
