"""The NIST StRD models written as a user writes a ``curve_fit`` model, ``f(x, b1, ..., bp)``, with no Jacobian.

``lsq.model(load_nist(name).formula)`` is the problem as an ``@lsq.model`` whose derivatives come from jets
(``jac='auto'``): the benchmark and the tests hold those derivatives to the certified values. The formulas are
NIST's (parameters numbered from 1 as there); Nelson's is for ``log(y)``, Roszman1 uses the one-argument
arctan with which the certified values were computed.
"""

import numpy as np


def misra1a(x, b1, b2):
    return b1 * (1 - np.exp(-b2 * x))


def chwirut(x, b1, b2, b3):
    return np.exp(-b1 * x) / (b2 + b3 * x)


def lanczos(x, b1, b2, b3, b4, b5, b6):
    return b1 * np.exp(-b2 * x) + b3 * np.exp(-b4 * x) + b5 * np.exp(-b6 * x)


def gauss(x, b1, b2, b3, b4, b5, b6, b7, b8):
    return (b1 * np.exp(-b2 * x) + b3 * np.exp(-((x - b4) ** 2) / b5 ** 2)
            + b6 * np.exp(-((x - b7) ** 2) / b8 ** 2))


def danwood(x, b1, b2):
    return b1 * x ** b2


def misra1b(x, b1, b2):
    return b1 * (1 - (1 + b2 * x / 2) ** (-2))


def kirby2(x, b1, b2, b3, b4, b5):
    return (b1 + b2 * x + b3 * x ** 2) / (1 + b4 * x + b5 * x ** 2)


def hahn1(x, b1, b2, b3, b4, b5, b6, b7):
    return (b1 + b2 * x + b3 * x ** 2 + b4 * x ** 3) / (1 + b5 * x + b6 * x ** 2 + b7 * x ** 3)


def nelson(x, b1, b2, b3):
    return b1 - b2 * x[0] * np.exp(-b3 * x[1])


def mgh17(x, b1, b2, b3, b4, b5):
    return b1 + b2 * np.exp(-x * b4) + b3 * np.exp(-x * b5)


def misra1c(x, b1, b2):
    return b1 * (1 - (1 + 2 * b2 * x) ** (-0.5))


def misra1d(x, b1, b2):
    return b1 * b2 * x * (1 + b2 * x) ** (-1)


def roszman1(x, b1, b2, b3, b4):
    return b1 - b2 * x - np.arctan(b3 / (x - b4)) / np.pi


def enso(x, b1, b2, b3, b4, b5, b6, b7, b8, b9):
    a0, a1, a2 = 2 * np.pi * x / 12, 2 * np.pi * x / b4, 2 * np.pi * x / b7
    return (b1 + b2 * np.cos(a0) + b3 * np.sin(a0) + b5 * np.cos(a1) + b6 * np.sin(a1)
            + b8 * np.cos(a2) + b9 * np.sin(a2))


def mgh09(x, b1, b2, b3, b4):
    return b1 * (x ** 2 + x * b2) / (x ** 2 + x * b3 + b4)


def rat42(x, b1, b2, b3):
    return b1 / (1 + np.exp(b2 - b3 * x))


def mgh10(x, b1, b2, b3):
    return b1 * np.exp(b2 / (x + b3))


def eckerle4(x, b1, b2, b3):
    return (b1 / b2) * np.exp(-0.5 * ((x - b3) / b2) ** 2)


def rat43(x, b1, b2, b3, b4):
    return b1 / (1 + np.exp(b2 - b3 * x)) ** (1 / b4)


def bennett5(x, b1, b2, b3):
    return b1 * (b2 + x) ** (-1 / b3)


FORMULAS = {
    "Misra1a": misra1a, "BoxBOD": misra1a, "Chwirut1": chwirut, "Chwirut2": chwirut,
    "Lanczos1": lanczos, "Lanczos2": lanczos, "Lanczos3": lanczos, "Gauss1": gauss, "Gauss2": gauss,
    "Gauss3": gauss, "DanWood": danwood, "Misra1b": misra1b, "Kirby2": kirby2, "Hahn1": hahn1, "Thurber": hahn1,
    "Nelson": nelson, "MGH17": mgh17, "Misra1c": misra1c, "Misra1d": misra1d, "Roszman1": roszman1,
    "ENSO": enso, "MGH09": mgh09, "Rat42": rat42, "MGH10": mgh10, "Eckerle4": eckerle4, "Rat43": rat43,
    "Bennett5": bennett5,
}
"""The formula of each problem, by name."""
