"""The small moves every stage of the engine makes on its state (the slots of ``w.si``/``w.sf``, named in
:mod:`.layout`)."""


from ..._setup.jit import jit_inline as jit
from .codes import (
    HESSIAN_EXACT,
    LOSS_CALLABLE,
    LOSS_LINEAR,
    O_F_SCALE,
    O_HESSIAN,
    O_LOSS,
    O_RESTART,
    O_SCALING,
    O_SOLVER,
    PHASE_AFTER_TRIAL,
    PHASE_DONE,
    PHASE_START,
    SCALING_JAC,
    SOLVER_AUTO,
    SOLVER_CHOLESKY,
    STATUS_FTOL,
    STATUS_FTOL_XTOL,
    STATUS_NONE,
    STATUS_XTOL,
    TASK_DONE,
    TASK_EVAL_F,
)
from .layout import (
    ALPHA,
    COST,
    FINAL_STATUS,
    LAST_STEP,
    NEXT_RESTART,
    NFEV,
    NU,
    PENDING,
    PHASE,
    SOLVER,
    STATUS,
    STEP_NORM,
    TRY_GN,
)
from .losses import residual_cost


@jit
def reset(w, opts_i):
    """Put a workspace back to its start state (``w.x`` must hold the new ``x0``)."""
    si, sf = w.si, w.sf
    for k in range(si.shape[0]):
        si[k] = 0
    for k in range(sf.shape[0]):
        sf[k] = 0.0
    si[PHASE] = PHASE_START
    si[PENDING] = STATUS_NONE
    si[FINAL_STATUS] = STATUS_NONE
    si[NEXT_RESTART] = opts_i[O_RESTART] * (w.x.shape[0] + 1)
    si[SOLVER] = SOLVER_CHOLESKY if opts_i[O_SOLVER] == SOLVER_AUTO else opts_i[O_SOLVER]
    si[TRY_GN] = opts_i[O_HESSIAN] == HESSIAN_EXACT  # Newton's first trial is the undamped Newton step
    sf[NU] = 2.0
    sf[ALPHA] = 1.0
    for a in range(w.H2.shape[0]):
        for b in range(w.H2.shape[1]):
            w.H2[a, b] = 0.0
    if opts_i[O_SCALING] == SCALING_JAC:
        for j in range(w.d.shape[0]):
            w.d[j] = 1.0


@jit
def copy(dst, src):
    for i in range(dst.shape[0]):
        dst[i] = src[i]


@jit
def copy2(dst, src):
    for k in range(dst.shape[0]):
        for i in range(dst.shape[1]):
            dst[k, i] = src[k, i]


@jit
def finish(w, status):
    """End the fit with ``status``; returns ``TASK_DONE``."""
    si = w.si
    si[STATUS] = status
    si[PHASE] = PHASE_DONE
    return TASK_DONE


@jit
def request_trial(w):
    """Ask the driver for the residuals at ``x_new`` (judged in ``PHASE_AFTER_TRIAL``)."""
    si = w.si
    si[NFEV] += 1
    si[PHASE] = PHASE_AFTER_TRIAL
    return TASK_EVAL_F


@jit
def is_step_test(status):
    """Whether ``status`` is one of the step tests (ftol, xtol or both)."""
    return status == STATUS_FTOL or status == STATUS_XTOL or status == STATUS_FTOL_XTOL


@jit
def trial_cost(w, opts_f, opts_i):
    """The cost at the trial point from ``w.r_new`` (and ``w.rho_new``, filled here or by a callable loss)."""
    loss = opts_i[O_LOSS]
    return residual_cost(w.r_new, w.rho_new, w.r_new.shape[0], loss, opts_f[O_F_SCALE], loss == LOSS_CALLABLE)


@jit
def actual_reduction(w, loss):
    """``F(x) - F(x_new)`` summed term by term: ``0.5 (r - r_new)(r + r_new)`` for the linear loss.

    Near a minimum the two costs agree to the last digit while the residuals still differ, so the
    difference of the two sums is rounding noise; the sum of differences resolves the decrease down to
    the rounding of the residuals themselves, which the final digits of the parameters need.
    """
    t = 0.0
    if loss == LOSS_LINEAR:
        for i in range(w.r.shape[0]):
            t += (w.r[i] - w.r_new[i]) * (w.r[i] + w.r_new[i])
    else:
        for i in range(w.r.shape[0]):
            t += w.rho[0, i] - w.rho_new[0, i]
    return 0.5 * t


@jit
def keep_trial_point(w, cost_new, loss):
    """Move to the trial point: ``x``, residuals (and loss values) and cost; the old ``x`` goes to ``x_prev``."""
    sf = w.sf
    copy(w.x_prev, w.x)
    copy(w.x, w.x_new)
    copy(w.r, w.r_new)
    if loss != LOSS_LINEAR:
        copy2(w.rho, w.rho_new)
    sf[COST] = cost_new
    sf[LAST_STEP] = sf[STEP_NORM]
