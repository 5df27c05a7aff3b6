r"""The engine's algorithm in lanes: ``LANES`` fits at a time, structure-of-arrays, one stage at a time.

This is the per-fit engine (:mod:`lsq._kernels.engine.loop`) laid out for SIMD, for the configuration the
batch runs by default: the trust-region rule, Cholesky solves, the linear loss, no bounds, no second-order
term, and a model that gives its values and Jacobian together (one evaluation per trial point, whose
Jacobian serves the next linearisation when the step is accepted). Every array has the lane as its last,
contiguous axis, so each arithmetic loop (the model, ``J^T J``, the Cholesky factor and solves, the costs)
runs over the lanes innermost and LLVM vectorises it; each lane keeps its own control state and takes the
same decisions as the per-fit engine, through the same rule functions (:mod:`..engine.damping`,
:mod:`..engine.termination`) and constants, with every sum in the same order.

A round: evaluate every lane's point (:func:`evaluate`), judge what the evaluation was for
(:func:`judge`), linearise the lanes that moved (:func:`linearize`), choose the trust-region steps of the
lanes that need one (:func:`trust_region_steps`), confirm pending step tests and request the trials
(:func:`place_and_predict`), and solve the final Gauss-Newton steps (:func:`final_steps`). A lane whose fit
ends is refilled by its driver. A path the lanes do not take (undoing a step onto a plateau, a trust-region
search with no finite step) ends the lane with ``BAIL``; its driver runs that fit again on the per-fit engine.
"""

import math
from collections import namedtuple

import numpy as np

from ..._setup.jit import jit as jit_alloc
from ..._setup.jit import jit_engine as jit
from ..engine import codes as c
from ..engine.damping import ACCEPT_RATIO, LAM_MAX, initial_lambda, trust_region_update
from ..engine.descent import DWARF, TR_LAM_ITERATIONS, TR_TOLERANCE
from ..engine.safeguards import COLLAPSE, FINAL_STEP_SLACK, MAX_UNDO
from ..engine.termination import ftol_reached, gtol_reached, step_status, xtol_reached

LANES = 8
"""Fits per lane group: the float64 width of AVX-512 (two AVX2 vectors)."""

BAIL = -100
"""A lane's status when its fit left the paths the lanes take; the driver re-runs it on the per-fit engine."""

# what each lane's pending evaluation is for
EVAL_START = 0
EVAL_TRIAL = 1
EVAL_FINAL = 2
IDLE = 3
# what a lane does next within a round
NEXT_NONE = 0
NEXT_LINEARIZE = 1
NEXT_PROPOSE = 2
NEXT_FINAL_UNEVALUATED = 3  # the final Gauss-Newton step with the damped trial not yet evaluated
NEXT_FINAL_EVALUATED = 4
NEXT_DONE = 5
# trust-region search state
TR_OFF = 0
TR_SEARCH = 1
TR_FOUND = 2

Lanes = namedtuple(
    "Lanes",
    [
        "X",  # (d, m, W) points
        "y", "wt",  # (m, W) data and weights 1 / sigma
        "P", "F",  # (n, W) point to evaluate, (m, W) model values there
        "r", "r_new",  # (m, W) residuals at x and at the evaluated point
        "J", "J_new",  # (n, m, W) Jacobian of the residuals at x and at the evaluated point
        "x", "x_new", "x_prev", "d", "g", "colsq", "colsq_prev", "delta", "p",  # (n, W)
        "A", "L",  # (n, n, W) J^T J and the factor of the last damped solve
        "rhs", "sol",  # (n, W) work
        "fl",  # (K, W) float state, rows F_*
        "it",  # (K, W) int state, rows I_*
        "tmp", "tmp2", "lam_try", "ok", "need",  # (W,) work, per-lane lam of a solve, its success, its mask
    ],
)

# rows of Lanes.fl
F_COST, F_COST_NEW, F_LAM, F_RADIUS, F_STEP_NORM, F_OPTIMALITY, F_ACTUAL, F_PRED, F_GAIN, F_SLOPE = range(10)
F_X_NORM, F_LAST_STEP, F_TRIAL_LAM, F_PARL, F_PARU, F_PAR, F_FP_PREV, F_DXNORM = range(10, 18)
N_F = 18
# rows of Lanes.it
I_PHASE, I_NEXT, I_NIT, I_NFEV, I_NJEV, I_STATUS, I_PENDING, I_FIT, I_TR, I_FINAL_STATUS = range(10)
N_I = 10


@jit_alloc
def make_lanes(m, n, dim):
    """Allocate the lane buffers for fits of ``m`` residuals, ``n`` parameters and ``dim``-dimensional points."""
    W = LANES
    f = np.zeros
    fl = f((N_F, W))
    it = np.zeros((N_I, W), dtype=np.int64)
    it[I_PHASE] = IDLE
    it[I_FIT] = -1
    return Lanes(f((dim, m, W)), f((m, W)), f((m, W)), f((n, W)), f((m, W)), f((m, W)), f((m, W)), f((n, m, W)),
                 f((n, m, W)), f((n, W)), f((n, W)), f((n, W)), f((n, W)), f((n, W)), f((n, W)), f((n, W)),
                 f((n, W)), f((n, W)), f((n, n, W)), f((n, n, W)), f((n, W)), f((n, W)), fl, it, f(W), f(W), f(W),
                 np.zeros(W, dtype=np.bool_), np.zeros(W, dtype=np.bool_))


@jit
def start_lane(ln, l, fit, x0, d0, jac_scaling):
    """Put fit ``fit`` (start ``x0``; ``X``, ``y`` and ``wt`` already in the lane) in lane ``l``: the state the
    per-fit engine's ``reset`` gives, with the residuals at ``x0`` requested."""
    n = ln.x.shape[0]
    for j in range(n):
        ln.x[j, l] = x0[j]
        ln.P[j, l] = x0[j]
        ln.d[j, l] = 1.0 if jac_scaling else d0[j]
    for k in range(N_F):
        ln.fl[k, l] = 0.0
    it = ln.it
    it[I_PHASE, l] = EVAL_START
    it[I_NEXT, l] = NEXT_NONE
    it[I_NIT, l] = 0
    it[I_NFEV, l] = 1
    it[I_NJEV, l] = 0
    it[I_STATUS, l] = 0
    it[I_PENDING, l] = c.STATUS_NONE
    it[I_FIT, l] = fit
    it[I_TR, l] = TR_OFF


@jit
def _finish(ln, l, status):
    ln.it[I_STATUS, l] = status
    ln.it[I_NEXT, l] = NEXT_DONE


@jit
def _request(ln, l, phase):
    """Ask for the residuals at ``x_new`` (the per-fit engine's ``request_trial``)."""
    ln.it[I_NFEV, l] += 1
    ln.it[I_PHASE, l] = phase
    ln.it[I_NEXT, l] = NEXT_NONE
    for j in range(ln.x.shape[0]):
        ln.P[j, l] = ln.x_new[j, l]


# ------------------------------------------------------------------------------------------ lane arithmetic
@jit
def residuals_and_costs(ln):
    """``r_new = (F - y) * wt``, ``J_new *= wt`` and the cost of ``r_new`` (inf if not finite) into ``tmp``."""
    m, W = ln.F.shape
    n = ln.J_new.shape[0]
    for i in range(m):
        for l in range(W):
            ln.r_new[i, l] = (ln.F[i, l] - ln.y[i, l]) * ln.wt[i, l]
    for j in range(n):
        for i in range(m):
            for l in range(W):
                ln.J_new[j, i, l] *= ln.wt[i, l]
    for l in range(W):
        ln.tmp[l] = 0.0
    for i in range(m):
        for l in range(W):
            ln.tmp[l] += ln.r_new[i, l] * ln.r_new[i, l]
    for l in range(W):
        s = ln.tmp[l]
        ln.tmp[l] = 0.5 * s if math.isfinite(s) else math.inf


@jit
def actual_reductions(ln):
    """``0.5 * sum((r - r_new) (r + r_new))`` per lane into ``tmp2`` (the per-fit engine's order)."""
    m, W = ln.r.shape
    for l in range(W):
        ln.tmp2[l] = 0.0
    for i in range(m):
        for l in range(W):
            ln.tmp2[l] += (ln.r[i, l] - ln.r_new[i, l]) * (ln.r[i, l] + ln.r_new[i, l])
    for l in range(W):
        ln.tmp2[l] *= 0.5


@jit
def _adopt(ln, l):
    """The evaluated point becomes the lane's point: ``r``, ``J`` (``x`` and the cost are set by the caller)."""
    m = ln.r.shape[0]
    n = ln.x.shape[0]
    for i in range(m):
        ln.r[i, l] = ln.r_new[i, l]
    for j in range(n):
        for i in range(m):
            ln.J[j, i, l] = ln.J_new[j, i, l]


@jit
def _keep_trial_point(ln, l, cost_new):
    n = ln.x.shape[0]
    for j in range(n):
        ln.x_prev[j, l] = ln.x[j, l]
        ln.x[j, l] = ln.x_new[j, l]
    _adopt(ln, l)
    ln.fl[F_COST, l] = cost_new
    ln.fl[F_LAST_STEP, l] = ln.fl[F_STEP_NORM, l]


@jit
def normal_equations(ln):
    """``g = J^T r``, the squared column norms and the lower triangle of ``A = J^T J`` in every lane."""
    n, m, W = ln.J.shape
    for j in range(n):
        for l in range(W):
            ln.g[j, l] = 0.0
            ln.colsq[j, l] = 0.0
        for i in range(m):
            for l in range(W):
                v = ln.J[j, i, l]
                ln.g[j, l] += v * ln.r[i, l]
                ln.colsq[j, l] += v * v
    for a in range(n):
        for b in range(a + 1):
            for l in range(W):
                ln.A[a, b, l] = 0.0
            for i in range(m):
                for l in range(W):
                    ln.A[a, b, l] += ln.J[a, i, l] * ln.J[b, i, l]
            for l in range(W):
                ln.A[b, a, l] = ln.A[a, b, l]


@jit
def solve_lanes(ln):
    """``(A + lam_try diag(d)) delta = -g`` in every lane with ``need``; ``ok`` tells which factored and gave a
    finite step (the per-fit engine's ``cholesky_factor`` test). ``L`` keeps each lane's factor."""
    n, W = ln.x.shape
    L = ln.L
    for a in range(n):
        for b in range(n):
            for l in range(W):
                L[a, b, l] = ln.A[a, b, l]
        for l in range(W):
            L[a, a, l] += ln.lam_try[l] * ln.d[a, l]
            ln.rhs[a, l] = -ln.g[a, l]
    for l in range(W):
        ln.ok[l] = True
    for j in range(n):
        for l in range(W):
            ln.tmp2[l] = n * c.EPS * L[j, j, l]  # tiny
            ln.tmp[l] = L[j, j, l]
        for k in range(j):
            for l in range(W):
                ln.tmp[l] -= L[j, k, l] * L[j, k, l]
        for l in range(W):
            s = ln.tmp[l]
            ln.ok[l] = ln.ok[l] and s > ln.tmp2[l] and math.isfinite(s)
            L[j, j, l] = math.sqrt(s) if s > 0.0 else 1.0
        for i in range(j + 1, n):
            for l in range(W):
                ln.tmp[l] = L[i, j, l]
            for k in range(j):
                for l in range(W):
                    ln.tmp[l] -= L[i, k, l] * L[j, k, l]
            for l in range(W):
                L[i, j, l] = ln.tmp[l] / L[j, j, l]
    sol = ln.sol
    for i in range(n):
        for l in range(W):
            ln.tmp[l] = ln.rhs[i, l]
        for k in range(i):
            for l in range(W):
                ln.tmp[l] -= L[i, k, l] * sol[k, l]
        for l in range(W):
            sol[i, l] = ln.tmp[l] / L[i, i, l]
    for i in range(n - 1, -1, -1):
        for l in range(W):
            ln.tmp[l] = sol[i, l]
        for k in range(i + 1, n):
            for l in range(W):
                ln.tmp[l] -= L[k, i, l] * sol[k, l]
        for l in range(W):
            sol[i, l] = ln.tmp[l] / L[i, i, l]
    for i in range(n):
        for l in range(W):
            ln.ok[l] = ln.ok[l] and math.isfinite(sol[i, l])
    for i in range(n):
        for l in range(W):
            if ln.need[l] and ln.ok[l]:
                ln.delta[i, l] = sol[i, l]


@jit
def _scaled_norm(v, d, l):
    t = 0.0
    for j in range(v.shape[0]):
        t += d[j, l] * v[j, l] * v[j, l]
    return math.sqrt(t)


@jit
def _length_slope(ln, l, dxnorm):
    """``|L^-1 d delta|^2 / |d^(1/2) delta|^2`` from lane ``l``'s last factor (the per-fit engine's)."""
    n = ln.x.shape[0]
    for a in range(n):
        ln.rhs[a, l] = ln.d[a, l] * ln.delta[a, l] / dxnorm
    t = 0.0
    for i in range(n):
        v = ln.rhs[i, l]
        for k in range(i):
            v -= ln.L[i, k, l] * ln.rhs[k, l]
        v /= ln.L[i, i, l]
        ln.rhs[i, l] = v
        t += v * v
    return t


# ------------------------------------------------------------------------------------------------ stages
@jit
def judge(ln, opts_f, opts_i):
    """What each lane's evaluation was for: the start (``PHASE_AFTER_F0``), a trial (``_after_trial``) or the
    final Gauss-Newton step (``judge_final_step``). Needs the costs in ``tmp`` and reductions in ``tmp2``."""
    W = LANES
    max_nfev = opts_i[c.O_MAX_NFEV]
    for l in range(W):
        phase = ln.it[I_PHASE, l]
        if phase == IDLE:
            continue
        cost_new = ln.tmp[l]
        fl = ln.fl
        if phase == EVAL_START:
            fl[F_COST, l] = cost_new
            _adopt(ln, l)
            if not math.isfinite(cost_new):
                _finish(ln, l, c.STATUS_NONFINITE)
            else:
                ln.it[I_NEXT, l] = NEXT_LINEARIZE
            continue
        if phase == EVAL_FINAL:
            if math.isfinite(cost_new) and ln.tmp2[l] >= -FINAL_STEP_SLACK * c.EPS * fl[F_COST, l]:
                _keep_trial_point(ln, l, cost_new)
                if opts_i[c.O_FINAL_J]:
                    ln.it[I_NJEV, l] += 1
            _finish(ln, l, ln.it[I_PENDING, l])
            continue
        # a trial step
        fl[F_COST_NEW, l] = cost_new
        finite = math.isfinite(cost_new)
        actual = ln.tmp2[l] if finite else -math.inf
        pred = fl[F_PRED, l]
        gain = actual / pred if finite and pred > 0.0 else -math.inf
        fl[F_ACTUAL, l] = actual
        fl[F_GAIN, l] = gain
        cost = fl[F_COST, l]
        accepted = gain > ACCEPT_RATIO and actual > 0.0 and cost_new <= cost
        ftol_ok = accepted and ftol_reached(actual, cost, gain, opts_f[c.O_FTOL])
        xtol_ok = xtol_reached(fl[F_STEP_NORM, l], fl[F_X_NORM, l], opts_f[c.O_XTOL])
        status = step_status(ftol_ok, xtol_ok)
        if not accepted:
            below_rounding = gain > ACCEPT_RATIO and actual > 0.0
            stagnant = (fl[F_STEP_NORM, l] <= c.EPS * fl[F_X_NORM, l] or fl[F_LAM, l] >= LAM_MAX
                        or below_rounding)
            if not stagnant:
                status = c.STATUS_NONE
            elif status == c.STATUS_NONE:
                status = c.STATUS_FTOL if below_rounding else c.STATUS_XTOL
        if ln.it[I_NIT, l] == 0:
            fl[F_RADIUS, l] = min(fl[F_RADIUS, l], fl[F_STEP_NORM, l])
        fl[F_RADIUS, l], fl[F_LAM, l] = trust_region_update(fl[F_RADIUS, l], fl[F_LAM, l], gain, accepted, actual,
                                                            fl[F_SLOPE, l], fl[F_STEP_NORM, l], cost, cost_new)
        out_of_budget = ln.it[I_NFEV, l] >= max_nfev
        if accepted:
            _keep_trial_point(ln, l, cost_new)
            ln.it[I_NIT, l] += 1
            if status != c.STATUS_NONE:
                ln.it[I_PENDING, l] = status
            elif out_of_budget:
                ln.it[I_PENDING, l] = c.STATUS_MAX_NFEV
            ln.it[I_NEXT, l] = NEXT_LINEARIZE
        elif status != c.STATUS_NONE:
            ln.it[I_FINAL_STATUS, l] = status
            ln.it[I_NEXT, l] = NEXT_FINAL_EVALUATED
        elif out_of_budget:
            _finish(ln, l, c.STATUS_MAX_NFEV)
        else:
            ln.it[I_NEXT, l] = NEXT_PROPOSE


@jit
def linearize(ln, opts_f, opts_i):
    """``_after_jacobian`` and ``_after_gradient`` for the lanes that moved (``g``, ``A`` are computed for all)."""
    n, W = ln.x.shape
    normal_equations(ln)
    jac_scaling = opts_i[c.O_SCALING] == c.SCALING_JAC
    for l in range(W):
        if ln.it[I_NEXT, l] != NEXT_LINEARIZE:
            continue
        it = ln.it
        fl = ln.fl
        it[I_NJEV, l] += 1
        finite = True
        for j in range(n):
            finite = finite and math.isfinite(ln.colsq[j, l])
        if not finite:
            _finish(ln, l, c.STATUS_NONFINITE)
            continue
        pending = it[I_PENDING, l]
        opt = 0.0
        for j in range(n):
            opt = max(opt, abs(ln.g[j, l]))
        fl[F_OPTIMALITY, l] = opt
        step_test = pending == c.STATUS_FTOL or pending == c.STATUS_XTOL or pending == c.STATUS_FTOL_XTOL
        if it[I_NIT, l] > 0 and (pending == c.STATUS_NONE or step_test) and not gtol_reached(opt, opts_f[c.O_GTOL]):
            lost = False
            for j in range(n):
                lost = lost or ln.colsq[j, l] < COLLAPSE * ln.colsq_prev[j, l]
            if lost and MAX_UNDO > 0:
                _finish(ln, l, BAIL)  # the per-fit engine undoes the step
                continue
        for j in range(n):
            ln.colsq_prev[j, l] = ln.colsq[j, l]
        first = it[I_NJEV, l] == 1
        if jac_scaling:
            for j in range(n):
                cj = ln.colsq[j, l]
                if first:
                    ln.d[j, l] = cj if cj > 0.0 else 1.0
                elif cj > ln.d[j, l]:
                    ln.d[j, l] = cj
        if first:
            ratio = 0.0
            for j in range(n):
                ratio = max(ratio, ln.colsq[j, l] / ln.d[j, l])
            fl[F_LAM, l] = initial_lambda(c.RULE_TRUST_REGION, opts_f[c.O_TAU], ratio)
        x_norm = _scaled_norm(ln.x, ln.d, l)
        fl[F_X_NORM, l] = x_norm
        if first:
            fl[F_RADIUS, l] = opts_f[c.O_FACTOR] * x_norm if x_norm > 0.0 else opts_f[c.O_FACTOR]
        if pending != c.STATUS_NONE and not step_test:
            _finish(ln, l, pending)
        elif gtol_reached(opt, opts_f[c.O_GTOL]):
            _finish(ln, l, c.STATUS_GTOL)
        elif it[I_NFEV, l] >= opts_i[c.O_MAX_NFEV] or it[I_NIT, l] >= opts_i[c.O_MAX_NIT]:
            _finish(ln, l, c.STATUS_MAX_NFEV)
        else:
            it[I_NEXT, l] = NEXT_PROPOSE


@jit
def trust_region_steps(ln):
    """``trust_region_step`` for the lanes that propose: ``lam`` from the secular equation, all searching lanes
    solving together; a lane whose search finds no finite step bails."""
    n, W = ln.x.shape
    fl = ln.fl
    any_search = False
    for l in range(W):
        ln.need[l] = ln.it[I_NEXT, l] == NEXT_PROPOSE
        ln.lam_try[l] = 0.0
        ln.it[I_TR, l] = TR_OFF
        any_search = any_search or ln.need[l]
    if not any_search:
        return
    solve_lanes(ln)
    for l in range(W):
        if not ln.need[l]:
            continue
        radius = fl[F_RADIUS, l]
        parl = 0.0
        dxnorm = 0.0
        if ln.ok[l]:
            dxnorm = _scaled_norm(ln.delta, ln.d, l)
            fp = dxnorm - radius
            if fp <= TR_TOLERANCE * radius:
                fl[F_TRIAL_LAM, l] = 0.0
                ln.it[I_TR, l] = TR_FOUND
                continue
            if dxnorm > 0.0:
                parl = fp / radius / _length_slope(ln, l, dxnorm)
        gnorm = 0.0
        for j in range(n):
            gnorm += ln.g[j, l] * ln.g[j, l] / ln.d[j, l]
        gnorm = math.sqrt(gnorm)
        paru = gnorm / radius
        if paru == 0.0:
            paru = DWARF / min(radius, 0.1)
        par = min(max(fl[F_LAM, l], parl), paru)
        if par == 0.0:
            par = gnorm / dxnorm if dxnorm > 0.0 else 0.001 * paru
        fl[F_PARL, l] = parl
        fl[F_PARU, l] = paru
        fl[F_PAR, l] = par
        fl[F_FP_PREV, l] = 0.0
        ln.it[I_TR, l] = TR_SEARCH
    for k in range(TR_LAM_ITERATIONS):
        any_search = False
        for l in range(W):
            ln.need[l] = ln.it[I_TR, l] == TR_SEARCH
            if ln.need[l]:
                if fl[F_PAR, l] == 0.0:
                    fl[F_PAR, l] = max(DWARF, 0.001 * fl[F_PARU, l])
                ln.lam_try[l] = fl[F_PAR, l]
                any_search = True
        if not any_search:
            break
        solve_lanes(ln)
        for l in range(W):
            if not ln.need[l]:
                continue
            par = fl[F_PAR, l]
            if not ln.ok[l]:
                fl[F_PARL, l] = par
                fl[F_PAR, l] = 10.0 * par
                continue
            radius = fl[F_RADIUS, l]
            dxnorm = _scaled_norm(ln.delta, ln.d, l)
            fp = dxnorm - radius
            fp_prev = fl[F_FP_PREV, l]
            if (abs(fp) <= TR_TOLERANCE * radius or (fl[F_PARL, l] == 0.0 and fp <= fp_prev and fp_prev < 0.0)
                    or k == TR_LAM_ITERATIONS - 1):
                fl[F_TRIAL_LAM, l] = par
                ln.it[I_TR, l] = TR_FOUND
                continue
            parc = fp / radius / _length_slope(ln, l, dxnorm)
            if fp > 0.0:
                fl[F_PARL, l] = max(fl[F_PARL, l], par)
            elif fp < 0.0:
                fl[F_PARU, l] = min(fl[F_PARU, l], par)
            fl[F_PAR, l] = max(fl[F_PARL, l], par + parc)
            fl[F_FP_PREV, l] = fp
    for l in range(W):
        if ln.it[I_TR, l] == TR_SEARCH:
            _finish(ln, l, BAIL)  # no finite step: the per-fit engine damps harder


@jit
def _place(ln, l):
    """``x_new = x + delta`` (no bounds), ``p`` and its scaled norm."""
    n = ln.x.shape[0]
    for j in range(n):
        ln.x_new[j, l] = ln.x[j, l] + ln.delta[j, l]
        ln.p[j, l] = ln.x_new[j, l] - ln.x[j, l]
    ln.fl[F_STEP_NORM, l] = _scaled_norm(ln.p, ln.d, l)


@jit
def place_and_predict(ln, opts_f, opts_i):
    """``_place_step`` and ``_after_model`` for the lanes whose trust-region step was found."""
    n, W = ln.x.shape
    fl = ln.fl
    for l in range(W):
        if ln.it[I_TR, l] != TR_FOUND or ln.it[I_NEXT, l] != NEXT_PROPOSE:
            continue
        fl[F_LAM, l] = fl[F_TRIAL_LAM, l]
        _place(ln, l)
        q = 0.0
        for a in range(n):
            t = 0.0
            for b in range(n):
                t += ln.A[a, b, l] * ln.p[b, l]
            q += t * ln.p[a, l]
        gp = 0.0
        for a in range(n):
            gp += ln.g[a, l] * ln.p[a, l]
        fl[F_SLOPE, l] = gp
        fl[F_PRED, l] = -(gp + 0.5 * q)
        pending = ln.it[I_PENDING, l]
        if pending == c.STATUS_FTOL or pending == c.STATUS_XTOL or pending == c.STATUS_FTOL_XTOL:
            ftol_ok = fl[F_PRED, l] <= opts_f[c.O_FTOL] * fl[F_COST, l]
            xtol_ok = xtol_reached(fl[F_STEP_NORM, l], fl[F_X_NORM, l], opts_f[c.O_XTOL])
            status = step_status(ftol_ok and pending != c.STATUS_XTOL, xtol_ok and pending != c.STATUS_FTOL)
            if status != c.STATUS_NONE:
                ln.it[I_FINAL_STATUS, l] = status
                ln.it[I_NEXT, l] = NEXT_FINAL_UNEVALUATED
                continue
            ln.it[I_PENDING, l] = c.STATUS_NONE
        _request(ln, l, EVAL_TRIAL)


@jit
def final_steps(ln, opts_i):
    """``final_gauss_newton_step`` for the lanes that stop on a step test: one last undamped step, evaluated
    and kept unless the cost rose above its rounding level."""
    W = LANES
    fl = ln.fl
    any_solve = False
    for l in range(W):
        nxt = ln.it[I_NEXT, l]
        ln.need[l] = False
        if nxt != NEXT_FINAL_UNEVALUATED and nxt != NEXT_FINAL_EVALUATED:
            continue
        status = ln.it[I_FINAL_STATUS, l]
        if ln.it[I_NFEV, l] >= opts_i[c.O_MAX_NFEV]:
            _finish(ln, l, status)
            continue
        if fl[F_TRIAL_LAM, l] == 0.0 and nxt == NEXT_FINAL_EVALUATED:
            # the trial just rejected was the Gauss-Newton step itself
            if math.isfinite(fl[F_COST_NEW, l]) and fl[F_ACTUAL, l] >= -FINAL_STEP_SLACK * c.EPS * fl[F_COST, l]:
                _keep_trial_point(ln, l, fl[F_COST_NEW, l])
            _finish(ln, l, status)
            continue
        ln.need[l] = True
        ln.lam_try[l] = 0.0
        any_solve = True
    if not any_solve:
        return
    solve_lanes(ln)
    for l in range(W):
        if not ln.need[l]:
            continue
        if ln.ok[l]:
            _place(ln, l)
        elif ln.it[I_NEXT, l] == NEXT_FINAL_EVALUATED:
            _finish(ln, l, ln.it[I_FINAL_STATUS, l])
            continue
        ln.it[I_PENDING, l] = ln.it[I_FINAL_STATUS, l]
        _request(ln, l, EVAL_FINAL)


@jit
def advance_lanes(ln, opts_f, opts_i):
    """One round after the evaluation at ``P`` (``F``, ``J_new`` filled by the model): every lane ends it
    with a new point to evaluate (``I_NEXT == NEXT_NONE``), or done (``NEXT_DONE``), or idle."""
    residuals_and_costs(ln)
    actual_reductions(ln)
    judge(ln, opts_f, opts_i)
    linearize(ln, opts_f, opts_i)
    trust_region_steps(ln)
    place_and_predict(ln, opts_f, opts_i)
    final_steps(ln, opts_i)
