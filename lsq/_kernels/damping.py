"""Damping rules: given the gain ratio of a trial step, accept or reject it and move the step control.

The step control is the pair ``(lam, alpha)`` in ``fst``: the trial step is ``alpha * delta`` with
``(A + lam*D) delta = -g``. Levenberg and Levenberg-Marquardt keep ``alpha = 1`` and move ``lam``;
Gauss-Newton keeps ``lam = 0`` and backtracks on ``alpha``. The gain ratio is
``rho = actual reduction / predicted reduction`` of the cost.
"""

from .._jit import jit_engine as jit
from .codes import F_ALPHA, F_LAM, F_NU, RULE_BACKTRACK, RULE_MARQUARDT, RULE_NIELSEN

ACCEPT_RATIO = 1e-4
"""A trial step is accepted when its gain ratio exceeds this (and the cost is finite)."""

LAM_MIN = 1e-300
LAM_MAX = 1e300


@jit
def initial_lambda(rule, tau, A_over_d_max):
    """Starting ``lam = tau * max_j(A_jj / d_j)`` (Madsen, Nielsen & Tingleff), 0 for Gauss-Newton."""
    if rule == RULE_BACKTRACK:
        return 0.0
    lam = tau * A_over_d_max
    if not lam > 0.0:
        lam = tau
    return lam


@jit
def update_damping(rule, accepted, rho, fst):
    """Move ``lam`` (or ``alpha``) after a trial step.

    * ``RULE_NIELSEN``: success ``lam *= max(1/3, 1 - (2 rho - 1)**3)``, ``nu = 2``;
      failure ``lam *= nu``, ``nu *= 2`` (Nielsen 1999).
    * ``RULE_MARQUARDT``: success ``lam /= 10``; failure ``lam *= 10`` (Marquardt 1963).
    * ``RULE_BACKTRACK``: success ``alpha = 1``; failure ``alpha /= 2`` (Gauss-Newton line search).
    """
    if rule == RULE_NIELSEN:
        if accepted:
            t = 2.0 * rho - 1.0
            fst[F_LAM] *= max(1.0 / 3.0, 1.0 - t * t * t)
            fst[F_NU] = 2.0
        else:
            fst[F_LAM] *= fst[F_NU]
            fst[F_NU] *= 2.0
    elif rule == RULE_MARQUARDT:
        if accepted:
            fst[F_LAM] /= 10.0
        else:
            fst[F_LAM] *= 10.0
    elif rule == RULE_BACKTRACK:
        if accepted:
            fst[F_ALPHA] = 1.0
        else:
            fst[F_ALPHA] *= 0.5
    if rule != RULE_BACKTRACK:
        fst[F_LAM] = min(max(fst[F_LAM], LAM_MIN), LAM_MAX)
        if fst[F_NU] > 1e300:
            fst[F_NU] = 1e300
