"""Robustness sets beyond the textbook starts: curve-fitting families from a naive start and from seeded random
starts, and the classic problems from seeded random starts.

A run is solved when its sum of squares ends within ``1e-6 * f* + 1e-10`` of the best known one (another
local minimum does not count). For the families, ``f*`` is the lower of two polishes from the true
parameters (SciPy's ``lm`` and lsq's ``lm``, tolerances 1e-15); for the classic problems it is MGH's value.
Every draw is seeded, so the sets are the same in every run.
"""

import numpy as np
from scipy.optimize import least_squares as scipy_least_squares

import lsq

from .classic import PROBLEMS, TOLS, scored_run, sum_of_squares

SEED = 20261203
INSTANCES = 8  # true parameter sets per family
RANDOM_STARTS = 4  # random starts per instance (families) or per problem (classic)
NOISE = 0.01  # Gaussian noise, relative to the largest |y| of the instance


def _exp_decay(t, p):
    return p[0] * np.exp(-p[1] * t) + p[2]


def _double_exp(t, p):
    return p[0] * np.exp(-p[1] * t) + p[2] * np.exp(-p[3] * t)


def _gaussian_peak(t, p):
    return p[0] * np.exp(-((t - p[1]) ** 2) / (2 * p[2] ** 2)) + p[3]


def _logistic(t, p):
    return p[0] / (1 + np.exp(-p[1] * (t - p[2])))


def _michaelis_menten(t, p):
    return p[0] * t / (p[1] + t)


def _damped_sine(t, p):
    return p[0] * np.exp(-p[1] * t) * np.sin(p[2] * t + p[3])


# (name, model(t, p), t, low and high of the uniform draw of the true parameters, the naive start)
FAMILIES = [
    ("exponential decay", _exp_decay, np.linspace(0, 5, 30), [0.5, 0.2, -1.0], [5.0, 2.0, 1.0], [1.0, 1.0, 0.0]),
    ("double exponential", _double_exp, np.linspace(0, 10, 50), [0.5, 0.1, 0.5, 1.0], [3.0, 0.5, 3.0, 3.0],
     [1.0, 0.1, 1.0, 1.0]),
    ("gaussian peak", _gaussian_peak, np.linspace(-5, 5, 60), [1.0, -2.0, 0.5, 0.0], [5.0, 2.0, 2.0, 1.0],
     [1.0, 0.0, 1.0, 0.0]),
    ("logistic", _logistic, np.linspace(0, 10, 40), [1.0, 0.5, 3.0], [10.0, 3.0, 7.0], [1.0, 1.0, 1.0]),
    ("Michaelis-Menten", _michaelis_menten, np.geomspace(0.1, 50, 20), [1.0, 0.5], [10.0, 10.0], [1.0, 1.0]),
    ("damped sine", _damped_sine, np.linspace(0, 10, 100), [1.0, 0.05, 0.5, -1.0], [3.0, 0.3, 1.5, 1.0],
     [1.0, 0.1, 1.0, 0.0]),
]


def _random_start(rng, p):
    """A start a decade either side of ``p`` (log-uniform), shifted by a standard normal draw."""
    p = np.asarray(p, dtype=float)
    return p * 10.0 ** rng.uniform(-1, 1, p.shape) + rng.standard_normal(p.shape)


def _best_known(fun, p_true):
    best = sum_of_squares(fun, p_true)
    tight = dict(ftol=1e-15, xtol=1e-15, gtol=1e-15)
    for solve in (lambda: scipy_least_squares(fun, p_true, method="lm", **tight),
                  lambda: lsq.least_squares(fun, p_true, method="lm", **tight)):
        try:
            with np.errstate(all="ignore"):
                best = min(best, sum_of_squares(fun, solve().x))
        except Exception:  # noqa: BLE001, S112 - a polish that fails leaves the other one
            continue
    return best


def family_problems(instances=INSTANCES, starts=RANDOM_STARTS, seed=SEED):
    """``(family, residuals, starts, f*)`` per instance: the naive start first, then the random ones."""
    rng = np.random.default_rng(seed)
    out = []
    for name, model, t, lo, hi, naive in FAMILIES:
        for i in range(instances):
            p_true = rng.uniform(lo, hi)
            y = model(t, p_true)
            y = y + NOISE * np.max(np.abs(y)) * rng.standard_normal(t.shape)

            def fun(p, model=model, t=t, y=y):
                return model(t, p) - y

            x0s = [np.array(naive, dtype=float)] + [_random_start(rng, p_true) for _ in range(starts)]
            out.append((f"{name} #{i + 1}", fun, x0s, _best_known(fun, p_true)))
    return out


def classic_random_problems(starts=RANDOM_STARTS, seed=SEED):
    """``(problem, residuals, starts, f*)``: each classic problem from random starts around its ``x0``."""
    rng = np.random.default_rng(seed + 1)
    return [(name, fun, [_random_start(rng, x0) for _ in range(starts)], f_star)
            for name, fun, x0, f_star in PROBLEMS]


def robustness_runs(solvers, problems, progress=None):
    """One row per (solver, problem, start): success, final f, calls of fun (2-point Jacobians)."""
    rows = []
    for name, fun, x0s, f_star in problems:
        for k, xs in enumerate(x0s):
            for s in solvers:
                rows.append(dict(solver=s, problem=name, start=k,
                                 **scored_run(s, fun, xs, f_star, **dict(TOLS, max_nfev=20000))))
        if progress is not None:
            progress.update(1)
    return rows
