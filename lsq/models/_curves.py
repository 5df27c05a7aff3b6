"""Compiled kernels of the non-peak built-in models (same three-function layout as :mod:`._peaks`)."""

import math

import numpy as np

from .._kernels.lanes.vexp import exp as vexp
from ._guess import exponential_guess, harmonic_fit, sine_guess, tail_mean


def polynomial_values(X, p, out):
    x = X[0]
    n = p.shape[0]
    for i in range(out.shape[0]):
        v = 0.0
        for j in range(n - 1, -1, -1):
            v = v * x[i] + p[j]
        out[i] = v


def polynomial_jacobian(X, p, out):
    x = X[0]
    for i in range(out.shape[1]):
        v = 1.0
        for j in range(p.shape[0]):
            out[j, i] = v
            v *= x[i]


def polynomial_guess(X, y, out):
    # A polynomial is linear in its coefficients: any start converges in one step.
    out[:] = 0.0
    out[0] = np.mean(y)


def constant_values(X, p, out):
    for i in range(out.shape[0]):
        out[i] = p[0]


def constant_jacobian(X, p, out):
    for i in range(out.shape[1]):
        out[0, i] = 1.0


def linear_values(X, p, out):
    x = X[0]
    for i in range(out.shape[0]):
        out[i] = p[0] * x[i] + p[1]


def linear_jacobian(X, p, out):
    x = X[0]
    for i in range(out.shape[1]):
        out[0, i] = x[i]
        out[1, i] = 1.0


def linear_guess(X, y, out):
    out[0] = 0.0
    out[1] = np.mean(y)


def exponential_values(X, p, out):
    a, tau, c = p[0], p[1], p[2]
    x = X[0]
    for i in range(out.shape[0]):
        out[i] = a * vexp(-x[i] / tau) + c


def exponential_jacobian(X, p, out):
    a, tau = p[0], p[1]
    x = X[0]
    for i in range(out.shape[1]):
        e = vexp(-x[i] / tau)
        out[0, i] = e
        out[1, i] = a * e * x[i] / (tau * tau)
        out[2, i] = 1.0


def exponential_guess_kernel(X, y, out):
    a, tau, c = exponential_guess(X[0], y)
    out[0] = a
    out[1] = tau
    out[2] = c


def double_exponential_values(X, p, out):
    a1, t1, a2, t2, c = p[0], p[1], p[2], p[3], p[4]
    x = X[0]
    for i in range(out.shape[0]):
        out[i] = a1 * vexp(-x[i] / t1) + a2 * vexp(-x[i] / t2) + c


def double_exponential_jacobian(X, p, out):
    a1, t1, a2, t2 = p[0], p[1], p[2], p[3]
    x = X[0]
    for i in range(out.shape[1]):
        e1 = vexp(-x[i] / t1)
        e2 = vexp(-x[i] / t2)
        out[0, i] = e1
        out[1, i] = a1 * e1 * x[i] / (t1 * t1)
        out[2, i] = e2
        out[3, i] = a2 * e2 * x[i] / (t2 * t2)
        out[4, i] = 1.0


def double_exponential_guess(X, y, out):
    # Split one exponential into a fast and a slow one with the same total amplitude.
    a, tau, c = exponential_guess(X[0], y)
    out[0] = 0.5 * a
    out[1] = 0.3 * tau
    out[2] = 0.5 * a
    out[3] = 3.0 * tau
    out[4] = c


def power_law_values(X, p, out):
    x = X[0]
    for i in range(out.shape[0]):
        out[i] = p[0] * x[i] ** p[1]


def power_law_jacobian(X, p, out):
    x = X[0]
    for i in range(out.shape[1]):
        v = x[i] ** p[1]
        out[0, i] = v
        out[1, i] = p[0] * v * math.log(x[i]) if x[i] > 0.0 else 0.0


def power_law_guess(X, y, out):
    # Straight line through log y against log x on the positive data.
    x = X[0]
    n = 0
    sx = sy = sxx = sxy = 0.0
    for i in range(y.shape[0]):
        if x[i] > 0.0 and y[i] > 0.0:
            lx = math.log(x[i])
            ly = math.log(y[i])
            n += 1
            sx += lx
            sy += ly
            sxx += lx * lx
            sxy += lx * ly
    den = n * sxx - sx * sx
    if n >= 2 and den > 0.0:
        k = (n * sxy - sx * sy) / den
        out[0] = math.exp((sy - k * sx) / n)
        out[1] = k
    else:
        out[0] = np.mean(y)
        out[1] = 1.0


def logistic_values(X, p, out):
    a, x0, k, c = p[0], p[1], p[2], p[3]
    x = X[0]
    for i in range(out.shape[0]):
        out[i] = a / (1.0 + vexp(-k * (x[i] - x0))) + c


def logistic_jacobian(X, p, out):
    a, x0, k = p[0], p[1], p[2]
    x = X[0]
    for i in range(out.shape[1]):
        s = 1.0 / (1.0 + vexp(-k * (x[i] - x0)))
        ds = a * s * (1.0 - s)
        out[0, i] = s
        out[1, i] = -ds * k
        out[2, i] = ds * (x[i] - x0)
        out[3, i] = 1.0


def logistic_guess(X, y, out):
    x = X[0]
    order = np.argsort(x)
    xs = x[order]
    ys = y[order]
    m = ys.shape[0]
    q = max(1, m // 10)
    lo = tail_mean(ys, q, False)
    hi = tail_mean(ys, q, True)
    start = np.mean(ys[:q])
    end = np.mean(ys[m - q:])
    rising = end >= start
    c = lo if rising else hi
    a = hi - lo if rising else lo - hi
    # x where the sorted data first cross 25 %, 50 % and 75 % of the step
    marks = np.empty(3)
    for t in range(3):
        level = c + a * (0.25 * (t + 1))
        marks[t] = xs[m // 2]
        for i in range(m):
            if (ys[i] - level) * (1.0 if rising else -1.0) >= 0.0:
                marks[t] = xs[i]
                break
    width = marks[2] - marks[0]
    span = xs[m - 1] - xs[0]
    if not width > 0.0:
        width = 0.2 * span if span > 0.0 else 1.0
    # 25 % -> 75 % of a logistic spans 2 ln 3 / k; the sign of k is carried by a
    out[0] = a
    out[1] = marks[1]
    out[2] = 2.0 * math.log(3.0) / width
    out[3] = c


def sine_values(X, p, out):
    a, w, ph, c = p[0], p[1], p[2], p[3]
    x = X[0]
    for i in range(out.shape[0]):
        out[i] = a * math.sin(w * x[i] + ph) + c


def sine_jacobian(X, p, out):
    a, w, ph = p[0], p[1], p[2]
    x = X[0]
    for i in range(out.shape[1]):
        arg = w * x[i] + ph
        s = math.sin(arg)
        co = a * math.cos(arg)
        out[0, i] = s
        out[1, i] = co * x[i]
        out[2, i] = co
        out[3, i] = 1.0


def sine_guess_kernel(X, y, out):
    a, w, ph, c = sine_guess(X[0], y)
    out[0] = a
    out[1] = w
    out[2] = ph
    out[3] = c


def damped_sine_values(X, p, out):
    a, tau, w, ph, c = p[0], p[1], p[2], p[3], p[4]
    x = X[0]
    for i in range(out.shape[0]):
        out[i] = a * math.exp(-x[i] / tau) * math.sin(w * x[i] + ph) + c


def damped_sine_jacobian(X, p, out):
    a, tau, w, ph = p[0], p[1], p[2], p[3]
    x = X[0]
    for i in range(out.shape[1]):
        e = math.exp(-x[i] / tau)
        arg = w * x[i] + ph
        s = math.sin(arg)
        co = a * e * math.cos(arg)
        out[0, i] = e * s
        out[1, i] = a * e * s * x[i] / (tau * tau)
        out[2, i] = co * x[i]
        out[3, i] = co
        out[4, i] = 1.0


def damped_sine_guess(X, y, out):
    # Frequency and phase from the whole record; the envelope from the amplitudes of its two halves.
    x = X[0]
    order = np.argsort(x)
    xs = x[order]
    ys = y[order]
    m = ys.shape[0]
    _, w, ph, c = sine_guess(xs, ys)
    h = m // 2
    s1, k1, _ = harmonic_fit(xs, ys, c, w, 0, h)
    s2, k2, _ = harmonic_fit(xs, ys, c, w, h, m)
    a1 = math.hypot(s1, k1)
    a2 = math.hypot(s2, k2)
    xm1 = np.mean(xs[:h])
    xm2 = np.mean(xs[h:])
    span = xs[m - 1] - xs[0]
    tau = 10.0 * span if span > 0.0 else 1.0
    if a1 > 0.0 and a2 > 0.0 and a2 < a1:
        tau = (xm2 - xm1) / math.log(a1 / a2)
    out[0] = a1 * math.exp(xm1 / tau)
    out[1] = tau
    out[2] = w
    out[3] = ph
    out[4] = c


def michaelis_menten_values(X, p, out):
    x = X[0]
    for i in range(out.shape[0]):
        out[i] = p[0] * x[i] / (p[1] + x[i])


def michaelis_menten_jacobian(X, p, out):
    x = X[0]
    for i in range(out.shape[1]):
        q = 1.0 / (p[1] + x[i])
        out[0, i] = x[i] * q
        out[1, i] = -p[0] * x[i] * q * q


def michaelis_menten_guess(X, y, out):
    x = X[0]
    vmax = np.max(y)
    best = 0
    for i in range(y.shape[0]):
        if abs(y[i] - 0.5 * vmax) < abs(y[best] - 0.5 * vmax):
            best = i
    out[0] = vmax
    out[1] = x[best] if x[best] > 0.0 else 1.0
