"""Two guards around the damped iteration: undo a step onto a plateau, and a final Gauss-Newton step.

* After an accepted step, a column of ``J`` whose norm collapsed means the residuals no longer depend on
  that parameter (an exponential that underflowed, a saturated rational): the gain ratio can look fine,
  but no later step brings the parameter back. The step is undone and damped (:func:`undo_step`).
* When a fit stops on a step test or stagnation, the cost near the minimum is flat to its last digits and
  cannot rank points any more, but the model's gradient can: one last undamped step is evaluated and kept
  unless the cost rose above its rounding level (:func:`final_gauss_newton_step`).
"""

import math

from ..._setup.jit import jit_stage as jit
from .codes import (
    EPS,
    FINAL_J_EVALUATE,
    FINAL_J_UPDATE,
    O_BOUNDED,
    O_FINAL_J,
    O_LOSS,
    O_MAX_NFEV,
    O_RULE,
    O_SOLVER,
    PHASE_AFTER_F0,
    PHASE_FINAL_J,
    PHASE_FINAL_STEP,
    SOLVER_EXTERNAL,
    SOLVER_NORMAL,
    STATUS_NONE,
    TASK_CONTINUE,
    TASK_EVAL_F,
    TASK_EVAL_J,
)
from .damping import update_damping
from .descent import place, solve_damped
from .jacobian_update import broyden_update
from .layout import (
    ACTUAL,
    COST,
    COST_NEW,
    FINAL_STATUS,
    FINAL_STEP,
    LAST_STEP,
    N_UNDONE,
    NFEV,
    NIT,
    PENDING,
    PHASE,
    SOLVER,
    STEP_NORM,
    TRIAL_LAM,
    TRIAL_UNEVALUATED,
    TRY_GN,
)
from .linearize import gradient_and_column_norms, scale_for_loss
from .state import actual_reduction, copy, finish, keep_trial_point, request_trial, trial_cost

COLLAPSE = 1e-12
"""A step after which a squared column norm of ``J`` is below this fraction of its value before is undone."""
MAX_UNDO = 30
"""Undone steps per fit; past this the fit goes on from wherever its steps lead (no undo cycles)."""
FINAL_STEP_SLACK = 32.0
"""The final Gauss-Newton step is kept unless the cost rose by more than this many ``eps * F``."""


@jit
def sensitivity_lost(w):
    """True when the last step wiped out a column of ``J`` (its squared norm fell by more than ``1e12``)."""
    for j in range(w.x.shape[0]):
        if w.colsq[j] < COLLAPSE * w.colsq_prev[j]:
            return True
    return False


@jit
def undo_step(w, opts_i):
    """Go back to the point before the last step, damp as after a rejected step, and re-linearise there."""
    si, sf = w.si, w.sf
    si[NIT] -= 1
    si[N_UNDONE] += 1
    si[PENDING] = STATUS_NONE
    copy(w.x, w.x_prev)
    copy(w.x_new, w.x_prev)
    si[TRY_GN] = False
    sf[ACTUAL] = -math.inf
    sf[COST_NEW] = math.inf
    sf[STEP_NORM] = sf[LAST_STEP]
    update_damping(opts_i[O_RULE], False, -math.inf, sf)
    si[NFEV] += 1
    si[PHASE] = PHASE_AFTER_F0
    return TASK_EVAL_F


@jit
def stop_after_final_step(w, status, trial_unevaluated):
    """Go on to :func:`final_gauss_newton_step`, which stops the fit with ``status``."""
    si = w.si
    si[FINAL_STATUS] = status
    si[TRIAL_UNEVALUATED] = trial_unevaluated
    si[PHASE] = PHASE_FINAL_STEP
    return TASK_CONTINUE


@jit
def final_gauss_newton_step(w, opts_i):
    """The fit stops with ``final_status``; first evaluate one last Gauss-Newton step from ``x`` and keep it
    unless the cost rose above its rounding level (:func:`judge_final_step`).

    Without an undamped step (singular ``J^T J``, a driver-side solver) the pending damped trial is
    evaluated instead if it has not been (``trial_unevaluated``). The kept step is not an iteration:
    ``nit`` and the history count linearisations, and the returned ``x`` is one step past the last.
    """
    si, sf = w.si, w.sf
    status = si[FINAL_STATUS]
    trial_unevaluated = si[TRIAL_UNEVALUATED]
    if si[NFEV] >= opts_i[O_MAX_NFEV]:
        return finish(w, status)
    solver = si[SOLVER]
    if sf[TRIAL_LAM] == 0.0 and not trial_unevaluated:
        # the trial just rejected was the Gauss-Newton step itself
        if not_worse_to_rounding(w, sf[COST_NEW], sf[ACTUAL]):
            keep_trial_point(w, sf[COST_NEW], opts_i[O_LOSS])
        return finish(w, status)
    if solver != SOLVER_EXTERNAL and solve_damped(w, 0.0, solver):
        place(w, 1.0, opts_i[O_BOUNDED])
    elif not trial_unevaluated:
        return finish(w, status)
    si[PENDING] = status
    si[FINAL_STEP] = True
    return request_trial(w)


@jit
def judge_final_step(w, opts_f, opts_i):
    """Keep the final step unless the cost rose above its rounding level (no new linearisation), and stop.

    At a converged point the cost is flat to its last digits, so equal costs up to rounding cannot
    rank the two points; the step, which zeroes the model's gradient, is then the better estimate.
    """
    cost_new = trial_cost(w, opts_f, opts_i)
    if not_worse_to_rounding(w, cost_new, actual_reduction(w, opts_i[O_LOSS])):
        held = opts_i[O_SOLVER] != SOLVER_NORMAL and opts_i[O_SOLVER] != SOLVER_EXTERNAL
        # the Jacobian the fit returns (and a covariance is computed from) belongs to the returned point
        if opts_i[O_FINAL_J] == FINAL_J_UPDATE and held:
            broyden_update(w)  # before the move: it reads the step's start
            keep_trial_point(w, cost_new, opts_i[O_LOSS])
            return finish_at_final_jacobian(w, opts_i[O_LOSS])
        keep_trial_point(w, cost_new, opts_i[O_LOSS])
        if opts_i[O_FINAL_J] == FINAL_J_EVALUATE and held:
            w.si[PHASE] = PHASE_FINAL_J
            return TASK_EVAL_J
    return finish(w, w.si[PENDING])


@jit
def finish_at_final_jacobian(w, loss):
    """Stop with the pending status once ``w.Jt`` holds the raw J at the final point (evaluated or updated):
    scaled for the loss and with its gradient, as any J."""
    scale_for_loss(w, loss)
    gradient_and_column_norms(w)
    return finish(w, w.si[PENDING])


@jit
def not_worse_to_rounding(w, cost_new, actual):
    """The final step's cost is finite and above ``F`` by at most ``FINAL_STEP_SLACK * eps * F``."""
    return math.isfinite(cost_new) and actual >= -FINAL_STEP_SLACK * EPS * w.sf[COST]
