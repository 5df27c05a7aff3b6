"""Damping rules: how the step control moves after a trial step is judged.

The step is ``alpha * delta`` with ``(A + lam*D) delta = -g``. Levenberg and Levenberg-Marquardt keep
``alpha = 1`` and move ``lam``; Gauss-Newton keeps ``lam = 0`` and backtracks on ``alpha``; the trust-region
rule moves a radius on the scaled step and ``lam`` follows from it
(:func:`lsq._kernels.engine.descent.trust_region_step`).
The gain ratio is ``gain = actual reduction / predicted reduction`` of the cost.

Each rule is a pure function of the scalars it moves; :func:`update_damping` applies the rule a fit uses
to the engine's state.
"""

import math

from ..._setup.jit import jit_inline as jit
from .codes import RULE_BACKTRACK, RULE_MARQUARDT, RULE_NIELSEN, RULE_TRUST_REGION
from .layout import ACTUAL, ALPHA, COST, COST_NEW, LAM, NU, RADIUS, SLOPE, STEP_NORM

ACCEPT_RATIO = 1e-4
"""A trial step is accepted when its gain ratio exceeds this (and the cost is finite)."""

LAM_MIN = 1e-300
LAM_MAX = 1e300
NU_MAX = 1e300


@jit
def initial_lambda(rule, tau, A_over_d_max):
    """Starting ``lam = tau * max_j(A_jj / d_j)`` (Madsen, Nielsen & Tingleff); 0 for Gauss-Newton and for
    the trust-region rule, whose first step is the Gauss-Newton step if it fits in the radius (as MINPACK)."""
    if rule == RULE_BACKTRACK or rule == RULE_TRUST_REGION:
        return 0.0
    lam = tau * A_over_d_max
    if not lam > 0.0:
        lam = tau
    return lam


@jit
def _clamp_lam(lam):
    return min(max(lam, LAM_MIN), LAM_MAX)


@jit
def nielsen_update(lam, nu, gain, accepted):
    """Nielsen (1999): success ``lam *= max(1/3, 1 - (2 gain - 1)**3)``, ``nu = 2``; failure ``lam *= nu``,
    ``nu *= 2``. Returns ``(lam, nu)``."""
    if accepted:
        t = 2.0 * gain - 1.0
        lam *= max(1.0 / 3.0, 1.0 - t * t * t)
        nu = 2.0
    else:
        lam *= nu
        nu *= 2.0
    return _clamp_lam(lam), min(nu, NU_MAX)


@jit
def marquardt_update(lam, accepted):
    """Marquardt (1963): success ``lam /= 10``, failure ``lam *= 10``."""
    return _clamp_lam(lam / 10.0 if accepted else lam * 10.0)


@jit
def backtrack_update(alpha, accepted):
    """Gauss-Newton line search: success ``alpha = 1``, failure ``alpha /= 2``."""
    return 1.0 if accepted else 0.5 * alpha


@jit
def trust_region_update(radius, lam, gain, accepted, actual, slope, step_norm, cost, cost_new):
    """Moré (1978), MINPACK's ``lmder``: move the radius on ``|d^(1/2) p|`` by the gain ratio.

    ``gain <= 0.25`` or a rejected step: shrink to ``t * min(radius, 10 |p|)`` with ``t`` the minimiser of the
    parabola through the cost and its slope along the step (clipped to ``[0.1, 0.5]``; 0.1 when the cost
    grew a hundredfold or is not finite), and ``lam /= t``; ``gain >= 0.75`` or an undamped step: grow to
    ``2 |p|`` and halve ``lam``. Returns ``(radius, lam)``.
    """
    if not (accepted and gain > 0.25):
        t = 0.5
        if actual < 0.0:
            t = 0.5 * slope / (slope + actual)
        if not math.isfinite(cost_new) or cost_new >= 100.0 * cost or not t >= 0.1:
            t = 0.1
        radius = t * min(radius, step_norm / 0.1)
        lam = lam / t
    elif lam == 0.0 or gain >= 0.75:
        radius = max(radius, step_norm / 0.5)
        lam = 0.5 * lam
    return radius, min(lam, LAM_MAX)


@jit
def update_damping(rule, accepted, gain, sf):
    """Apply ``rule`` to the float state ``sf`` (:mod:`.layout`) after a trial with gain ratio ``gain``."""
    if rule == RULE_NIELSEN:
        sf[LAM], sf[NU] = nielsen_update(sf[LAM], sf[NU], gain, accepted)
    elif rule == RULE_MARQUARDT:
        sf[LAM] = marquardt_update(sf[LAM], accepted)
    elif rule == RULE_BACKTRACK:
        sf[ALPHA] = backtrack_update(sf[ALPHA], accepted)
    elif rule == RULE_TRUST_REGION:
        sf[RADIUS], sf[LAM] = trust_region_update(sf[RADIUS], sf[LAM], gain, accepted, sf[ACTUAL], sf[SLOPE],
                                                  sf[STEP_NORM], sf[COST], sf[COST_NEW])
