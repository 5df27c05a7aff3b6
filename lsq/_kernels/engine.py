r"""The least-squares engine: one damped-step algorithm for Gauss-Newton, Levenberg and LM.

Minimise ``F(x) = 0.5 * sum(rho(f_i(x)**2))`` subject to ``lb <= x <= ub``. At an accepted point ``x``:

1. Linearise: scale ``J`` and ``f`` for the robust loss (SciPy's rule), ``g = J^T f``, update the variable
   scaling ``d``, test ``gtol``, fix the variables held at a bound by the gradient (active set), and factor
   (``A = J^T J`` for Cholesky, ``J = QR`` for QR) on the free variables.
2. Trial: ``(A + lam*diag(d)) delta = -g``, ``p = clip(x + alpha*delta) - x``, predicted reduction
   ``pred = -(g.p + 0.5 |J p|^2)``.
3. Judge: ``rho = (F(x) - F(x + p)) / pred``; accept when ``rho > 1e-4`` and ``F`` is finite, move
   ``lam``/``alpha`` by the damping rule, test ``ftol``/``xtol``; go to 1 after an accepted step, to 2 after
   a rejected one. Non-finite residuals at a trial point count as a rejected step.
4. Guard: an accepted step after which a column of ``J`` collapsed (a plateau where the residuals no
   longer depend on a parameter) is undone and damped (:func:`_undo_step`).
5. Stop: on a confirmed step test or stagnation, one last Gauss-Newton step is evaluated and kept unless
   the cost rose above its rounding level (:func:`_polish`).

The engine never calls the residual function. It is a reverse-communication state machine:
:func:`advance` returns a task (evaluate ``f`` at ``x_new``, or ``J`` at ``x``) and is called again once
the driver has filled the buffer. The Python driver (arbitrary user functions), the compiled driver
(numba models) and the batch kernel all run this same code.
"""

import math

from .._jit import jit_engine as jit
from .codes import (
    F_ACTUAL,
    F_ALPHA,
    F_COST,
    F_COST_NEW,
    F_JP_SQ,
    F_LAM,
    F_LAST_STEP,
    F_NO_GN,
    F_NU,
    F_OPTIMALITY,
    F_POLISH,
    F_PRED,
    F_RHO,
    F_STEP_NORM,
    F_TRIAL_LAM,
    F_TRY_GN,
    F_X_NORM,
    I_HIST,
    I_NFEV,
    I_NFREE,
    I_NIT,
    I_NJEV,
    I_NREJECT,
    I_PENDING,
    I_PHASE,
    I_SOLVE_TRIES,
    I_STATUS,
    I_UNDONE,
    LOSS_CALLABLE,
    LOSS_LINEAR,
    NO_PENDING,
    O_BOUNDED,
    O_F_SCALE,
    O_FTOL,
    O_GTOL,
    O_LOSS,
    O_MAX_NFEV,
    O_MAX_NIT,
    O_RULE,
    O_SCALING,
    O_SOLVER,
    O_TAU,
    O_XTOL,
    PHASE_AFTER_F0,
    PHASE_AFTER_GRADIENT,
    PHASE_AFTER_J,
    PHASE_AFTER_JP,
    PHASE_AFTER_SOLVE,
    PHASE_AFTER_TRIAL,
    PHASE_DONE,
    PHASE_START,
    RULE_BACKTRACK,
    SCALING_JAC,
    SOLVER_CHOLESKY,
    SOLVER_EXTERNAL,
    SOLVER_NORMAL,
    SOLVER_QR,
    STATUS_FTOL,
    STATUS_FTOL_XTOL,
    STATUS_GTOL,
    STATUS_MAX_NFEV,
    STATUS_NONFINITE,
    STATUS_XTOL,
    TASK_DONE,
    TASK_EVAL_F,
    TASK_EVAL_J,
    TASK_EVAL_JP,
    TASK_GRADIENT,
    TASK_SOLVE,
)
from .damping import ACCEPT_RATIO, LAM_MAX, initial_lambda, update_damping
from .linalg import back_substitute, cholesky_factor, cholesky_solve, householder_triangularize
from .losses import residual_cost
from .termination import ftol_reached, gtol_reached, step_status, xtol_reached

EPS = 2.220446049250313e-16
MAX_SOLVE_TRIES = 80
GN_TRY_RATIO = 0.75
COLLAPSE = 1e-12
"""A step after which a squared column norm of ``J`` is below this fraction of its value before is undone."""
MAX_UNDO = 30
"""Undone steps per fit; past this the fit goes on from wherever its steps lead (no undo cycles)."""
POLISH_SLACK = 32.0
"""The final Gauss-Newton step is kept unless the cost rose by more than this many ``eps * F``."""


@jit
def advance(w, opts_f, opts_i):
    """Run the engine until it needs a residual or a Jacobian evaluation, or is done.

    Parameters
    ----------
    w : Workspace
        Buffers and state (see :func:`lsq._workspace.make_workspace`); ``w.x`` holds ``x0`` at start.
    opts_f, opts_i : ndarray
        Lowered options (see :mod:`lsq._kernels.codes` for the slots).

    Returns
    -------
    task : int
        ``TASK_EVAL_F``, ``TASK_EVAL_J`` or ``TASK_DONE``.
    """
    ist = w.ist
    phase = ist[I_PHASE]
    if phase == PHASE_START:
        _copy(w.x_new, w.x)
        ist[I_NFEV] += 1
        ist[I_PHASE] = PHASE_AFTER_F0
        return TASK_EVAL_F
    if phase == PHASE_AFTER_F0:
        cost = _evaluate_cost(w, opts_f, opts_i)
        _copy(w.r, w.r_new)
        _copy2(w.rho, w.rho_new)
        w.fst[F_COST] = cost
        if not math.isfinite(cost):
            return _finish(w, STATUS_NONFINITE)
        ist[I_PHASE] = PHASE_AFTER_J
        return TASK_EVAL_J
    if phase == PHASE_AFTER_J:
        return _after_jacobian(w, opts_f, opts_i)
    if phase == PHASE_AFTER_TRIAL:
        return _after_trial(w, opts_f, opts_i)
    if phase == PHASE_AFTER_GRADIENT:
        return _after_gradient(w, opts_f, opts_i)
    if phase == PHASE_AFTER_SOLVE:
        return _after_solve(w, opts_f, opts_i)
    if phase == PHASE_AFTER_JP:
        return _after_model(w, w.fst[F_JP_SQ], opts_f, opts_i)
    return TASK_DONE


@jit
def _copy(dst, src):
    for i in range(dst.shape[0]):
        dst[i] = src[i]


@jit
def _copy2(dst, src):
    for k in range(dst.shape[0]):
        for i in range(dst.shape[1]):
            dst[k, i] = src[k, i]


@jit
def _finish(w, status):
    w.ist[I_STATUS] = status
    w.ist[I_PHASE] = PHASE_DONE
    return TASK_DONE


@jit
def _evaluate_cost(w, opts_f, opts_i):
    loss = opts_i[O_LOSS]
    return residual_cost(w.r_new, w.rho_new, w.r_new.shape[0], loss, opts_f[O_F_SCALE],
                         loss == LOSS_CALLABLE)


@jit
def _after_jacobian(w, opts_f, opts_i):
    w.ist[I_NJEV] += 1
    _scale_for_loss(w, opts_i[O_LOSS])
    if opts_i[O_SOLVER] == SOLVER_NORMAL or opts_i[O_SOLVER] == SOLVER_EXTERNAL:
        w.ist[I_PHASE] = PHASE_AFTER_GRADIENT
        return TASK_GRADIENT
    _gradient_and_column_norms(w)
    return _after_gradient(w, opts_f, opts_i)


@jit
def _after_gradient(w, opts_f, opts_i):
    ist = w.ist
    fst = w.fst
    n = w.x.shape[0]
    for j in range(n):
        if not math.isfinite(w.colsq[j]):  # inf or NaN anywhere in column j
            return _finish(w, STATUS_NONFINITE)
    pending = ist[I_PENDING]
    if (ist[I_NIT] > 0 and ist[I_UNDONE] < MAX_UNDO and (pending == NO_PENDING or _is_step_test(pending))
            and _sensitivity_lost(w)):
        return _undo_step(w, opts_i)
    _copy(w.colsq_prev, w.colsq)
    first = ist[I_NJEV] == 1
    if opts_i[O_SCALING] == SCALING_JAC:
        for j in range(n):
            c = w.colsq[j]
            if first:
                w.d[j] = c if c > 0.0 else 1.0
            elif c > w.d[j]:
                w.d[j] = c
    if first:
        ratio = 0.0
        for j in range(n):
            ratio = max(ratio, w.colsq[j] / w.d[j])
        fst[F_LAM] = initial_lambda(opts_i[O_RULE], opts_f[O_TAU], ratio)
        fst[F_NU] = 2.0
        fst[F_ALPHA] = 1.0
    fst[F_OPTIMALITY] = _optimality(w, opts_i[O_BOUNDED])
    fst[F_X_NORM] = _scaled_norm(w.x, w.d)
    _record_history(w)
    if pending != NO_PENDING and not _is_step_test(pending):
        return _finish(w, pending)
    if gtol_reached(fst[F_OPTIMALITY], opts_f[O_GTOL]):
        return _finish(w, STATUS_GTOL)
    if ist[I_NFEV] >= opts_i[O_MAX_NFEV] or ist[I_NIT] >= opts_i[O_MAX_NIT]:
        return _finish(w, STATUS_MAX_NFEV)
    _select_free(w, opts_i[O_BOUNDED])
    _factor(w, opts_i[O_SOLVER])
    return _propose(w, opts_f, opts_i)


@jit
def _sensitivity_lost(w):
    """True when the last step wiped out a column of ``J`` (its norm fell by more than ``1e6``).

    That is a step onto a plateau where the residuals no longer depend on some parameter (an exponential
    that underflows, a saturated rational): the gain ratio can look fine, but no later step can bring
    the parameter back, and the fit ends far from the minimum (BoxBOD from its first NIST start).
    """
    for j in range(w.x.shape[0]):
        if w.colsq[j] < COLLAPSE * w.colsq_prev[j]:
            return True
    return False


@jit
def _undo_step(w, opts_i):
    """Go back to the point before the last step, damp as after a rejected step, and re-linearise there."""
    ist = w.ist
    fst = w.fst
    ist[I_NIT] -= 1
    ist[I_UNDONE] += 1
    ist[I_PENDING] = NO_PENDING
    _copy(w.x, w.x_prev)
    _copy(w.x_new, w.x_prev)
    fst[F_TRY_GN] = 0.0
    update_damping(opts_i[O_RULE], False, -math.inf, fst)
    ist[I_NFEV] += 1
    ist[I_PHASE] = PHASE_AFTER_F0
    return TASK_EVAL_F


@jit
def _is_step_test(status):
    return status == STATUS_FTOL or status == STATUS_XTOL or status == STATUS_FTOL_XTOL


@jit
def _scale_for_loss(w, loss):
    """Replace ``J`` and ``fs`` by their robust-loss versions (SciPy's ``scale_for_robust_loss_function``)."""
    n, mj = w.Jt.shape  # mj = 0 when the driver holds J
    m = w.r.shape[0]
    if loss == LOSS_LINEAR:
        _copy(w.fs, w.r)
        return
    for i in range(m):
        s = w.rho[1, i] + 2.0 * w.rho[2, i] * w.r[i] * w.r[i]
        if s < EPS:
            s = EPS
        s = s**0.5
        w.fs[i] = w.r[i] * (w.rho[1, i] / s)
        w.row_scale[i] = s
    for j in range(n):
        row = w.Jt[j]
        for i in range(mj):
            row[i] *= w.row_scale[i]


@jit
def _gradient_and_column_norms(w):
    n, m = w.Jt.shape
    for j in range(n):
        row = w.Jt[j]
        g = 0.0
        c = 0.0
        for i in range(m):
            v = row[i]
            g += v * w.fs[i]
            c += v * v
        w.g[j] = g
        w.colsq[j] = c


@jit
def _optimality(w, bounded):
    """``||g * v||_inf`` with the Coleman-Li scaling ``v`` (distance to the bound the gradient points at)."""
    best = 0.0
    for j in range(w.x.shape[0]):
        v = 1.0
        if bounded:
            if w.g[j] < 0.0 and math.isfinite(w.ub[j]):
                v = w.ub[j] - w.x[j]
            elif w.g[j] > 0.0 and math.isfinite(w.lb[j]):
                v = w.x[j] - w.lb[j]
        best = max(best, abs(w.g[j] * v))
    return best


@jit
def _scaled_norm(v, d):
    s = 0.0
    for j in range(v.shape[0]):
        s += d[j] * v[j] * v[j]
    return math.sqrt(s)


@jit
def _record_history(w):
    k = w.ist[I_HIST]
    if k < w.hist.shape[0]:
        w.hist[k, 0] = w.fst[F_COST]
        w.hist[k, 1] = w.fst[F_LAM]
        w.hist[k, 2] = w.fst[F_LAST_STEP]
        w.hist[k, 3] = w.fst[F_OPTIMALITY]
        w.hist[k, 4] = w.ist[I_NFEV]
        w.ist[I_HIST] = k + 1


@jit
def _select_free(w, bounded):
    """Free variables: all, except those at a bound with the gradient pushing outwards."""
    nf = 0
    for j in range(w.x.shape[0]):
        held = False
        if bounded:
            held = (w.x[j] <= w.lb[j] and w.g[j] > 0.0) or (w.x[j] >= w.ub[j] and w.g[j] < 0.0)
        if not held:
            w.free[nf] = j
            nf += 1
    w.ist[I_NFREE] = nf


@jit
def _factor(w, solver):
    """Factor the linearisation on the free variables: ``A = J^T J`` (Cholesky) or ``[J | f] -> [R | Q^T f]``."""
    m = w.Jt.shape[1]
    nf = w.ist[I_NFREE]
    if solver == SOLVER_NORMAL:
        # The driver wrote the full J^T J; restrict it to the free variables in place (free is increasing,
        # so every entry is read before it is overwritten).
        for a in range(nf):
            for b in range(nf):
                w.A[a, b] = w.A[w.free[a], w.free[b]]
    elif solver == SOLVER_CHOLESKY:
        for a in range(nf):
            ra = w.Jt[w.free[a]]
            for b in range(a + 1):
                rb = w.Jt[w.free[b]]
                s = 0.0
                for i in range(m):
                    s += ra[i] * rb[i]
                w.A[a, b] = s
                w.A[b, a] = s
    elif solver == SOLVER_QR:
        for a in range(nf):
            ra = w.Jt[w.free[a]]
            for i in range(m):
                w.QJ[a, i] = ra[i]
        for i in range(m):
            w.QJ[nf, i] = w.fs[i]
        householder_triangularize(w.QJ, m, nf, nf + 1)


@jit
def _solve_damped(w, lam, solver):
    """Solve ``(A + lam*diag(d)) delta = -g`` on the free variables into ``w.delta[:nf]``."""
    m = w.Jt.shape[1]
    nf = w.ist[I_NFREE]
    if solver != SOLVER_QR:
        for a in range(nf):
            for b in range(nf):
                w.L[a, b] = w.A[a, b]
            w.L[a, a] += lam * w.d[w.free[a]]
            w.rhs[a] = -w.g[w.free[a]]
        if not cholesky_factor(w.L, nf, w.L):
            return False
        cholesky_solve(w.L, nf, w.rhs, w.delta)
    else:
        k = min(m, nf)
        S = w.S
        for b in range(nf + 1):
            for a in range(k + nf):
                S[b, a] = 0.0
        for b in range(nf + 1):
            for a in range(min(k, b + 1)):
                S[b, a] = w.QJ[b, a]
        for a in range(nf):
            S[a, k + a] = math.sqrt(lam * w.d[w.free[a]])
        householder_triangularize(S, k + nf, nf, nf + 1)
        for a in range(nf):
            w.rhs[a] = -S[nf, a]
        if not back_substitute(S, nf, w.rhs, w.delta):
            return False
    return _delta_finite(w)


@jit
def _delta_finite(w):
    for a in range(w.ist[I_NFREE]):
        if not math.isfinite(w.delta[a]):
            return False
    return True


@jit
def _quadratic_term(w, solver):
    """``|J p|^2`` for the step ``p`` on the free variables, from the factorisation."""
    m = w.Jt.shape[1]
    nf = w.ist[I_NFREE]
    q = 0.0
    if solver == SOLVER_QR:
        for a in range(min(m, nf)):
            s = 0.0
            for b in range(a, nf):
                s += w.QJ[b, a] * w.p[w.free[b]]
            q += s * s
    else:
        for a in range(nf):
            s = 0.0
            for b in range(nf):
                s += w.A[a, b] * w.p[w.free[b]]
            q += s * w.p[w.free[a]]
    return q


@jit
def _propose(w, opts_f, opts_i):
    """Start a trial: pick ``lam`` (0 for a Gauss-Newton try) and solve for the step."""
    fst = w.fst
    fst[F_TRIAL_LAM] = 0.0 if fst[F_TRY_GN] > 0.0 else fst[F_LAM]
    w.ist[I_SOLVE_TRIES] = 0
    return _next_solve(w, opts_f, opts_i)


@jit
def _next_solve(w, opts_f, opts_i):
    """Solve the damped system at ``F_TRIAL_LAM`` (or ask the driver to), damping harder until it solves.

    Ends with no finite step (status -3) only when even heavy damping gives none.
    """
    solver = opts_i[O_SOLVER]
    while w.ist[I_SOLVE_TRIES] < MAX_SOLVE_TRIES:
        w.ist[I_SOLVE_TRIES] += 1
        if solver == SOLVER_EXTERNAL:
            w.ist[I_PHASE] = PHASE_AFTER_SOLVE
            return TASK_SOLVE
        if _solve_damped(w, w.fst[F_TRIAL_LAM], solver):
            return _place_step(w, opts_f, opts_i)
        _damp_harder(w)
    return _finish(w, STATUS_NONFINITE)


@jit
def _after_solve(w, opts_f, opts_i):
    if _delta_finite(w):
        return _place_step(w, opts_f, opts_i)
    _damp_harder(w)
    return _next_solve(w, opts_f, opts_i)


@jit
def _damp_harder(w):
    """Singular or non-finite system: damp harder (for Gauss-Newton this is the damped fallback)."""
    fst = w.fst
    if fst[F_TRY_GN] > 0.0:
        # J^T J itself is singular; that is structural as a rule (e.g. the gauge freedom of bundle
        # adjustment), so later Gauss-Newton tries would fail the same way: stop making them
        fst[F_TRY_GN] = 0.0
        fst[F_NO_GN] = 1.0
        fst[F_TRIAL_LAM] = fst[F_LAM]
        return
    lam_floor = 0.0
    for j in range(w.x.shape[0]):
        lam_floor = max(lam_floor, w.colsq[j] / w.d[j])
    lam_floor *= 1e-12
    fst[F_TRIAL_LAM] = max(10.0 * fst[F_TRIAL_LAM], lam_floor if lam_floor > 0.0 else 1e-300)


@jit
def _place_step(w, opts_f, opts_i):
    """Trial point ``x_new = clip(x + alpha*delta)``, its scaled step norm, then the model's prediction."""
    fst = w.fst
    if opts_i[O_RULE] != RULE_BACKTRACK and fst[F_TRY_GN] == 0.0:
        fst[F_LAM] = fst[F_TRIAL_LAM]
    _place(w, fst[F_ALPHA], opts_i[O_BOUNDED])
    if opts_i[O_SOLVER] == SOLVER_EXTERNAL:
        w.ist[I_PHASE] = PHASE_AFTER_JP
        return TASK_EVAL_JP
    return _after_model(w, _quadratic_term(w, opts_i[O_SOLVER]), opts_f, opts_i)


@jit
def _place(w, alpha, bounded):
    """``x_new = clip(x + alpha*delta)``, ``p = x_new - x`` and its scaled norm."""
    for j in range(w.x.shape[0]):
        w.p[j] = 0.0
        w.x_new[j] = w.x[j]
    for a in range(w.ist[I_NFREE]):
        j = w.free[a]
        xj = w.x[j] + alpha * w.delta[a]
        if bounded:
            xj = min(max(xj, w.lb[j]), w.ub[j])
        w.x_new[j] = xj
        w.p[j] = xj - w.x[j]
    w.fst[F_STEP_NORM] = _scaled_norm(w.p, w.d)


@jit
def _after_model(w, q, opts_f, opts_i):
    """Predicted reduction ``-(g.p + 0.5 q)`` with ``q = |J p|^2``; then confirm a pending step test or
    request the trial evaluation."""
    fst = w.fst
    gp = 0.0
    for a in range(w.ist[I_NFREE]):
        gp += w.g[w.free[a]] * w.p[w.free[a]]
    fst[F_PRED] = -(gp + 0.5 * q)
    pending = w.ist[I_PENDING]
    if _is_step_test(pending):
        # A step test held on the last accepted step; stop only if the model at the new point agrees
        # that the next step would change the cost (ftol) or the point (xtol) as little.
        ftol_ok = fst[F_PRED] <= opts_f[O_FTOL] * fst[F_COST]
        xtol_ok = xtol_reached(fst[F_STEP_NORM], fst[F_X_NORM], opts_f[O_XTOL])
        status = step_status(ftol_ok and pending != STATUS_XTOL, xtol_ok and pending != STATUS_FTOL)
        if status != 0:
            return _polish(w, status, True, opts_i)
        w.ist[I_PENDING] = NO_PENDING
    return _request_trial(w)


@jit
def _request_trial(w):
    w.ist[I_NFEV] += 1
    w.ist[I_PHASE] = PHASE_AFTER_TRIAL
    return TASK_EVAL_F


@jit
def _actual_reduction(w, loss):
    """``F(x) - F(x_new)`` summed term by term: ``0.5 (r - r_new)(r + r_new)`` for the linear loss.

    Near a minimum the two costs agree to the last digit while the residuals still differ, so the
    difference of the two sums is rounding noise; the sum of differences resolves the decrease down to
    the rounding of the residuals themselves, which the final digits of the parameters need.
    """
    s = 0.0
    if loss == LOSS_LINEAR:
        for i in range(w.r.shape[0]):
            s += (w.r[i] - w.r_new[i]) * (w.r[i] + w.r_new[i])
    else:
        for i in range(w.r.shape[0]):
            s += w.rho[0, i] - w.rho_new[0, i]
    return 0.5 * s


@jit
def _polish(w, status, trial_unevaluated, opts_i):
    """The fit stops with ``status``; first evaluate one last Gauss-Newton step from ``x`` and keep it
    unless the cost rose above its rounding level (:func:`_after_polish`). Near a minimum that step is
    worth digits in ``x`` that the cost cannot resolve any more.

    Without an undamped step (singular ``J^T J``, a driver-side solver) the pending damped trial is
    evaluated instead if it has not been (``trial_unevaluated``). The kept step is not an iteration:
    ``nit`` and the history count linearisations, and the returned ``x`` is one step past the last.
    """
    fst = w.fst
    if w.ist[I_NFEV] >= opts_i[O_MAX_NFEV]:
        return _finish(w, status)
    solver = opts_i[O_SOLVER]
    if fst[F_TRIAL_LAM] == 0.0 and not trial_unevaluated:
        # the trial just rejected was the Gauss-Newton step itself
        if _not_worse_to_rounding(w, fst[F_COST_NEW], fst[F_ACTUAL]):
            _keep_trial_point(w, fst[F_COST_NEW], opts_i[O_LOSS])
        return _finish(w, status)
    if solver != SOLVER_EXTERNAL and _solve_damped(w, 0.0, solver):
        _place(w, 1.0, opts_i[O_BOUNDED])
    elif not trial_unevaluated:
        return _finish(w, status)
    w.ist[I_PENDING] = status
    fst[F_POLISH] = 1.0
    return _request_trial(w)


@jit
def _after_polish(w, opts_f, opts_i):
    """Keep the last step unless the cost rose above its rounding level (no new linearisation), and stop.

    At a converged point the cost is flat to its last digits, so equal costs up to rounding cannot
    rank the two points; the step, which zeroes the model's gradient, is then the better estimate.
    """
    cost_new = _evaluate_cost(w, opts_f, opts_i)
    if _not_worse_to_rounding(w, cost_new, _actual_reduction(w, opts_i[O_LOSS])):
        _keep_trial_point(w, cost_new, opts_i[O_LOSS])
    return _finish(w, w.ist[I_PENDING])


@jit
def _not_worse_to_rounding(w, cost_new, actual):
    """The final step's cost is finite and above ``F`` by at most ``POLISH_SLACK * eps * F``."""
    return math.isfinite(cost_new) and actual >= -POLISH_SLACK * EPS * w.fst[F_COST]


@jit
def _keep_trial_point(w, cost_new, loss):
    _copy(w.x_prev, w.x)
    _copy(w.x, w.x_new)
    _copy(w.r, w.r_new)
    if loss != LOSS_LINEAR:
        _copy2(w.rho, w.rho_new)
    w.fst[F_COST] = cost_new
    w.fst[F_LAST_STEP] = w.fst[F_STEP_NORM]


@jit
def _after_trial(w, opts_f, opts_i):
    ist = w.ist
    fst = w.fst
    if fst[F_POLISH] > 0.0:
        return _after_polish(w, opts_f, opts_i)
    cost_new = _evaluate_cost(w, opts_f, opts_i)
    fst[F_COST_NEW] = cost_new
    actual = _actual_reduction(w, opts_i[O_LOSS]) if math.isfinite(cost_new) else -math.inf
    pred = fst[F_PRED]
    if math.isfinite(cost_new) and pred > 0.0:
        ratio = actual / pred
    else:
        ratio = -math.inf
    fst[F_ACTUAL] = actual
    fst[F_RHO] = ratio
    # the summed cost must not rise either (by an ulp), so the recorded costs never increase
    accepted = ratio > ACCEPT_RATIO and actual > 0.0 and cost_new <= fst[F_COST]
    ftol_ok = accepted and ftol_reached(actual, fst[F_COST], ratio, opts_f[O_FTOL])
    xtol_ok = xtol_reached(fst[F_STEP_NORM], fst[F_X_NORM], opts_f[O_XTOL])
    status = step_status(ftol_ok, xtol_ok)
    if not accepted:
        # A rejected step is small because of damping, not convergence: stop only when the damping
        # cannot grow further or the step is below the resolution of x (stagnation), and then whatever
        # the tolerances, since no later trial can differ from this one.
        stagnant = fst[F_STEP_NORM] <= EPS * fst[F_X_NORM] or fst[F_LAM] >= LAM_MAX
        if not stagnant:
            status = 0
        elif status == 0:
            status = STATUS_XTOL
    tried_gn = fst[F_TRY_GN] > 0.0
    if accepted or not tried_gn:
        update_damping(opts_i[O_RULE], accepted, ratio, fst)
    # After a step the model predicted well, try the undamped Gauss-Newton step first: it converges
    # quadratically near a small-residual solution (and exactly on linear problems); a failed try costs
    # one evaluation and leaves lam untouched.
    try_gn = accepted and ratio > GN_TRY_RATIO and opts_i[O_RULE] != RULE_BACKTRACK and fst[F_NO_GN] == 0.0
    fst[F_TRY_GN] = 1.0 if try_gn else 0.0
    out_of_budget = ist[I_NFEV] >= opts_i[O_MAX_NFEV]
    if accepted:
        _keep_trial_point(w, cost_new, opts_i[O_LOSS])
        ist[I_NIT] += 1
        ist[I_NREJECT] = 0
        if status != 0:
            ist[I_PENDING] = status
        elif out_of_budget:
            ist[I_PENDING] = STATUS_MAX_NFEV
        ist[I_PHASE] = PHASE_AFTER_J
        return TASK_EVAL_J
    ist[I_NREJECT] += 1
    if status != 0:
        return _polish(w, status, False, opts_i)
    if out_of_budget:
        return _finish(w, STATUS_MAX_NFEV)
    return _propose(w, opts_f, opts_i)


@jit
def reset(w, opts_i):
    """Put a workspace back to its start state (``w.x`` must hold the new ``x0``)."""
    for k in range(w.ist.shape[0]):
        w.ist[k] = 0
    w.ist[I_PENDING] = NO_PENDING
    for k in range(w.fst.shape[0]):
        w.fst[k] = 0.0
    w.fst[F_ALPHA] = 1.0
    w.fst[F_NU] = 2.0
    if opts_i[O_SCALING] == SCALING_JAC:
        for j in range(w.d.shape[0]):
            w.d[j] = 1.0
    w.ist[I_PHASE] = PHASE_START
