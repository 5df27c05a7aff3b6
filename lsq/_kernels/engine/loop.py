r"""The least-squares engine: one damped-step algorithm for Gauss-Newton, Levenberg and LM.

Minimise ``F(x) = 0.5 * sum(rho(f_i(x)**2))`` subject to ``lb <= x <= ub``. At an accepted point ``x``:

1. Linearise (:mod:`.linearize`): scale ``J`` and ``f`` for the robust loss (SciPy's rule), ``g = J^T f``,
   update the variable scaling ``d``, test ``gtol``, fix the variables held at a bound by the gradient
   (active set), and factor on the free variables (:mod:`.descent`).
2. Trial (:mod:`.descent`): ``(A + lam*diag(d)) delta = -g`` with ``lam`` from the damping rule, or solved
   so that the step fills a trust region; ``p = clip(x + alpha*delta) - x``, predicted reduction
   ``pred = -(g.p + 0.5 |J p|^2)``.
3. Judge: ``gain = (F(x) - F(x + p)) / pred``; accept when ``gain > 1e-4`` and ``F`` is finite, move
   ``lam``/``alpha``/the radius by the damping rule (:mod:`.damping`), test ``ftol``/``xtol``
   (:mod:`.termination`); go to 1 after an accepted step, to 2 after a rejected one. Non-finite residuals
   at a trial point count as a rejected step.
4. Guard (:mod:`.safeguards`): an accepted step after which a column of ``J`` collapsed is undone; on a
   confirmed step test or stagnation one last Gauss-Newton step is evaluated and kept unless the cost rose
   above its rounding level.

The engine never calls the residual function. It is a reverse-communication state machine:
:func:`advance` returns a task (evaluate ``f`` at ``x_new``, or ``J`` at ``x``) and is called again once
the driver has filled the buffer. The Python driver (arbitrary user functions), the compiled driver
(numba models) and the batch kernels all run this same code (:mod:`lsq._kernels.engine.entry` says where it
is compiled). Its scalar state is two plain arrays, ``w.si`` and ``w.sf``, whose slots :mod:`.layout` names.

Shaped for compile time: each stage of an iteration is a function of its own that never calls another
stage; it sets the next phase and returns ``TASK_CONTINUE``, and :func:`advance` (inlined where the engine is compiled)
calls the next stage. Numba links a callee's compiled code into its caller and optimises it there again, so
stages calling stages compiled the deep ones once per level (a least-squares fit's first call: 51 s with
chained stages, 41 s flat, on a 2-core EPYC), and a driver linking the engine compiled it once more: called
at its address, it is compiled once. The small pieces the stages use are inlined (``jit_inline``).
"""

import math

from ..._setup.jit import jit_inline
from ..._setup.jit import jit_stage as jit
from . import codes as c
from . import damping, descent, linearize, safeguards, second_order, state, termination
from .layout import (
    ACTUAL,
    ALPHA,
    COST,
    COST_NEW,
    FINAL_STEP,
    GAIN,
    HIST_ROWS,
    JP_SQ,
    LAM,
    LAST_STEP,
    N_REJECT,
    N_UNDONE,
    NEXT_RESTART,
    NFD,
    NFEV,
    NFREE,
    NIT,
    NJEV,
    NO_GN,
    NU,
    OPTIMALITY,
    PENDING,
    PHASE,
    PRED,
    RADIUS,
    RESTARTS,
    SLOPE,
    SOLVE_TRIES,
    SOLVER,
    STEP_NORM,
    TRIAL_LAM,
    TRY_GN,
    X_NORM,
)

MAX_SOLVE_TRIES = 80
GN_TRY_RATIO = 0.75


@jit_inline
def advance(w, opts_f, opts_i):
    """Run the engine until it needs a residual or a Jacobian evaluation, or is done.

    Parameters
    ----------
    w : Workspace
        Buffers and state (see :func:`lsq._setup.workspace.make_workspace`); ``w.x`` holds ``x0`` at start.
    opts_f, opts_i : ndarray
        Lowered options (see :mod:`lsq._kernels.engine.codes` for the slots).

    Returns
    -------
    task : int
        One of the ``TASK_*`` codes.
    """
    si = w.si
    while True:
        phase = si[PHASE]
        if phase == c.PHASE_START or phase == c.PHASE_RESET:
            return _start(w, opts_i)
        if phase == c.PHASE_AFTER_F0:
            return _after_start(w, opts_f, opts_i)
        if phase == c.PHASE_AFTER_J:
            task = _after_jacobian(w, opts_i)
        elif phase == c.PHASE_AFTER_GRADIENT:
            task = _after_gradient(w, opts_f, opts_i)
        elif phase == c.PHASE_PROPOSE:
            task = _propose(w, opts_i)
        elif phase == c.PHASE_NEXT_SOLVE:
            task = _next_solve(w, opts_i)
        elif phase == c.PHASE_AFTER_SOLVE:
            task = _after_solve(w)
        elif phase == c.PHASE_PLACE_STEP:
            task = _place_step(w, opts_i)
        elif phase == c.PHASE_AFTER_JP:
            task = _after_model(w, opts_f)
        elif phase == c.PHASE_AFTER_TRIAL:
            task = _after_trial(w, opts_f, opts_i)
        elif phase == c.PHASE_FINAL_STEP:
            task = safeguards.final_gauss_newton_step(w, opts_i)
        elif phase == c.PHASE_FINAL_J:
            si[NJEV] += 1
            return safeguards.finish_at_final_jacobian(w, opts_i[c.O_LOSS])
        else:
            return c.TASK_DONE
        if task != c.TASK_CONTINUE:
            return task


@jit_inline
def _start(w, opts_i):
    """Ask for the residuals at ``x0`` (first putting the workspace back to its start state for ``PHASE_RESET``)."""
    si = w.si
    if si[PHASE] == c.PHASE_RESET:
        state.reset(w, opts_i)
    state.copy(w.x_new, w.x)
    si[NFEV] += 1
    si[PHASE] = c.PHASE_AFTER_F0
    return c.TASK_EVAL_F


@jit
def _after_start(w, opts_f, opts_i):
    """The residuals at ``x0`` are in: their cost, then ask for the first Jacobian."""
    si, sf = w.si, w.sf
    cost = state.trial_cost(w, opts_f, opts_i)
    state.copy(w.r, w.r_new)
    state.copy2(w.rho, w.rho_new)
    sf[COST] = cost
    if not math.isfinite(cost):
        return state.finish(w, c.STATUS_NONFINITE)
    si[PHASE] = c.PHASE_AFTER_J
    return c.TASK_EVAL_J


@jit
def _after_jacobian(w, opts_i):
    si = w.si
    si[NJEV] += 1
    linearize.scale_for_loss(w, opts_i[c.O_LOSS])
    si[PHASE] = c.PHASE_AFTER_GRADIENT
    if opts_i[c.O_SOLVER] == c.SOLVER_NORMAL or opts_i[c.O_SOLVER] == c.SOLVER_EXTERNAL:
        return c.TASK_GRADIENT
    linearize.gradient_and_column_norms(w)
    second_order.secant_update(w, opts_i[c.O_HESSIAN])
    return c.TASK_CONTINUE


@jit
def _after_gradient(w, opts_f, opts_i):
    si, sf = w.si, w.sf
    n = w.x.shape[0]
    for j in range(n):
        if not math.isfinite(w.colsq[j]):  # inf or NaN anywhere in column j
            return state.finish(w, c.STATUS_NONFINITE)
    pending = si[PENDING]
    sf[OPTIMALITY] = linearize.optimality(w, opts_i[c.O_BOUNDED])
    # a collapsed column at a stationary point is a minimum where J vanishes (x**2 + 5 at 0), not a plateau
    if (si[NIT] > 0 and si[N_UNDONE] < safeguards.MAX_UNDO and (pending == c.STATUS_NONE or state.is_step_test(pending))
            and not termination.gtol_reached(sf[OPTIMALITY], opts_f[c.O_GTOL]) and safeguards.sensitivity_lost(w)):
        return safeguards.undo_step(w, opts_i)
    state.copy(w.colsq_prev, w.colsq)
    first = si[NJEV] == 1
    if not first and si[NEXT_RESTART] > 0 and si[NFEV] >= si[NEXT_RESTART]:
        # No convergence within MINPACK's budget: Moré's running maximum may hold scales taken far from
        # here (a far start's column norms), which cut the steps in some variables to a crawl. Take the
        # scaling and the trust region again as at a start, at this point.
        si[RESTARTS] += 1
        si[NEXT_RESTART] = si[NFEV] + opts_i[c.O_RESTART] * (n + 1)
        first = True
    if opts_i[c.O_SCALING] == c.SCALING_JAC:
        x_norm_before = descent.scaled_norm(w.x, w.d)
        linearize.update_scaling(w, first)
        if not first and x_norm_before > 0.0 and opts_i[c.O_LOSS] != c.LOSS_LINEAR:
            # A robust loss reweights the rows at every point, so the column norms (and d) move with the
            # weights, by many orders once outliers turn inliers: keep the radius, a length in the scaled
            # variables, the same size relative to the point.
            sf[RADIUS] *= descent.scaled_norm(w.x, w.d) / x_norm_before
    if first:
        ratio = 0.0
        for j in range(n):
            ratio = max(ratio, w.colsq[j] / w.d[j])
        sf[LAM] = damping.initial_lambda(opts_i[c.O_RULE], opts_f[c.O_TAU], ratio)
        sf[NU] = 2.0
        sf[ALPHA] = 1.0
    sf[X_NORM] = descent.scaled_norm(w.x, w.d)
    if first:
        sf[RADIUS] = opts_f[c.O_FACTOR] * sf[X_NORM] if sf[X_NORM] > 0.0 else opts_f[c.O_FACTOR]
    _record_history(w)
    if pending != c.STATUS_NONE and not state.is_step_test(pending):
        return state.finish(w, pending)
    if termination.gtol_reached(sf[OPTIMALITY], opts_f[c.O_GTOL]):
        return state.finish(w, c.STATUS_GTOL)
    if si[NFEV] >= opts_i[c.O_MAX_NFEV] or si[NIT] >= opts_i[c.O_MAX_NIT]:
        return state.finish(w, c.STATUS_MAX_NFEV)
    linearize.select_free(w, opts_i[c.O_BOUNDED])
    descent.factor(w, si[SOLVER])
    if si[SOLVER] == c.SOLVER_CHOLESKY and opts_i[c.O_SOLVER] == c.SOLVER_AUTO and not descent.well_conditioned(w):
        si[SOLVER] = c.SOLVER_QR  # for the rest of the fit: the end, where digits are won, stays on one solver
        descent.factor(w, c.SOLVER_QR)
    if second_order.in_model(w, opts_i[c.O_HESSIAN]):
        second_order.add_to_normal_matrix(w)
    si[PHASE] = c.PHASE_PROPOSE
    return c.TASK_CONTINUE


@jit
def _record_history(w):
    si, sf = w.si, w.sf
    k = si[HIST_ROWS]
    if k < w.hist.shape[0]:
        w.hist[k, 0] = sf[COST]
        w.hist[k, 1] = sf[LAM]
        w.hist[k, 2] = sf[LAST_STEP]
        w.hist[k, 3] = sf[OPTIMALITY]
        w.hist[k, 4] = si[NFEV]
        w.hist[k, 5] = si[NFEV] + si[NFD]
        si[HIST_ROWS] = k + 1


@jit
def _propose(w, opts_i):
    """Start a trial: the trust-region step, or a solve at the rule's ``lam`` (0 for a Gauss-Newton try)."""
    si, sf = w.si, w.sf
    si[SOLVE_TRIES] = 0
    solver = si[SOLVER]
    if opts_i[c.O_RULE] == c.RULE_TRUST_REGION and solver != c.SOLVER_EXTERNAL:
        if descent.trust_region_step(w, solver):
            si[PHASE] = c.PHASE_PLACE_STEP
            return c.TASK_CONTINUE
        sf[TRIAL_LAM] = sf[LAM]  # no finite step at any lam tried: damp harder from here
        _damp_harder(w)
    else:
        sf[TRIAL_LAM] = 0.0 if si[TRY_GN] else sf[LAM]
    si[PHASE] = c.PHASE_NEXT_SOLVE
    return c.TASK_CONTINUE


@jit
def _next_solve(w, opts_i):
    """Solve the damped system at ``trial_lam`` (or ask the driver to), damping harder until it solves.

    Ends with no finite step (status -3) only when even heavy damping gives none.
    """
    si, sf = w.si, w.sf
    solver = si[SOLVER]
    while si[SOLVE_TRIES] < MAX_SOLVE_TRIES:
        si[SOLVE_TRIES] += 1
        if solver == c.SOLVER_EXTERNAL:
            si[PHASE] = c.PHASE_AFTER_SOLVE
            return c.TASK_SOLVE
        if descent.solve_damped(w, sf[TRIAL_LAM], solver):
            si[PHASE] = c.PHASE_PLACE_STEP
            return c.TASK_CONTINUE
        _damp_harder(w)
    return state.finish(w, c.STATUS_NONFINITE)


@jit
def _after_solve(w):
    si = w.si
    if descent.delta_finite(w):
        si[PHASE] = c.PHASE_PLACE_STEP
    else:
        _damp_harder(w)
        si[PHASE] = c.PHASE_NEXT_SOLVE
    return c.TASK_CONTINUE


@jit
def _damp_harder(w):
    """Singular or non-finite system: damp harder (for Gauss-Newton this is the damped fallback)."""
    si, sf = w.si, w.sf
    if si[TRY_GN]:
        # J^T J itself is singular; that is structural as a rule (e.g. the gauge freedom of bundle
        # adjustment), so later Gauss-Newton tries would fail the same way: stop making them
        si[TRY_GN] = False
        si[NO_GN] = True
        sf[TRIAL_LAM] = sf[LAM]
        return
    lam_floor = 0.0
    for j in range(w.x.shape[0]):
        lam_floor = max(lam_floor, w.colsq[j] / w.d[j])
    lam_floor *= 1e-12
    sf[TRIAL_LAM] = max(10.0 * sf[TRIAL_LAM], lam_floor if lam_floor > 0.0 else 1e-300)


@jit
def _place_step(w, opts_i):
    """Trial point ``x_new = clip(x + alpha*delta)``, its scaled step norm, then ``|J p|^2`` (``jp_sq``, from
    the driver with a driver-side solver)."""
    si, sf = w.si, w.sf
    if opts_i[c.O_RULE] != c.RULE_BACKTRACK and not si[TRY_GN]:
        sf[LAM] = sf[TRIAL_LAM]
    descent.place(w, sf[ALPHA], opts_i[c.O_BOUNDED])
    si[PHASE] = c.PHASE_AFTER_JP
    if si[SOLVER] == c.SOLVER_EXTERNAL:
        return c.TASK_EVAL_JP
    sf[JP_SQ] = descent.quadratic_term(w, si[SOLVER])
    return c.TASK_CONTINUE


@jit
def _after_model(w, opts_f):
    """Predicted reduction ``-(g.p + 0.5 q)`` with ``q = |J p|^2`` (``jp_sq``); then confirm a pending step
    test or request the trial evaluation."""
    si, sf = w.si, w.sf
    q = sf[JP_SQ]
    gp = 0.0
    for a in range(si[NFREE]):
        gp += w.g[w.free[a]] * w.p[w.free[a]]
    sf[SLOPE] = gp
    sf[PRED] = -(gp + 0.5 * q)
    pending = si[PENDING]
    if state.is_step_test(pending):
        # A step test held on the last accepted step; stop only if the model at the new point agrees
        # that the next step would change the cost (ftol) or the point (xtol) as little.
        ftol_ok = sf[PRED] <= opts_f[c.O_FTOL] * sf[COST]
        xtol_ok = termination.xtol_reached(sf[STEP_NORM], sf[X_NORM], opts_f[c.O_XTOL])
        status = termination.step_status(ftol_ok and pending != c.STATUS_XTOL, xtol_ok and pending != c.STATUS_FTOL)
        if status != c.STATUS_NONE:
            return safeguards.stop_after_final_step(w, status, True)
        si[PENDING] = c.STATUS_NONE
    return state.request_trial(w)


@jit
def _after_trial(w, opts_f, opts_i):
    si, sf = w.si, w.sf
    if si[FINAL_STEP]:
        return safeguards.judge_final_step(w, opts_f, opts_i)
    rule = opts_i[c.O_RULE]
    cost_new = state.trial_cost(w, opts_f, opts_i)
    sf[COST_NEW] = cost_new
    actual = state.actual_reduction(w, opts_i[c.O_LOSS]) if math.isfinite(cost_new) else -math.inf
    gain = actual / sf[PRED] if math.isfinite(cost_new) and sf[PRED] > 0.0 else -math.inf
    sf[ACTUAL] = actual
    sf[GAIN] = gain
    # the summed cost must not rise either (by an ulp), so the recorded costs never increase
    accepted = gain > damping.ACCEPT_RATIO and actual > 0.0 and cost_new <= sf[COST]
    ftol_ok = accepted and termination.ftol_reached(actual, sf[COST], gain, opts_f[c.O_FTOL])
    xtol_ok = termination.xtol_reached(sf[STEP_NORM], sf[X_NORM], opts_f[c.O_XTOL])
    status = termination.step_status(ftol_ok, xtol_ok)
    if not accepted:
        # A rejected step is small because of damping, not convergence: stop only when the damping
        # cannot grow further or the step is below the resolution of x (stagnation), and then whatever
        # the tolerances, since no later trial can differ from this one.
        # The same holds for a step the gain ratio accepts but whose summed cost rounds above F: the
        # decrease is below the rounding of the cost, which can then no longer rank two points.
        below_rounding = gain > damping.ACCEPT_RATIO and actual > 0.0
        stagnant = sf[STEP_NORM] <= c.EPS * sf[X_NORM] or sf[LAM] >= damping.LAM_MAX or below_rounding
        if not stagnant:
            status = c.STATUS_NONE
        elif status == c.STATUS_NONE:
            status = c.STATUS_FTOL if below_rounding else c.STATUS_XTOL
    if rule == c.RULE_TRUST_REGION and si[NIT] == 0:
        sf[RADIUS] = min(sf[RADIUS], sf[STEP_NORM])  # MINPACK: the first step bounds the initial radius
    if accepted or not si[TRY_GN]:
        damping.update_damping(rule, accepted, gain, sf)
    # After a step the model predicted well, try the undamped Gauss-Newton step first: it converges
    # quadratically near a small-residual solution (and exactly on linear problems); a failed try costs
    # one evaluation and leaves lam untouched. The trust-region rule takes that step by itself whenever
    # it fits in the radius.
    si[TRY_GN] = (accepted and gain > GN_TRY_RATIO and rule != c.RULE_BACKTRACK and rule != c.RULE_TRUST_REGION
                and not si[NO_GN])
    out_of_budget = si[NFEV] >= opts_i[c.O_MAX_NFEV]
    if accepted:
        second_order.remember_step(w, opts_i[c.O_HESSIAN], actual)
        state.keep_trial_point(w, cost_new, opts_i[c.O_LOSS])
        si[NIT] += 1
        si[N_REJECT] = 0
        if status != c.STATUS_NONE:
            si[PENDING] = status
        elif out_of_budget:
            si[PENDING] = c.STATUS_MAX_NFEV
        si[PHASE] = c.PHASE_AFTER_J
        return c.TASK_EVAL_J
    si[N_REJECT] += 1
    if status != c.STATUS_NONE:
        return safeguards.stop_after_final_step(w, status, False)
    if out_of_budget:
        return state.finish(w, c.STATUS_MAX_NFEV)
    si[PHASE] = c.PHASE_PROPOSE
    return c.TASK_CONTINUE
