"""Compiled kernels of the peak models: gaussian, lorentzian, pseudo-Voigt, gaussian_2d.

Every model has three plain functions of the fixed signatures of :mod:`lsq._kernels.drivers.compiled`:
``values(X, p, out)``, ``jacobian(X, p, out)`` and ``guess(X, y, out)``; :class:`lsq.Model` compiles them
as cached ``cfunc`` objects on first use. ``X`` is ``(d, m)``; 1-D models read ``X[0]``.
"""

import math

from .._kernels.lanes.vexp import exp as vexp
from .._setup.jit import jit
from ._guess import peak_guess

LN2 = math.log(2.0)
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * LN2)


def gaussian_values(X, p, out):
    a, mu, s, c = p[0], p[1], p[2], p[3]
    x = X[0]
    for i in range(out.shape[0]):
        u = (x[i] - mu) / s
        out[i] = a * vexp(-0.5 * u * u) + c


def gaussian_jacobian(X, p, out):
    a, mu, s = p[0], p[1], p[2]
    x = X[0]
    for i in range(out.shape[1]):
        u = (x[i] - mu) / s
        e = vexp(-0.5 * u * u)
        out[0, i] = e
        out[1, i] = a * e * u / s
        out[2, i] = a * e * u * u / s
        out[3, i] = 1.0


def gaussian_guess(X, y, out):
    a, mu, fwhm, c = peak_guess(X[0], y)
    out[0] = a
    out[1] = mu
    out[2] = fwhm / FWHM_PER_SIGMA
    out[3] = c


def lorentzian_values(X, p, out):
    a, mu, g, c = p[0], p[1], p[2], p[3]
    x = X[0]
    for i in range(out.shape[0]):
        u = (x[i] - mu) / g
        out[i] = a / (1.0 + u * u) + c


def lorentzian_jacobian(X, p, out):
    a, mu, g = p[0], p[1], p[2]
    x = X[0]
    for i in range(out.shape[1]):
        u = (x[i] - mu) / g
        q = 1.0 / (1.0 + u * u)
        out[0, i] = q
        out[1, i] = 2.0 * a * q * q * u / g
        out[2, i] = 2.0 * a * q * q * u * u / g
        out[3, i] = 1.0


def lorentzian_guess(X, y, out):
    a, mu, fwhm, c = peak_guess(X[0], y)
    out[0] = a
    out[1] = mu
    out[2] = 0.5 * fwhm
    out[3] = c


@jit
def _pseudo_voigt_parts(t):
    """Unit-height Gaussian and Lorentzian of the same FWHM at ``t = (x - mu) / fwhm``, and d/dt of each."""
    G = math.exp(-4.0 * LN2 * t * t)
    L = 1.0 / (1.0 + 4.0 * t * t)
    return G, L, -8.0 * LN2 * t * G, -8.0 * t * L * L


def voigt_values(X, p, out):
    a, mu, w, eta, c = p[0], p[1], p[2], p[3], p[4]
    x = X[0]
    for i in range(out.shape[0]):
        G, L, _, _ = _pseudo_voigt_parts((x[i] - mu) / w)
        out[i] = a * (eta * L + (1.0 - eta) * G) + c


def voigt_jacobian(X, p, out):
    a, mu, w, eta = p[0], p[1], p[2], p[3]
    x = X[0]
    for i in range(out.shape[1]):
        t = (x[i] - mu) / w
        G, L, dG, dL = _pseudo_voigt_parts(t)
        dt = a * (eta * dL + (1.0 - eta) * dG)
        out[0, i] = eta * L + (1.0 - eta) * G
        out[1, i] = -dt / w
        out[2, i] = -dt * t / w
        out[3, i] = a * (L - G)
        out[4, i] = 1.0


def voigt_guess(X, y, out):
    a, mu, fwhm, c = peak_guess(X[0], y)
    out[0] = a
    out[1] = mu
    out[2] = fwhm
    out[3] = 0.5
    out[4] = c


def gaussian_2d_values(X, p, out):
    a, x0, y0, w, b = p[0], p[1], p[2], p[3], p[4]
    k = 0.5 / (w * w)
    for i in range(out.shape[0]):
        dx = X[0, i] - x0
        dy = X[1, i] - y0
        out[i] = a * vexp(-(dx * dx + dy * dy) * k) + b


def gaussian_2d_jacobian(X, p, out):
    a, x0, y0, w = p[0], p[1], p[2], p[3]
    w2 = w * w
    for i in range(out.shape[1]):
        dx = X[0, i] - x0
        dy = X[1, i] - y0
        r2 = dx * dx + dy * dy
        e = vexp(-0.5 * r2 / w2)
        ae = a * e / w2
        out[0, i] = e
        out[1, i] = ae * dx
        out[2, i] = ae * dy
        out[3, i] = ae * r2 / w
        out[4, i] = 1.0


def gaussian_2d_guess(X, y, out):
    m = y.shape[0]
    b = y[0]
    top = y[0]
    for i in range(m):
        b = min(b, y[i])
        top = max(top, y[i])
    sw = 0.0
    sx = 0.0
    sy = 0.0
    for i in range(m):
        wi = y[i] - b
        sw += wi
        sx += wi * X[0, i]
        sy += wi * X[1, i]
    if sw <= 0.0:
        sw = 1.0
    cx = sx / sw
    cy = sy / sw
    s2 = 0.0
    for i in range(m):
        dx = X[0, i] - cx
        dy = X[1, i] - cy
        s2 += (y[i] - b) * (dx * dx + dy * dy)
    width = math.sqrt(0.5 * s2 / sw) if s2 > 0.0 else 1.0
    out[0] = top - b
    out[1] = cx
    out[2] = cy
    out[3] = width
    out[4] = b
