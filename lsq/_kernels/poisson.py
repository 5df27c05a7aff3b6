"""Poisson maximum likelihood as least squares on deviance residuals.

The Poisson deviance of a mean ``mu > 0`` for a count ``y >= 0`` is ``D = 2 [mu - y + y ln(y / mu)]``, and
``sum D_i`` is, up to a constant, twice the negative log-likelihood. Writing each term as the square of a
*deviance residual* ``d = sign(mu - y) sqrt(D)`` turns the maximum-likelihood fit into a least-squares fit
of ``d``: half the sum of squares is the engine's cost, so its gain ratio, damping, bounds and stopping tests
apply unchanged, and the minimum is exactly the maximum-likelihood estimate. The gradient
``J_d^T d = sum (1 - y/mu) d mu`` is the score, and near the solution ``J_d^T J_d = sum (y/mu^2) d mu d mu^T``
is the Laurence–Chromy curvature, so Gauss-Newton on ``d`` is Fisher scoring.

With ``t = (mu - y) / y`` and ``q(t) = 2 (t - log1p(t)) / t^2`` (``q(0) = 1``), for ``y > 0``::

    d = (mu - y) / sqrt(y) * sqrt(q(t))        d d / d mu = sqrt(y) / (mu sqrt(q(t)))

(computed as ``(mu - y) sqrt(q / y)`` and ``1 / (mu sqrt(q / y))``, one square root for both), and for
``y = 0``, ``d = sqrt(2 mu)`` and ``d d / d mu = 1 / sqrt(2 mu)``. ``q`` is summed as its series
near ``t = 0``, where ``t - log1p(t)`` cancels, so ``d`` is accurate to a few ulp as ``mu`` approaches
``y``. A mean that is not positive and finite gives NaN, which the engine rejects like any non-finite
residual.

The covariance is the inverse Fisher information ``(sum d mu d mu^T / mu)^-1``: the rows of ``J_d`` times
:func:`fisher_factor` give ``d mu / sqrt(mu)``.
"""

import math

import numpy as np

from .._setup.jit import jit

SERIES_BELOW = 0.1
"""``|t|`` below which ``q(t)`` is summed as its series (beyond it ``t - log1p(t)`` loses at most
``2 eps / |t|`` relative)."""
SERIES_TERMS = 18
"""Terms of the series: ``0.1**17`` is below double rounding."""


@jit
def _q(t):
    """``2 (t - log1p(t)) / t**2``, accurate near ``t = 0``."""
    if abs(t) < SERIES_BELOW:
        # 2 * sum_{k>=2} (-t)^(k-2) / k, by Horner from the last term
        s = 0.0
        for k in range(SERIES_TERMS + 1, 1, -1):
            s = 1.0 / k - t * s
        return 2.0 * s
    return 2.0 * (t - math.log1p(t)) / (t * t)


@jit
def deviance_residual(mu, y):
    """``sign(mu - y) sqrt(2 [mu - y + y ln(y/mu)])``; NaN unless ``mu`` is positive and finite."""
    if not (mu > 0.0 and mu < math.inf):
        return math.nan
    if y == 0.0:
        return math.sqrt(2.0 * mu)
    return (mu - y) * math.sqrt(_q((mu - y) / y) / y)


@jit
def deviance_slope(mu, y):
    """``d deviance_residual / d mu``; NaN unless ``mu`` is positive and finite."""
    if not (mu > 0.0 and mu < math.inf):
        return math.nan
    if y == 0.0:
        return 1.0 / math.sqrt(2.0 * mu)
    return 1.0 / (mu * math.sqrt(_q((mu - y) / y) / y))


@jit
def deviance_pair(mu, y):
    """``(deviance_residual, deviance_slope)`` sharing one evaluation of ``q``."""
    if not (mu > 0.0 and mu < math.inf):
        return math.nan, math.nan
    if y == 0.0:
        root = math.sqrt(2.0 * mu)
        return root, 1.0 / root
    root = math.sqrt(_q((mu - y) / y) / y)  # one square root serves both
    return (mu - y) * root, 1.0 / (mu * root)


@jit
def fisher_factor(mu, y):
    """The factor turning a row of ``J_d`` into ``d mu / sqrt(mu)``: ``1 / (sqrt(mu) deviance_slope)``."""
    if not (mu > 0.0 and mu < math.inf):
        return math.nan
    if y == 0.0:
        return math.sqrt(2.0)
    return math.sqrt(mu * _q((mu - y) / y) / y)


@jit
def deviance_residuals(mu, y, out_r, out_slope):
    """Deviance residuals of the means ``mu`` into ``out_r`` and their slopes into ``out_slope`` (arrays)."""
    for i in range(mu.shape[0]):
        out_r[i] = deviance_residual(mu[i], y[i])
        out_slope[i] = deviance_slope(mu[i], y[i])


@jit
def fisher_factors(mu, y, out):
    """:func:`fisher_factor` of each point into ``out``."""
    for i in range(mu.shape[0]):
        out[i] = fisher_factor(mu[i], y[i])


def poisson_residuals(mu, y):
    """``(d, slope)``: deviance residuals of the model values ``mu`` for counts ``y`` and ``d d / d mu``."""
    mu = np.ascontiguousarray(mu, dtype=float)
    r, slope = np.empty_like(mu), np.empty_like(mu)
    deviance_residuals(mu, np.ascontiguousarray(y, dtype=float), r, slope)
    return r, slope


def poisson_fisher_rows(mu, y):
    """Per-point factors turning the Jacobian of the deviance residuals into ``d mu / sqrt(mu)``."""
    mu = np.ascontiguousarray(mu, dtype=float)
    out = np.empty_like(mu)
    fisher_factors(mu, np.ascontiguousarray(y, dtype=float), out)
    return out
