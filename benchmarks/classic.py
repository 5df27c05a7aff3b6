"""Classic unconstrained least-squares test problems (Moré, Garbow & Hillstrom 1981, "Testing unconstrained
optimization software", ACM TOMS 7, problems 1-35), each from x0, 10 x0 and 100 x0 (MINPACK's ``factor``
convention: a zero x0 becomes ``factor`` itself).

Residuals are written with operations that accept complex arguments, so an exact Jacobian is had by the
complex step. ``F_STAR`` is the lowest known sum of squares ``sum(r**2)`` (MGH's ``f``, twice lsq's cost); a run
succeeds when it ends within ``1e-6 * f* + 1e-10`` of it.
"""

import numpy as np

from .solvers import Counted, run

SUCCESS_RTOL = 1e-6
SUCCESS_ATOL = 1e-10
STARTS = (1.0, 10.0, 100.0)
TOLS = dict(ftol=1e-12, xtol=1e-12, gtol=1e-12)

_BARD_Y = np.array([0.14, 0.18, 0.22, 0.25, 0.29, 0.32, 0.35, 0.39, 0.37, 0.58, 0.73, 0.96, 1.34, 2.10, 4.39])
_GAUSS_Y = np.array([0.0009, 0.0044, 0.0175, 0.0540, 0.1295, 0.2420, 0.3521, 0.3989, 0.3521, 0.2420, 0.1295, 0.0540,
                     0.0175, 0.0044, 0.0009])
_MEYER_Y = np.array([34780, 28610, 23650, 19630, 16370, 13720, 11540, 9744, 8261, 7030, 6005, 5147, 4427, 3820, 3307,
                     2872.0])
_KOWALIK_Y = np.array([0.1957, 0.1947, 0.1735, 0.1600, 0.0844, 0.0627, 0.0456, 0.0342, 0.0323, 0.0235, 0.0246])
_KOWALIK_U = np.array([4, 2, 1, 0.5, 0.25, 0.167, 0.125, 0.1, 0.0833, 0.0714, 0.0625])
_OSBORNE1_Y = np.array([0.844, 0.908, 0.932, 0.936, 0.925, 0.908, 0.881, 0.850, 0.818, 0.784, 0.751, 0.718, 0.685,
                        0.658, 0.628, 0.603, 0.580, 0.558, 0.538, 0.522, 0.506, 0.490, 0.478, 0.467, 0.457, 0.448,
                        0.438, 0.431, 0.424, 0.420, 0.414, 0.411, 0.406])
_OSBORNE2_Y = np.array([1.366, 1.191, 1.112, 1.013, 0.991, 0.885, 0.831, 0.847, 0.786, 0.725, 0.746, 0.679, 0.608,
                        0.655, 0.616, 0.606, 0.602, 0.626, 0.651, 0.724, 0.649, 0.649, 0.694, 0.644, 0.624, 0.661,
                        0.612, 0.558, 0.533, 0.495, 0.500, 0.423, 0.395, 0.375, 0.372, 0.391, 0.396, 0.405, 0.428,
                        0.429, 0.523, 0.562, 0.607, 0.653, 0.672, 0.708, 0.633, 0.668, 0.645, 0.632, 0.591, 0.559,
                        0.597, 0.625, 0.739, 0.710, 0.729, 0.720, 0.636, 0.581, 0.428, 0.292, 0.162, 0.098, 0.054])


def rosenbrock(x):
    return np.array([10 * (x[1] - x[0] ** 2), 1 - x[0]])


def freudenstein_roth(x):
    return np.array([-13 + x[0] + ((5 - x[1]) * x[1] - 2) * x[1], -29 + x[0] + ((x[1] + 1) * x[1] - 14) * x[1]])


def powell_badly_scaled(x):
    return np.array([1e4 * x[0] * x[1] - 1, np.exp(-x[0]) + np.exp(-x[1]) - 1.0001])


def brown_badly_scaled(x):
    return np.array([x[0] - 1e6, x[1] - 2e-6, x[0] * x[1] - 2])


def beale(x):
    y = np.array([1.5, 2.25, 2.625])
    i = np.arange(1, 4)
    return y - x[0] * (1 - x[1] ** i)


def jennrich_sampson(x):
    i = np.arange(1, 11)
    return 2 + 2 * i - (np.exp(i * x[0]) + np.exp(i * x[1]))


def helical_valley(x):
    theta = np.arctan(x[1] / x[0]) / (2 * np.pi) + (0.5 if x[0].real < 0 else 0.0)
    return np.array([10 * (x[2] - 10 * theta), 10 * (np.sqrt(x[0] ** 2 + x[1] ** 2) - 1), x[2]])


def bard(x):
    u = np.arange(1, 16)
    v = 16 - u
    w = np.minimum(u, v)
    return _BARD_Y - (x[0] + u / (v * x[1] + w * x[2]))


def gaussian(x):
    t = (8 - np.arange(1, 16)) / 2
    return x[0] * np.exp(-x[1] * (t - x[2]) ** 2 / 2) - _GAUSS_Y


def meyer(x):
    t = 45 + 5 * np.arange(1, 17)
    return x[0] * np.exp(x[1] / (t + x[2])) - _MEYER_Y


def gulf(x):
    t = np.arange(1, 100) / 100
    y = 25 + (-50 * np.log(t)) ** (2 / 3)
    return np.exp(-(((y - x[1]) ** 2) ** (x[2] / 2)) / x[0]) - t


def box_3d(x):
    t = 0.1 * np.arange(1, 11)
    return np.exp(-t * x[0]) - np.exp(-t * x[1]) - x[2] * (np.exp(-t) - np.exp(-10 * t))


def powell_singular(x):
    return np.array([x[0] + 10 * x[1], np.sqrt(5) * (x[2] - x[3]), (x[1] - 2 * x[2]) ** 2,
                     np.sqrt(10) * (x[0] - x[3]) ** 2])


def wood(x):
    return np.array([10 * (x[1] - x[0] ** 2), 1 - x[0], np.sqrt(90) * (x[3] - x[2] ** 2), 1 - x[2],
                     np.sqrt(10) * (x[1] + x[3] - 2), (x[1] - x[3]) / np.sqrt(10)])


def kowalik_osborne(x):
    u = _KOWALIK_U
    return _KOWALIK_Y - x[0] * (u**2 + u * x[1]) / (u**2 + u * x[2] + x[3])


def brown_dennis(x):
    t = np.arange(1, 21) / 5
    return (x[0] + t * x[1] - np.exp(t)) ** 2 + (x[2] + x[3] * np.sin(t) - np.cos(t)) ** 2


def osborne1(x):
    t = 10 * np.arange(33)
    return _OSBORNE1_Y - (x[0] + x[1] * np.exp(-t * x[3]) + x[2] * np.exp(-t * x[4]))


def biggs_exp6(x):
    t = 0.1 * np.arange(1, 14)
    y = np.exp(-t) - 5 * np.exp(-10 * t) + 3 * np.exp(-4 * t)
    return x[2] * np.exp(-t * x[0]) - x[3] * np.exp(-t * x[1]) + x[5] * np.exp(-t * x[4]) - y


def osborne2(x):
    t = np.arange(65) / 10
    return _OSBORNE2_Y - (x[0] * np.exp(-t * x[4]) + x[1] * np.exp(-((t - x[8]) ** 2) * x[5])
                          + x[2] * np.exp(-((t - x[9]) ** 2) * x[6]) + x[3] * np.exp(-((t - x[10]) ** 2) * x[7]))


def watson(x):
    n = x.shape[0]
    t = np.arange(1, 30) / 29
    s1 = sum((j - 1) * x[j - 1] * t ** (j - 2) for j in range(2, n + 1))
    s2 = sum(x[j - 1] * t ** (j - 1) for j in range(1, n + 1))
    return np.concatenate([s1 - s2**2 - 1, [x[0], x[1] - x[0] ** 2 - 1]])


def extended_rosenbrock(x):
    r = np.empty(x.shape, dtype=x.dtype)
    r[0::2] = 10 * (x[1::2] - x[0::2] ** 2)
    r[1::2] = 1 - x[0::2]
    return r


def extended_powell(x):
    r = np.empty(x.shape, dtype=x.dtype)
    a, b, c, d = x[0::4], x[1::4], x[2::4], x[3::4]
    r[0::4] = a + 10 * b
    r[1::4] = np.sqrt(5) * (c - d)
    r[2::4] = (b - 2 * c) ** 2
    r[3::4] = np.sqrt(10) * (a - d) ** 2
    return r


def penalty1(x):
    return np.concatenate([np.sqrt(1e-5) * (x - 1), [np.sum(x**2) - 0.25]])


def penalty2(x):
    n = x.shape[0]
    a = np.sqrt(1e-5)
    i = np.arange(2, n + 1)
    y = np.exp(i / 10) + np.exp((i - 1) / 10)
    mid = a * (np.exp(x[1:] / 10) + np.exp(x[:-1] / 10) - y)
    tail = a * (np.exp(x[1:] / 10) - np.exp(-1 / 10))
    last = np.sum((n - np.arange(n)) * x**2) - 1
    return np.concatenate([[x[0] - 0.2], mid, tail, [last]])


def variably_dimensioned(x):
    j = np.arange(1, x.shape[0] + 1)
    s = np.sum(j * (x - 1))
    return np.concatenate([x - 1, [s, s**2]])


def trigonometric(x):
    n = x.shape[0]
    i = np.arange(1, n + 1)
    return n - np.sum(np.cos(x)) + i * (1 - np.cos(x)) - np.sin(x)


def brown_almost_linear(x):
    n = x.shape[0]
    return np.concatenate([x[:-1] + np.sum(x) - (n + 1), [np.prod(x) - 1]])


def discrete_boundary(x):
    n = x.shape[0]
    h = 1 / (n + 1)
    t = np.arange(1, n + 1) * h
    xp = np.concatenate([[0], x, [0]])
    return 2 * x - xp[:-2] - xp[2:] + h**2 * (x + t + 1) ** 3 / 2


def discrete_integral(x):
    n = x.shape[0]
    h = 1 / (n + 1)
    t = np.arange(1, n + 1) * h
    c = (x + t + 1) ** 3
    r = []
    for i in range(n):
        s1 = np.sum(t[: i + 1] * c[: i + 1])
        s2 = np.sum((1 - t[i + 1:]) * c[i + 1:])
        r.append(x[i] + h * ((1 - t[i]) * s1 + t[i] * s2) / 2)
    return np.array(r)


def broyden_tridiagonal(x):
    xp = np.concatenate([[0], x, [0]])
    return (3 - 2 * x) * x - xp[:-2] - 2 * xp[2:] + 1


def broyden_banded(x):
    n = x.shape[0]
    r = []
    for i in range(n):
        s = sum(x[j] * (1 + x[j]) for j in range(max(0, i - 5), min(n, i + 2)) if j != i)
        r.append(x[i] * (2 + 5 * x[i] ** 2) + 1 - s)
    return np.array(r)


def linear_full_rank(x, m=10):
    s = np.sum(x)
    return np.concatenate([x - 2 * s / m - 1, np.full(m - x.shape[0], -2 * s / m - 1)])


def linear_rank1(x, m=10):
    s = np.sum(np.arange(1, x.shape[0] + 1) * x)
    return np.arange(1, m + 1) * s - 1


def linear_rank1_zero(x, m=10):
    n = x.shape[0]
    s = np.sum(np.arange(2, n) * x[1:-1])
    r = np.arange(0, m) * s - 1
    r[0] = -1 + 0 * s
    r[-1] = -1 + 0 * s
    return r


def chebyquad(x):
    n = x.shape[0]
    y = 2 * x - 1
    t_prev, t = np.ones_like(x), y
    r = []
    for i in range(1, n + 1):
        integral = -1 / (i * i - 1) if i % 2 == 0 else 0.0
        r.append(np.mean(t) - integral)
        t_prev, t = t, 2 * y * t - t_prev
    return np.array(r)


# (name, residuals, x0, lowest known f = sum(r^2))
PROBLEMS = [
    ("Rosenbrock", rosenbrock, [-1.2, 1.0], 0.0),
    ("Freudenstein-Roth", freudenstein_roth, [0.5, -2.0], 0.0),
    ("Powell badly scaled", powell_badly_scaled, [0.0, 1.0], 0.0),
    ("Brown badly scaled", brown_badly_scaled, [1.0, 1.0], 0.0),
    ("Beale", beale, [1.0, 1.0], 0.0),
    ("Jennrich-Sampson", jennrich_sampson, [0.3, 0.4], 124.362182),
    ("Helical valley", helical_valley, [-1.0, 0.0, 0.0], 0.0),
    ("Bard", bard, [1.0, 1.0, 1.0], 8.21487730e-3),
    ("Gaussian", gaussian, [0.4, 1.0, 0.0], 1.12793277e-8),
    ("Meyer", meyer, [0.02, 4000.0, 250.0], 87.9458551),
    ("Gulf", gulf, [5.0, 2.5, 0.15], 0.0),
    ("Box 3-D", box_3d, [0.0, 10.0, 20.0], 0.0),
    ("Powell singular", powell_singular, [3.0, -1.0, 0.0, 1.0], 0.0),
    ("Wood", wood, [-3.0, -1.0, -3.0, -1.0], 0.0),
    ("Kowalik-Osborne", kowalik_osborne, [0.25, 0.39, 0.415, 0.39], 3.07505604e-4),
    ("Brown-Dennis", brown_dennis, [25.0, 5.0, -5.0, -1.0], 85822.2016),
    ("Osborne 1", osborne1, [0.5, 1.5, -1.0, 0.01, 0.02], 5.46489469e-5),
    ("Biggs EXP6", biggs_exp6, [1.0, 2.0, 1.0, 1.0, 1.0, 1.0], 0.0),
    ("Osborne 2", osborne2, [1.3, 0.65, 0.65, 0.7, 0.6, 3.0, 5.0, 7.0, 2.0, 4.5, 5.5], 4.01377363e-2),
    ("Watson", watson, [0.0] * 6, 2.28767005e-3),
    ("Extended Rosenbrock", extended_rosenbrock, [-1.2, 1.0] * 5, 0.0),
    ("Extended Powell", extended_powell, [3.0, -1.0, 0.0, 1.0] * 3, 0.0),
    ("Penalty I", penalty1, [1.0, 2.0, 3.0, 4.0], 2.24997750e-5),
    ("Penalty II", penalty2, [0.5] * 4, 9.37629300e-6),
    ("Variably dimensioned", variably_dimensioned, list(1 - np.arange(1, 11) / 10), 0.0),
    ("Trigonometric", trigonometric, [0.1] * 10, 0.0),
    ("Brown almost-linear", brown_almost_linear, [0.5] * 10, 0.0),
    ("Discrete boundary", discrete_boundary, list((np.arange(1, 11) / 11) * (np.arange(1, 11) / 11 - 1)), 0.0),
    ("Discrete integral", discrete_integral, list((np.arange(1, 11) / 11) * (np.arange(1, 11) / 11 - 1)), 0.0),
    ("Broyden tridiagonal", broyden_tridiagonal, [-1.0] * 10, 0.0),
    ("Broyden banded", broyden_banded, [-1.0] * 10, 0.0),
    ("Linear full rank", linear_full_rank, [1.0] * 5, 5.0),
    ("Linear rank 1", linear_rank1, [1.0] * 5, 10 * 9 / (2 * 21)),
    ("Linear rank 1, zero rows and columns", linear_rank1_zero, [1.0] * 5, (100 + 30 - 6) / (2 * 17)),
    ("Chebyquad", chebyquad, list(np.arange(1, 9) / 9), 3.51687372e-3),
]


def start(x0, factor):
    """MINPACK's scaled start: ``factor * x0``, or ``factor`` everywhere when ``x0`` is zero and ``factor != 1``."""
    x0 = np.asarray(x0, dtype=float)
    return factor * x0 if np.any(x0 != 0) or factor == 1 else np.full(x0.shape, factor)


def complex_step_jacobian(fun):
    """The exact Jacobian of a complex-safe residual function by the complex step."""

    def jac(x):
        h = 1e-100
        cols = []
        for j in range(x.shape[0]):
            xc = x.astype(complex)
            xc[j] += 1j * h
            cols.append(np.imag(fun(xc)) / h)
        return np.array(cols).T

    return jac


def sum_of_squares(fun, x):
    with np.errstate(all="ignore"):
        r = np.asarray(fun(np.asarray(x, dtype=float)), dtype=float)
    return float(r @ r) if np.all(np.isfinite(r)) else np.inf


def scored_run(solver, fun, x0, f_star, **kw):
    """Run ``solver`` from ``x0``: the final sum of squares ``f``, success (within ``1e-6 * f* + 1e-10`` of
    ``f_star``), calls of fun and seconds."""
    x, calls, sec, _ = run(solver, fun, x0, **kw)
    f = sum_of_squares(fun, x) if x is not None else np.inf
    return dict(f=f, success=bool(f <= f_star + SUCCESS_RTOL * f_star + SUCCESS_ATOL), nfev=calls, seconds=sec)


def classic_runs(solvers, jacobian="2-point", progress=None, problems=None):
    """One row per (solver, problem, start): success, final f, calls of fun (``problems``: a subset of
    :data:`PROBLEMS`)."""
    rows = []
    for name, fun, x0, f_star in PROBLEMS if problems is None else problems:
        for factor in STARTS:
            xs = start(x0, factor)
            for s in solvers:
                kw = dict(TOLS, max_nfev=20000)
                if jacobian == "exact":
                    kw["jac"] = Counted(complex_step_jacobian(fun))
                rows.append(dict(solver=s, problem=name, start=factor, **scored_run(s, fun, xs, f_star, **kw)))
            if progress is not None:
                progress.update(1)
    return rows


def summarise_classic(rows):
    """Per solver: solved runs, runs, calls of fun summed over the runs every solver solved."""
    solvers = list(dict.fromkeys(r["solver"] for r in rows))
    keys = {(r["problem"], r["start"]) for r in rows}
    common = {k for k in keys if all(r["success"] for r in rows if (r["problem"], r["start"]) == k)}
    out = {}
    for s in solvers:
        sel = [r for r in rows if r["solver"] == s]
        out[s] = dict(solved=sum(r["success"] for r in sel), runs=len(sel),
                      nfev_common=int(sum(r["nfev"] for r in sel if (r["problem"], r["start"]) in common)),
                      common=len(common))
    return out
