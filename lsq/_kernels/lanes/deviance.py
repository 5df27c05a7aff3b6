"""Poisson deviance residuals (:mod:`lsq._kernels.poisson`) on eight lanes.

The per-fit rule point by point, as vector code, with ``q(t) = 2 (t - log1p(t)) / t**2`` computed in a form
with no cancellation and one division. With ``g = 1 / (2 + t)`` and ``s = t g``, ``log1p(t) = 2 atanh(s) =
2 s + s R(s**2)`` and ``t - 2 s = t s``, so ``t - log1p(t) = s (t - R)`` and, since ``R(z) = z P(z)``,
``q = 2 g (1 - s g P(s**2))``, where ``P`` is fdlibm's minimax polynomial of ``log`` (:mod:`.vmath`), valid
for ``|s| <= NEAR_S`` (``t`` in about ``[-0.29, 0.41]``): ``s g P`` is about ``t / 6``, nothing cancels, and
``q(0) = 1`` needs no special case. Farther out, ``q = 2 (e - log(u)) / (e t)`` with ``u = 1 + t``,
``e = u - 1`` (Goldberg's ``log1p``, with the lanes' vector ``log``), computed only for vectors with a lane
there. Both are within a few ulp of the per-fit rule. A mean that is not positive and finite gives NaN, which
the engine rejects like any non-finite residual.
"""

import math

from ..._setup.jit import jit_inline
from . import simd as v
from .vmath import LOG_EVEN, LOG_ODD

LOG_P = tuple(c for pair in zip(LOG_ODD, LOG_EVEN + (0.0,), strict=True) for c in pair)[:7]
"""fdlibm's ``Lg1..Lg7``: ``P(z) = Lg1 + Lg2 z + ... + Lg7 z**6``."""
NEAR_S = 0.1716
"""``|s|`` up to which ``P`` holds (``sqrt(2) - 1`` over ``sqrt(2) + 1``, fdlibm's reduced range)."""


@jit_inline
def deviance_terms(mu, y, inv_y):
    """``(d, d d / d mu, fisher)`` of the means ``mu`` for the counts ``y`` (``inv_y = 1 / y``, taken once per
    fit) in every lane; ``fisher`` is :func:`lsq._kernels.poisson.fisher_factor`, ``sqrt(mu q / y)``, which
    turns a row of the deviance residuals' Jacobian into ``d mu / sqrt(mu)``. The far form and the zero-count
    form are computed only for vectors with a lane that needs them."""
    zero = v.splat(0.0)
    one = v.splat(1.0)
    t = (mu - y) * inv_y
    g = one / (2.0 + t)
    s = t * g
    z = s * s
    p = v.splat(LOG_P[6])
    for k in range(5, -1, -1):
        p = p * z + LOG_P[k]
    q = 2.0 * g * (one - s * g * p)
    far = v.lt(v.splat(NEAR_S), v.abs(s))
    if v.any_true(far):
        u = one + t
        e = u - one
        q = v.select(far, 2.0 * (e - v.log(u)) / (e * t), q)
    qy = q * inv_y
    root = v.sqrt(qy)
    d = (mu - y) * root
    slope = one / (mu * root)
    fisher = v.sqrt(mu * qy)
    zero_counts = one - v.gt(y, zero)  # counts are never negative (a fit with one does not start)
    if v.any_true(zero_counts):
        root0 = v.sqrt(2.0 * mu)
        d = v.select(zero_counts, root0, d)
        slope = v.select(zero_counts, one / root0, slope)
        fisher = v.select(zero_counts, v.splat(math.sqrt(2.0)), fisher)
    valid = v.gt(mu, zero) * v.lt(mu, v.splat(math.inf))
    nan = v.splat(math.nan)
    return v.select(valid, d, nan), v.select(valid, slope, nan), v.select(valid, fisher, nan)
