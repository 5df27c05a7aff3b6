"""NIST StRD model functions ``f(x, b)`` and their exact Jacobians ``J(x, b)`` of shape (m, p)."""

import numpy as np
from numba.extending import register_jitable


@register_jitable
def _stack(*cols):
    return np.column_stack(cols)


def exp_rise(x, b):
    return b[0] * (1 - np.exp(-b[1] * x))


def exp_rise_jac(x, b):
    e = np.exp(-b[1] * x)
    return _stack(1 - e, b[0] * x * e)


def chwirut(x, b):
    return np.exp(-b[0] * x) / (b[1] + b[2] * x)


def chwirut_jac(x, b):
    e = np.exp(-b[0] * x)
    q = b[1] + b[2] * x
    return _stack(-x * e / q, -e / q**2, -x * e / q**2)


def lanczos(x, b):
    return b[0] * np.exp(-b[1] * x) + b[2] * np.exp(-b[3] * x) + b[4] * np.exp(-b[5] * x)


def lanczos_jac(x, b):
    e1, e2, e3 = np.exp(-b[1] * x), np.exp(-b[3] * x), np.exp(-b[5] * x)
    return _stack(e1, -x * b[0] * e1, e2, -x * b[2] * e2, e3, -x * b[4] * e3)


def gauss(x, b):
    return (b[0] * np.exp(-b[1] * x) + b[2] * np.exp(-((x - b[3]) ** 2) / b[4] ** 2)
            + b[5] * np.exp(-((x - b[6]) ** 2) / b[7] ** 2))


def gauss_jac(x, b):
    e = np.exp(-b[1] * x)
    g1 = np.exp(-((x - b[3]) ** 2) / b[4] ** 2)
    g2 = np.exp(-((x - b[6]) ** 2) / b[7] ** 2)
    return _stack(e, -x * b[0] * e,
                  g1, b[2] * g1 * 2 * (x - b[3]) / b[4] ** 2, b[2] * g1 * 2 * (x - b[3]) ** 2 / b[4] ** 3,
                  g2, b[5] * g2 * 2 * (x - b[6]) / b[7] ** 2, b[5] * g2 * 2 * (x - b[6]) ** 2 / b[7] ** 3)


def danwood(x, b):
    return b[0] * x ** b[1]


def danwood_jac(x, b):
    p = x ** b[1]
    return _stack(p, b[0] * p * np.log(x))


def misra1b(x, b):
    return b[0] * (1 - (1 + b[1] * x / 2) ** (-2))


def misra1b_jac(x, b):
    q = 1 + b[1] * x / 2
    return _stack(1 - q ** (-2), b[0] * x * q ** (-3))


@register_jitable
def _rational_parts(x, b, k):
    num = b[0] + 0.0 * x  # complex when b is (complex-step derivative checks)
    for i in range(1, k):
        num = num + b[i] * x**i
    den = 1.0 + 0.0 * num
    for i in range(len(b) - k):
        den = den + b[k + i] * x ** (i + 1)
    return num, den


@register_jitable
def rational(x, b, k):
    """Numerator degree k-1 (b[:k]) over 1 + denominator (b[k:])."""
    num, den = _rational_parts(x, b, k)
    return num / den


@register_jitable
def rational_jac(x, b, k):
    num, den = _rational_parts(x, b, k)
    out = np.empty((x.shape[0], len(b)))
    for i in range(k):
        out[:, i] = x**i / den
    for i in range(len(b) - k):
        out[:, k + i] = -num * x ** (i + 1) / den**2
    return out


def nelson(x, b):
    return b[0] - b[1] * x[0] * np.exp(-b[2] * x[1])


def nelson_jac(x, b):
    e = np.exp(-b[2] * x[1])
    return _stack(np.ones_like(x[0]), -x[0] * e, b[1] * x[0] * x[1] * e)


def mgh17(x, b):
    return b[0] + b[1] * np.exp(-x * b[3]) + b[2] * np.exp(-x * b[4])


def mgh17_jac(x, b):
    e4, e5 = np.exp(-x * b[3]), np.exp(-x * b[4])
    return _stack(np.ones_like(x), e4, e5, -x * b[1] * e4, -x * b[2] * e5)


def misra1c(x, b):
    return b[0] * (1 - (1 + 2 * b[1] * x) ** (-0.5))


def misra1c_jac(x, b):
    q = 1 + 2 * b[1] * x
    return _stack(1 - q ** (-0.5), b[0] * x * q ** (-1.5))


def misra1d(x, b):
    return b[0] * b[1] * x * (1 + b[1] * x) ** (-1)


def misra1d_jac(x, b):
    q = 1 + b[1] * x
    return _stack(b[1] * x / q, b[0] * x / q**2)


def roszman1(x, b):
    # one-argument arctan, as NIST computed the certified values (see the data README)
    return b[0] - b[1] * x - np.arctan(b[2] / (x - b[3])) / np.pi


def roszman1_jac(x, b):
    u = b[2] / (x - b[3])
    c = 1.0 / (np.pi * (1 + u**2))
    return _stack(np.ones_like(x), -x, -c / (x - b[3]), -c * b[2] / (x - b[3]) ** 2)


def enso(x, b):
    a0, a1, a2 = 2 * np.pi * x / 12, 2 * np.pi * x / b[3], 2 * np.pi * x / b[6]
    return (b[0] + b[1] * np.cos(a0) + b[2] * np.sin(a0) + b[4] * np.cos(a1) + b[5] * np.sin(a1)
            + b[7] * np.cos(a2) + b[8] * np.sin(a2))


def enso_jac(x, b):
    a0, a1, a2 = 2 * np.pi * x / 12, 2 * np.pi * x / b[3], 2 * np.pi * x / b[6]
    da1 = 2 * np.pi * x / b[3] ** 2  # -d(a1)/d(b4)
    da2 = 2 * np.pi * x / b[6] ** 2
    return _stack(np.ones_like(x), np.cos(a0), np.sin(a0),
                  (b[4] * np.sin(a1) - b[5] * np.cos(a1)) * da1, np.cos(a1), np.sin(a1),
                  (b[7] * np.sin(a2) - b[8] * np.cos(a2)) * da2, np.cos(a2), np.sin(a2))


def mgh09(x, b):
    return b[0] * (x**2 + x * b[1]) / (x**2 + x * b[2] + b[3])


def mgh09_jac(x, b):
    num = x**2 + x * b[1]
    den = x**2 + x * b[2] + b[3]
    return _stack(num / den, b[0] * x / den, -b[0] * num * x / den**2, -b[0] * num / den**2)


def rat42(x, b):
    return b[0] / (1 + np.exp(b[1] - b[2] * x))


def rat42_jac(x, b):
    e = np.exp(b[1] - b[2] * x)
    q = 1 + e
    return _stack(1 / q, -b[0] * e / q**2, b[0] * x * e / q**2)


def mgh10(x, b):
    return b[0] * np.exp(b[1] / (x + b[2]))


def mgh10_jac(x, b):
    e = np.exp(b[1] / (x + b[2]))
    return _stack(e, b[0] * e / (x + b[2]), -b[0] * e * b[1] / (x + b[2]) ** 2)


def eckerle4(x, b):
    return (b[0] / b[1]) * np.exp(-0.5 * ((x - b[2]) / b[1]) ** 2)


def eckerle4_jac(x, b):
    t = (x - b[2]) / b[1]
    e = np.exp(-0.5 * t**2)
    return _stack(e / b[1], b[0] * e * (t**2 - 1) / b[1] ** 2, b[0] * e * t / b[1] ** 2)


def rat43(x, b):
    return b[0] / (1 + np.exp(b[1] - b[2] * x)) ** (1 / b[3])


def rat43_jac(x, b):
    e = np.exp(b[1] - b[2] * x)
    q = 1 + e
    p = q ** (-1 / b[3])
    return _stack(p, -b[0] * e * p / (q * b[3]), b[0] * x * e * p / (q * b[3]), b[0] * p * np.log(q) / b[3] ** 2)


def bennett5(x, b):
    return b[0] * (b[1] + x) ** (-1 / b[2])


def bennett5_jac(x, b):
    q = b[1] + x
    p = q ** (-1 / b[2])
    return _stack(p, -b[0] * p / (b[2] * q), b[0] * p * np.log(q) / b[2] ** 2)


def _rat(k):
    return (lambda x, b: rational(x, b, k)), (lambda x, b: rational_jac(x, b, k))


MODELS = {
    "Misra1a": (exp_rise, exp_rise_jac), "BoxBOD": (exp_rise, exp_rise_jac),
    "Chwirut1": (chwirut, chwirut_jac), "Chwirut2": (chwirut, chwirut_jac),
    "Lanczos1": (lanczos, lanczos_jac), "Lanczos2": (lanczos, lanczos_jac), "Lanczos3": (lanczos, lanczos_jac),
    "Gauss1": (gauss, gauss_jac), "Gauss2": (gauss, gauss_jac), "Gauss3": (gauss, gauss_jac),
    "DanWood": (danwood, danwood_jac), "Misra1b": (misra1b, misra1b_jac),
    "Kirby2": _rat(3), "Hahn1": _rat(4), "Thurber": _rat(4),
    "Nelson": (nelson, nelson_jac), "MGH17": (mgh17, mgh17_jac),
    "Misra1c": (misra1c, misra1c_jac), "Misra1d": (misra1d, misra1d_jac),
    "Roszman1": (roszman1, roszman1_jac), "ENSO": (enso, enso_jac),
    "MGH09": (mgh09, mgh09_jac), "Rat42": (rat42, rat42_jac), "MGH10": (mgh10, mgh10_jac),
    "Eckerle4": (eckerle4, eckerle4_jac), "Rat43": (rat43, rat43_jac), "Bennett5": (bennett5, bennett5_jac),
}
