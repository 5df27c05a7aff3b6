"""The engine's named state and the small moves every stage of the engine makes on it.

The state is one record (a NumPy structured scalar, ``w.state[0]``) read and written by field name in
compiled code; numba passes records by reference and needs no reference counting for them, and the dtype
is part of the cached signature.
"""

import numpy as np

from ..._setup.jit import jit as jit_alloc
from ..._setup.jit import jit_inline as jit
from ..._tiers.twin import python_equivalent
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
from .losses import residual_cost

STATE = np.dtype(
    [
        ("phase", np.int64),  # what the engine expects to find when it is called again (PHASE_*)
        ("nit", np.int64),  # accepted steps
        ("nfev", np.int64),  # residual evaluations the engine asked for (SciPy's nfev; max_nfev bounds it)
        ("nfd", np.int64),  # calls of fun the driver spent on finite differences
        ("njev", np.int64),  # Jacobian evaluations
        ("status", np.int64),  # final status (STATUS_*)
        ("pending", np.int64),  # a status decided before the final Jacobian is evaluated, or STATUS_NONE
        ("nfree", np.int64),  # free variables (not held at a bound) in this linearisation
        ("hist_rows", np.int64),  # history rows written
        ("n_reject", np.int64),  # consecutive rejected trials
        ("solve_tries", np.int64),  # linear solves tried for the current trial
        ("n_undone", np.int64),  # accepted steps undone because they wiped out a column of J
        ("final_status", np.int64),  # the status the final Gauss-Newton step stops the fit with
        ("next_restart", np.int64),  # nfev from which the next linearisation restarts the scaling (0: never)
        ("restarts", np.int64),  # restarts of the scaling so far
        ("solver", np.int64),  # the dense solver of this fit (SOLVER_AUTO: Cholesky until a condition test fails)
        ("cost", np.float64),  # F at x
        ("cost_new", np.float64),  # F at the trial point
        ("lam", np.float64),  # damping parameter (the trust-region rule's Levenberg-Marquardt parameter)
        ("nu", np.float64),  # Nielsen's growth factor of lam after a rejection
        ("alpha", np.float64),  # Gauss-Newton step length (backtracking)
        ("radius", np.float64),  # trust-region radius on the scaled step |d^(1/2) p|
        ("step_norm", np.float64),  # scaled norm of the trial step
        ("optimality", np.float64),  # first-order optimality at x
        ("actual", np.float64),  # actual reduction of the last trial
        ("pred", np.float64),  # reduction the linear model predicts for the trial step
        ("gain", np.float64),  # gain ratio actual / pred of the last trial
        ("slope", np.float64),  # g . p, the model's directional derivative along the trial step
        ("x_norm", np.float64),  # scaled norm of x
        ("last_step", np.float64),  # scaled norm of the last accepted step
        ("trial_lam", np.float64),  # lam of the current trial (0 for an undamped step)
        ("jp_sq", np.float64),  # |J p|^2 of the trial step (from the engine, or the driver with a driver-side solver)
        ("try_gn", np.bool_),  # the next trial is an undamped Gauss-Newton step
        ("no_gn", np.bool_),  # an undamped system was singular: no more Gauss-Newton tries in this fit
        ("final_step", np.bool_),  # the trial being evaluated is the final Gauss-Newton step
        ("secant_ready", np.bool_),  # a step was accepted: update the secant term with the next Jacobian
        ("use_s", np.bool_),  # the secant term is in the model (it predicted the last step better than J^T J)
        ("trial_unevaluated", np.bool_),  # the final Gauss-Newton step replaces a trial not yet evaluated
    ],
    align=True,
)
"""The engine's scalar state, one record per workspace."""


@jit_alloc
def new_state():
    """A zeroed state record array of one element (``w.state``)."""
    return np.zeros(1, dtype=STATE)


@python_equivalent(new_state)
def _new_state_python():
    # interpreted, the engine reads the record's fields as attributes (``s.phase``), as numba does
    return np.zeros(1, dtype=STATE).view(np.recarray)


@jit
def as_record(state):
    """``state`` as the engine reads it: itself when compiled; interpreted, a recarray view of it (the same
    memory), whose fields read as attributes. Callers from Python keep a plain structured array, which numba
    unboxes in 0.35 us against 3.8 us for a recarray."""
    return state


@python_equivalent(as_record)
def _as_record_python(state):
    return state.view(np.recarray)


@jit
def reset(w, opts_i):
    """Put a workspace back to its start state (``w.x`` must hold the new ``x0``)."""
    s = w.state[0]
    s.phase = PHASE_START
    s.nit = 0
    s.nfev = 0
    s.nfd = 0
    s.njev = 0
    s.status = 0
    s.pending = STATUS_NONE
    s.nfree = 0
    s.hist_rows = 0
    s.n_reject = 0
    s.solve_tries = 0
    s.n_undone = 0
    s.final_status = STATUS_NONE
    s.next_restart = opts_i[O_RESTART] * (w.x.shape[0] + 1)
    s.restarts = 0
    s.solver = SOLVER_CHOLESKY if opts_i[O_SOLVER] == SOLVER_AUTO else opts_i[O_SOLVER]
    s.cost = 0.0
    s.cost_new = 0.0
    s.lam = 0.0
    s.nu = 2.0
    s.alpha = 1.0
    s.radius = 0.0
    s.step_norm = 0.0
    s.optimality = 0.0
    s.actual = 0.0
    s.pred = 0.0
    s.gain = 0.0
    s.slope = 0.0
    s.x_norm = 0.0
    s.last_step = 0.0
    s.trial_lam = 0.0
    s.jp_sq = 0.0
    s.try_gn = opts_i[O_HESSIAN] == HESSIAN_EXACT  # Newton's first trial is the undamped Newton step
    s.no_gn = False
    s.final_step = False
    s.secant_ready = False
    s.use_s = False
    s.trial_unevaluated = False
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
    s = w.state[0]
    s.status = status
    s.phase = PHASE_DONE
    return TASK_DONE


@jit
def request_trial(w):
    """Ask the driver for the residuals at ``x_new`` (judged in ``PHASE_AFTER_TRIAL``)."""
    s = w.state[0]
    s.nfev += 1
    s.phase = PHASE_AFTER_TRIAL
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
    s = w.state[0]
    copy(w.x_prev, w.x)
    copy(w.x, w.x_new)
    copy(w.r, w.r_new)
    if loss != LOSS_LINEAR:
        copy2(w.rho, w.rho_new)
    s.cost = cost_new
    s.last_step = s.step_norm
