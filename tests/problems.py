"""A shared zoo of residual problems with known minimisers."""

import numpy as np


def rosenbrock(x):
    return np.array([10 * (x[1] - x[0] ** 2), 1 - x[0]])


def rosenbrock_jac(x):
    return np.array([[-20 * x[0], 10.0], [-1.0, 0.0]])


def exp_data(seed=0, m=40):
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 4, m)
    y = 2.5 * np.exp(-1.3 * t) + 0.5 + 0.01 * rng.standard_normal(m)
    return t, y


def exp_residuals(p, t, y):
    return p[0] * np.exp(-p[1] * t) + p[2] - y
