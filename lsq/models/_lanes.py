"""Built-in models in the lanes layout: values and Jacobian together, ``LANES`` parameter sets at a time.

Signature ``lanes(X, P, F, J)``: points ``X`` ``(d, m, W)``, parameters ``P`` ``(n, W)``, model values into
``F`` ``(m, W)`` and derivatives ``d f_i / d p_j`` into ``J`` ``(n, m, W)``, with ``W = 8``: each row is one
:mod:`lsq._kernels.lanes.simd` vector, so a point costs one vector instruction per operation for all eight
fits. One exponential (:func:`lsq._kernels.lanes.simd.exp`, within 2 ulp of ``math.exp``), or one ``sincos``
or ``log`` (:mod:`lsq._kernels.lanes.vmath`, within 2 ulp and 1 ulp of libm's), serves a point's value and its
derivatives; the reciprocals of width-like parameters are taken once per fit, so a point costs
no division (vector division is the slowest vector operation). The formulas are those of the per-fit kernels
of :mod:`._peaks` and :mod:`._curves`, up to the rounding that reordering gives.
"""

import math

from .._kernels.lanes import simd as v

LN2 = math.log(2.0)


def gaussian_lanes(X, P, F, J):
    a, mu, c = v.load(P[0]), v.load(P[1]), v.load(P[3])
    inv_s = 1.0 / v.load(P[2])
    for i in range(F.shape[0]):
        u = (v.load(X[0, i]) - mu) * inv_s
        e = v.exp(-0.5 * u * u)
        v.store(F[i], a * e + c)
        v.store(J[0, i], e)
        du = a * e * u * inv_s
        v.store(J[1, i], du)
        v.store(J[2, i], du * u)
        v.store(J[3, i], v.splat(1.0))


def gaussian_2d_lanes(X, P, F, J):
    a, x0, y0, b = v.load(P[0]), v.load(P[1]), v.load(P[2]), v.load(P[4])
    w = v.load(P[3])
    inv_w = 1.0 / w
    inv_w2 = inv_w * inv_w
    half = 0.5 * inv_w2
    for i in range(F.shape[0]):
        dx = v.load(X[0, i]) - x0
        dy = v.load(X[1, i]) - y0
        r2 = dx * dx + dy * dy
        e = v.exp(-(r2 * half))
        v.store(F[i], a * e + b)
        ae = a * e * inv_w2
        v.store(J[0, i], e)
        v.store(J[1, i], ae * dx)
        v.store(J[2, i], ae * dy)
        v.store(J[3, i], ae * r2 * inv_w)
        v.store(J[4, i], v.splat(1.0))


def exponential_lanes(X, P, F, J):
    a, c = v.load(P[0]), v.load(P[2])
    inv_tau = 1.0 / v.load(P[1])
    for i in range(F.shape[0]):
        x = v.load(X[0, i])
        e = v.exp(-x * inv_tau)
        v.store(F[i], a * e + c)
        v.store(J[0, i], e)
        v.store(J[1, i], a * e * x * inv_tau * inv_tau)
        v.store(J[2, i], v.splat(1.0))


def double_exponential_lanes(X, P, F, J):
    a1, a2, c = v.load(P[0]), v.load(P[2]), v.load(P[4])
    inv_t1 = 1.0 / v.load(P[1])
    inv_t2 = 1.0 / v.load(P[3])
    for i in range(F.shape[0]):
        x = v.load(X[0, i])
        e1 = v.exp(-x * inv_t1)
        e2 = v.exp(-x * inv_t2)
        v.store(F[i], a1 * e1 + a2 * e2 + c)
        v.store(J[0, i], e1)
        v.store(J[1, i], a1 * e1 * x * inv_t1 * inv_t1)
        v.store(J[2, i], e2)
        v.store(J[3, i], a2 * e2 * x * inv_t2 * inv_t2)
        v.store(J[4, i], v.splat(1.0))


def lorentzian_lanes(X, P, F, J):
    a, mu, c = v.load(P[0]), v.load(P[1]), v.load(P[3])
    inv_g = 1.0 / v.load(P[2])
    for i in range(F.shape[0]):
        u = (v.load(X[0, i]) - mu) * inv_g
        q = 1.0 / (1.0 + u * u)
        v.store(F[i], a * q + c)
        v.store(J[0, i], q)
        du = 2.0 * a * q * q * u * inv_g
        v.store(J[1, i], du)
        v.store(J[2, i], du * u)
        v.store(J[3, i], v.splat(1.0))


def logistic_lanes(X, P, F, J):
    a, x0, k, c = v.load(P[0]), v.load(P[1]), v.load(P[2]), v.load(P[3])
    for i in range(F.shape[0]):
        dx = v.load(X[0, i]) - x0
        s = 1.0 / (1.0 + v.exp(-(k * dx)))
        v.store(F[i], a * s + c)
        ds = a * s * (1.0 - s)
        v.store(J[0, i], s)
        v.store(J[1, i], -(ds * k))
        v.store(J[2, i], ds * dx)
        v.store(J[3, i], v.splat(1.0))


def michaelis_menten_lanes(X, P, F, J):
    vmax, km = v.load(P[0]), v.load(P[1])
    for i in range(F.shape[0]):
        x = v.load(X[0, i])
        q = 1.0 / (km + x)
        v.store(F[i], vmax * x * q)
        v.store(J[0, i], x * q)
        v.store(J[1, i], -(vmax * x * q * q))


def polynomial_lanes(X, P, F, J):
    n = P.shape[0]
    for i in range(F.shape[0]):
        x = v.load(X[0, i])
        value = v.load(P[n - 1])
        for j in range(n - 2, -1, -1):
            value = value * x + v.load(P[j])
        v.store(F[i], value)
        power = v.splat(1.0)
        for j in range(n):
            v.store(J[j, i], power)
            power = power * x


def linear_lanes(X, P, F, J):
    slope, intercept = v.load(P[0]), v.load(P[1])
    for i in range(F.shape[0]):
        x = v.load(X[0, i])
        v.store(F[i], slope * x + intercept)
        v.store(J[0, i], x)
        v.store(J[1, i], v.splat(1.0))


def voigt_lanes(X, P, F, J):
    a, mu, eta, c = v.load(P[0]), v.load(P[1]), v.load(P[3]), v.load(P[4])
    inv_w = 1.0 / v.load(P[2])
    lorentz_share = 1.0 - eta
    for i in range(F.shape[0]):
        t = (v.load(X[0, i]) - mu) * inv_w
        tt = t * t
        G = v.exp(-4.0 * LN2 * tt)
        L = 1.0 / (1.0 + 4.0 * tt)
        shape = eta * L + lorentz_share * G
        v.store(F[i], a * shape + c)
        dt = a * (eta * (-8.0 * t * L * L) + lorentz_share * (-8.0 * LN2 * t * G))
        v.store(J[0, i], shape)
        v.store(J[1, i], -(dt * inv_w))
        v.store(J[2, i], -(dt * t * inv_w))
        v.store(J[3, i], a * (L - G))
        v.store(J[4, i], v.splat(1.0))


def power_law_lanes(X, P, F, J):
    a, b = v.load(P[0]), v.load(P[1])
    zero = v.splat(0.0)
    for i in range(F.shape[0]):
        x = v.load(X[0, i])
        value = v.pow(x, b)  # libm's, as the per-fit kernel's (exp(b log x) differs by a few ulp)
        lx = v.select(v.gt(x, zero), v.log(x), zero)  # d/db is 0 where x <= 0, as the per-fit kernel's
        v.store(F[i], a * value)
        v.store(J[0, i], value)
        v.store(J[1, i], a * value * lx)


def sine_lanes(X, P, F, J):
    a, w, ph, c = v.load(P[0]), v.load(P[1]), v.load(P[2]), v.load(P[3])
    for i in range(F.shape[0]):
        x = v.load(X[0, i])
        s, co = v.sincos(w * x + ph)
        v.store(F[i], a * s + c)
        aco = a * co
        v.store(J[0, i], s)
        v.store(J[1, i], aco * x)
        v.store(J[2, i], aco)
        v.store(J[3, i], v.splat(1.0))


def damped_sine_lanes(X, P, F, J):
    a, w, ph, c = v.load(P[0]), v.load(P[2]), v.load(P[3]), v.load(P[4])
    inv_tau = 1.0 / v.load(P[1])
    for i in range(F.shape[0]):
        x = v.load(X[0, i])
        e = v.exp(-x * inv_tau)
        s, co = v.sincos(w * x + ph)
        ae = a * e
        v.store(F[i], ae * s + c)
        aeco = ae * co
        v.store(J[0, i], e * s)
        v.store(J[1, i], ae * s * x * inv_tau * inv_tau)
        v.store(J[2, i], aeco * x)
        v.store(J[3, i], aeco)
        v.store(J[4, i], v.splat(1.0))
