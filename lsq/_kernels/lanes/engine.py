r"""The engine's algorithm in lanes: ``LANES`` fits at a time, structure-of-arrays, one stage at a time.

This is the per-fit engine (:mod:`lsq._kernels.engine.loop`) laid out for SIMD, for the configuration the
batch runs by default: the trust-region rule, Cholesky solves, the linear loss (least squares, or Poisson
maximum likelihood as least squares on deviance residuals), box bounds (the per-fit engine's active set and
step-back rule, with a held variable's row of the damped system made a unit row), no second-order
term, and a model that gives its values and Jacobian together (one evaluation per trial point, whose
Jacobian serves the next linearisation when the step is accepted). Every array has the lane as its last,
contiguous axis: the arithmetic (``J^T J``, the costs, the Cholesky factors and solves, the standard errors)
runs on :mod:`.simd` vectors of 8 lanes, one instruction per operation for all lanes; each lane keeps its
own control state and takes the same decisions as the per-fit engine, through the same rule functions
(:mod:`..engine.damping`, :mod:`..engine.termination`) and constants, with every sum in the same order, so
a lane's numbers have the bits the per-fit engine's would have on the same model values.

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

from ..._identifiability import INVOLVED, RANK_RTOL, SINGULAR_SHIFT
from ..._setup.jit import jit as jit_alloc
from ..._setup.jit import jit_inline
from ..._setup.jit import jit_stage as jit
from ..engine import codes as c
from ..engine.damping import ACCEPT_RATIO, LAM_MAX, initial_lambda, trust_region_update
from ..engine.descent import DWARF, STEP_BACK, TR_LAM_ITERATIONS, TR_TOLERANCE
from ..engine.safeguards import COLLAPSE, FINAL_STEP_SLACK, MAX_UNDO
from ..engine.termination import ftol_reached, gtol_reached, step_status, xtol_reached
from . import simd as v
from .deviance import deviance_terms

LANES = v.WIDTH
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
        "y", "wt",  # (m, W) data and weights 1 / sigma (Poisson: 1 / y, which its residuals use)
        "P", "F",  # (n, W) point to evaluate, (m, W) model values there
        "r", "r_new",  # (m, W) residuals at x and at the evaluated point
        "fisher", "fisher_new",  # (m, W) Poisson: the Fisher factors at x and at the evaluated point
        "lb", "ub", "free",  # (n, W) the box, and 1.0 for the variables free at the last linearisation
        "J", "J_new",  # (n, m, W) Jacobian of the residuals at x and at the evaluated point
        "x", "x_new", "x_prev", "d", "g", "colsq", "colsq_prev", "delta", "delta0", "p",  # (n, W); delta0: the
        # undamped step of the current linearisation (the final Gauss-Newton step needs no solve of its own)
        "A", "L",  # (n, n, W) J^T J and the factor of the last damped solve
        "rhs", "sol",  # (n, W) work
        "fl",  # (N_F, W) float state, rows F_*
        "it",  # (N_I, W) int state, rows I_*
        "vec",  # (N_V, W) lane vectors, rows V_*
        # standard errors of up to W finished fits, staged: J^T J and work (n, n, W); column norms, variances,
        # work and the errors (n, W); the chi-square scale (W,) and the fits' rows (W,) int
        "se_A", "se_L", "se_M", "se_norm", "se_var", "se_rhs", "se_sol", "se_out", "se_scale", "se_fit",
        "se_J",  # Poisson: (n, m, W) the staged fits' Fisher rows
    ],
)

# rows of Lanes.fl
F_COST, F_COST_NEW, F_LAM, F_RADIUS, F_STEP_NORM, F_OPTIMALITY, F_ACTUAL, F_PRED, F_GAIN, F_SLOPE = range(10)
F_X_NORM, F_LAST_STEP, F_TRIAL_LAM, F_PARL, F_PARU, F_PAR, F_FP_PREV = range(10, 17)
N_F = 17
# rows of Lanes.it
I_PHASE, I_NEXT, I_NIT, I_NFEV, I_NJEV, I_STATUS, I_PENDING, I_FIT, I_TR, I_FINAL_STATUS = range(10)
N_I = 10
# rows of Lanes.vec: the evaluation's costs and actual reductions, a solve's lam, success and mask, which lanes
# take the evaluated point's J, the success of the undamped solve, work
V_COST, V_ACTUAL, V_LAM, V_OK, V_NEED, V_ADOPT, V_OK0, V_KEEP, V_REQUEST, V_FIRST = range(10)
# lane vectors the decisions read: optimality, finite column norms, a collapsed column, |d^(1/2) x|, |d^(1/2) delta|,
# the step length's slope, |g|_(d^-1), |d^(1/2) p|, |J p|^2, g.p
V_OPT, V_FINITE, V_LOST, V_X_NORM, V_DXNORM, V_LSLOPE, V_GNORM, V_STEP_NORM, V_Q, V_GP = range(10, 20)
N_V = 20


@jit_alloc
def make_lanes(m, n, dim):
    """Allocate the lane buffers for fits of ``m`` residuals, ``n`` parameters and ``dim``-dimensional points."""
    W = LANES
    f = np.zeros
    it = np.zeros((N_I, W), dtype=np.int64)
    it[I_PHASE] = IDLE
    it[I_FIT] = -1
    return Lanes(f((dim, m, W)), f((m, W)), f((m, W)), f((n, W)), f((m, W)), f((m, W)), f((m, W)), f((m, W)),
                 f((m, W)), np.full((n, W), -np.inf), np.full((n, W), np.inf), np.ones((n, W)), f((n, m, W)),
                 f((n, m, W)), f((n, W)), f((n, W)), f((n, W)), f((n, W)), f((n, W)), f((n, W)), f((n, W)),
                 f((n, W)), f((n, W)), f((n, W)), f((n, n, W)), f((n, n, W)), f((n, W)), f((n, W)), f((N_F, W)), it,
                 f((N_V, W)), f((n, n, W)), f((n, n, W)), f((n, n, W)), f((n, W)), f((n, W)), f((n, W)), f((n, W)),
                 f((n, W)), f(W), np.zeros(W, dtype=np.int64), f((n, m, W)))


@jit
def start_lane(ln, l, fit, x0, d0, jac_scaling):
    """Put fit ``fit`` (start ``x0``; ``X``, ``y`` and ``wt`` already in the lane) in lane ``l``: the state the
    per-fit engine's ``reset`` gives, with the residuals at ``x0`` requested."""
    for j in range(ln.x.shape[0]):
        ln.x[j, l] = x0[j]
        ln.x_new[j, l] = x0[j]
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


@jit_inline
def _finish(ln, l, status):
    ln.it[I_STATUS, l] = status
    ln.it[I_NEXT, l] = NEXT_DONE


@jit_inline
def _request(ln, l, phase):
    """Ask for the residuals at ``x_new`` (the per-fit engine's ``request_trial``)."""
    ln.it[I_NFEV, l] += 1
    ln.it[I_PHASE, l] = phase
    ln.it[I_NEXT, l] = NEXT_NONE
    for j in range(ln.x.shape[0]):
        ln.P[j, l] = ln.x_new[j, l]


# ------------------------------------------------------------------------------------ arithmetic on all lanes
@jit
def residuals_and_costs(ln, unit_weights, poisson):
    """``r_new = (F - y) * wt``, ``J_new *= wt`` (nothing to scale with ``unit_weights``: a product with 1 is
    exact), or with ``poisson`` the deviance residuals of ``F``, ``J_new`` times their slopes and the Fisher
    factors into ``fisher_new``; the cost of
    ``r_new`` (inf if not finite) into ``V_COST`` and ``F(x) - F(x_new)`` as
    ``0.5 * sum((r - r_new) (r + r_new))`` into ``V_ACTUAL``, in the per-fit order."""
    n, m = ln.J_new.shape[0], ln.F.shape[0]
    cost = v.splat(0.0)
    actual = v.splat(0.0)
    for i in range(m):
        if poisson:
            rn, slope, fisher = deviance_terms(v.load(ln.F[i]), v.load(ln.y[i]), v.load(ln.wt[i]))
            v.store(ln.fisher_new[i], fisher)
            for j in range(n):
                v.store(ln.J_new[j, i], v.load(ln.J_new[j, i]) * slope)
        else:
            rn = v.load(ln.F[i]) - v.load(ln.y[i])
        if not (unit_weights or poisson):
            wt = v.load(ln.wt[i])
            rn = rn * wt
            for j in range(n):
                v.store(ln.J_new[j, i], v.load(ln.J_new[j, i]) * wt)
        v.store(ln.r_new[i], rn)
        cost = cost + rn * rn
        r = v.load(ln.r[i])
        actual = actual + (r - rn) * (r + rn)
    v.store(ln.vec[V_COST], v.select(v.finite(cost), 0.5 * cost, v.splat(math.inf)))
    v.store(ln.vec[V_ACTUAL], 0.5 * actual)


@jit
def adopt(ln, poisson):
    """Move the lanes marked ``V_KEEP`` to the evaluated point (``x_prev = x``, ``x = x_new``, ``r = r_new``,
    with ``poisson`` also ``fisher = fisher_new``) and give the lanes marked ``V_ADOPT`` its Jacobian."""
    n, m = ln.J.shape[0], ln.r.shape[0]
    keep = v.load(ln.vec[V_KEEP])
    take = v.load(ln.vec[V_ADOPT])
    for j in range(n):
        x = v.load(ln.x[j])
        v.store(ln.x_prev[j], v.select(keep, x, v.load(ln.x_prev[j])))
        v.store(ln.x[j], v.select(keep, v.load(ln.x_new[j]), x))
    for i in range(m):
        v.store(ln.r[i], v.select(keep, v.load(ln.r_new[i]), v.load(ln.r[i])))
        if poisson:
            v.store(ln.fisher[i], v.select(keep, v.load(ln.fisher_new[i]), v.load(ln.fisher[i])))
        for j in range(n):
            v.store(ln.J[j, i], v.select(take, v.load(ln.J_new[j, i]), v.load(ln.J[j, i])))


@jit
def request_points(ln):
    """``P = x_new`` in the lanes that asked for an evaluation this round."""
    ask = v.load(ln.vec[V_REQUEST])
    for j in range(ln.x.shape[0]):
        v.store(ln.P[j], v.select(ask, v.load(ln.x_new[j]), v.load(ln.P[j])))


@jit
def gram(J, A):
    """``A = J J^T`` in every lane for rows ``J`` ``(n, m, W)``, each sum over the residuals in order as the
    per-fit engine's (the normal matrix, and a Poisson fit's Fisher information)."""
    n, m = J.shape[0], J.shape[1]
    for a in range(n):
        for b in range(a + 1):
            t = v.splat(0.0)
            for i in range(m):
                t = t + v.load(J[a, i]) * v.load(J[b, i])
            v.store(A[a, b], t)
            v.store(A[b, a], t)


@jit
def normal_equations(ln):
    """``g = J^T r``, ``A = J^T J`` and the squared column norms in every lane, each sum over the residuals in
    order as the per-fit engine's."""
    n, m = ln.J.shape[0], ln.J.shape[1]
    gram(ln.J, ln.A)
    for a in range(n):
        g = v.splat(0.0)
        for i in range(m):
            g = g + v.load(ln.J[a, i]) * v.load(ln.r[i])
        v.store(ln.g[a], g)
        v.store(ln.colsq[a], v.load(ln.A[a, a]))


@jit
def cholesky_lanes(M, n, L, pivot):
    """The per-fit engine's ``cholesky_factor`` in every lane: ``M = L L^T`` (lower triangles); returns the
    mask of the lanes whose pivots all exceed ``pivot`` (``nf * eps``, ``nf`` the lane's free variables)
    times their diagonal entry."""
    ok = v.splat(1.0)
    for j in range(n):
        s = v.load(M[j, j])
        tiny = pivot * s
        for k in range(j):
            ljk = v.load(L[j, k])
            s = s - ljk * ljk
        ok = ok * v.gt(s, tiny) * v.finite(s)
        ljj = v.sqrt(v.select(v.gt(s, v.splat(0.0)), s, v.splat(1.0)))
        v.store(L[j, j], ljj)
        for i in range(j + 1, n):
            t = v.load(M[i, j])
            for k in range(j):
                t = t - v.load(L[i, k]) * v.load(L[j, k])
            v.store(L[i, j], t / ljj)
    return ok


@jit
def cholesky_solve_lanes(L, n, rhs, out):
    """The per-fit engine's ``cholesky_solve`` in every lane; returns the mask of finite solutions."""
    ok = v.splat(1.0)
    for i in range(n):
        s = v.load(rhs[i])
        for k in range(i):
            s = s - v.load(L[i, k]) * v.load(out[k])
        v.store(out[i], s / v.load(L[i, i]))
    for i in range(n - 1, -1, -1):
        s = v.load(out[i])
        for k in range(i + 1, n):
            s = s - v.load(L[k, i]) * v.load(out[k])
        s = s / v.load(L[i, i])
        v.store(out[i], s)
        ok = ok * v.finite(s)
    return ok


@jit
def solve_lanes(ln):
    """``(A + lam diag(d)) delta = -g`` with ``lam`` from ``V_LAM`` in every lane; ``V_OK`` tells which factored
    and gave a finite step (the per-fit engine's ``solve_damped``), and ``delta`` takes the step in the lanes of
    ``V_NEED`` that did. ``L`` keeps each lane's factor, ``sol`` each lane's solution."""
    n = ln.x.shape[0]
    lam = v.load(ln.vec[V_LAM])
    zero = v.splat(0.0)
    nf = zero
    for a in range(n):  # a variable held at a bound gets a unit row: its step is 0, the others' are unchanged
        fa = v.load(ln.free[a])
        nf = nf + fa
        for b in range(a):
            v.store(ln.L[a, b], v.select(fa * v.load(ln.free[b]), v.load(ln.A[a, b]), zero))
        v.store(ln.L[a, a], v.select(fa, v.load(ln.A[a, a]) + lam * v.load(ln.d[a]), v.splat(1.0)))
        v.store(ln.rhs[a], v.select(fa, -v.load(ln.g[a]), zero))
    ok = cholesky_lanes(ln.L, n, ln.L, nf * c.EPS)
    ok = ok * cholesky_solve_lanes(ln.L, n, ln.rhs, ln.sol)
    v.store(ln.vec[V_OK], ok)
    take = ok * v.load(ln.vec[V_NEED])
    for a in range(n):
        v.store(ln.delta[a], v.select(take, v.load(ln.sol[a]), v.load(ln.delta[a])))


@jit
def standard_errors(ln):
    """The per-fit batch kernel's ``parameter_stderr`` for the staged lanes, with the same rank test and the
    same bits: from ``se_A`` (``J^T J``) and ``se_scale`` into ``se_out``."""
    n = ln.x.shape[0]
    zero = v.splat(0.0)
    one = v.splat(1.0)
    inf = v.splat(math.inf)
    U = ln.se_A
    for j in range(n):
        v.store(ln.se_norm[j], v.sqrt(v.load(U[j, j])))
    for a in range(n):  # unit column norms; a zero column is decoupled
        pa = v.load(ln.se_norm[a])
        for b in range(n):
            pb = v.load(ln.se_norm[b])
            both = v.gt(pa, zero) * v.gt(pb, zero)
            v.store(U[a, b], v.select(both, v.load(U[a, b]) / (pa * pb), one if a == b else zero))
    ok1 = cholesky_lanes(U, n, ln.se_L, v.splat(n * c.EPS))
    for a in range(n):  # the lanes whose factor failed retry on U + SINGULAR_SHIFT I
        for b in range(a):
            v.store(ln.se_M[a, b], v.load(U[a, b]))
        v.store(ln.se_M[a, a], v.load(U[a, a]) + SINGULAR_SHIFT)
    factored = ok1
    all_factored = True
    for k in range(LANES):
        all_factored = all_factored and v.lane(ok1, k) != 0.0
    if not all_factored:
        ok2 = cholesky_lanes(ln.se_M, n, ln.se_M, v.splat(n * c.EPS))
        for a in range(n):
            for b in range(a + 1):
                v.store(ln.se_L[a, b], v.select(ok1, v.load(ln.se_L[a, b]), v.load(ln.se_M[a, b])))
        factored = v.select(ok1, ok1, ok2)
    scale = v.load(ln.se_scale)
    trace = zero
    for j in range(n):
        for a in range(n):
            v.store(ln.se_rhs[a], one if a == j else zero)
        cholesky_solve_lanes(ln.se_L, n, ln.se_rhs, ln.se_sol)
        var = v.load(ln.se_sol[j])
        v.store(ln.se_var[j], var)
        trace = trace + var
        norm = v.load(ln.se_norm[j])
        good = v.ge(var, zero) * v.gt(norm, zero) * factored
        v.store(ln.se_out[j], v.select(good, v.sqrt(var * scale) / norm, inf))
    determined = v.lt(trace * RANK_RTOL * RANK_RTOL, one)
    for j in range(n):
        involved = v.lt(v.load(ln.se_var[j]), INVOLVED * INVOLVED * trace)
        keep = v.select(determined, one, involved)
        v.store(ln.se_out[j], v.select(keep, v.load(ln.se_out[j]), inf))


# ----------------------------------------------------------------------- lane vectors the decisions read
@jit
def _scaled_norms(u, d, out):
    """``|d^(1/2) u|`` in every lane into ``out`` (the per-fit ``scaled_norm``'s order)."""
    t = v.splat(0.0)
    for j in range(u.shape[0]):
        t = t + v.load(d[j]) * v.load(u[j]) * v.load(u[j])
    v.store(out, v.sqrt(t))


@jit
def _length_slopes(ln):
    """``|L^-1 d delta|^2 / |d^(1/2) delta|^2`` in every lane from the last factor, with ``|d^(1/2) delta|``
    already in ``V_DXNORM``, into ``V_LSLOPE`` (the per-fit ``_length_slope``)."""
    n = ln.x.shape[0]
    dxnorm = v.load(ln.vec[V_DXNORM])
    t = v.splat(0.0)
    for i in range(n):
        u = v.load(ln.d[i]) * v.load(ln.delta[i]) / dxnorm
        for k in range(i):
            u = u - v.load(ln.L[i, k]) * v.load(ln.rhs[k])
        u = u / v.load(ln.L[i, i])
        v.store(ln.rhs[i], u)
        t = t + u * u
    v.store(ln.vec[V_LSLOPE], t)


@jit
def _step_lengths(ln):
    """``|d^(1/2) delta|`` and the length slope in every lane after a solve."""
    _scaled_norms(ln.delta, ln.d, ln.vec[V_DXNORM])
    _length_slopes(ln)


@jit
def _gradient_norms(ln):
    """``|g|`` over the free variables in the metric ``d^-1`` in every lane into ``V_GNORM``
    (``trust_region_step``'s ``gnorm``)."""
    t = v.splat(0.0)
    for j in range(ln.x.shape[0]):
        g = v.load(ln.g[j])
        t = t + v.select(v.load(ln.free[j]), g * g / v.load(ln.d[j]), v.splat(0.0))
    v.store(ln.vec[V_GNORM], v.sqrt(t))


@jit
def _place_lanes(ln, mask, step, copy_step):
    """``x_new = x + step`` kept in the box, ``p = x_new - x`` and ``|d^(1/2) p|`` (``F_STEP_NORM``) in the lanes
    of ``mask`` (and ``delta = step`` with ``copy_step``): the per-fit ``place``, whose component that would
    cross a bound stops a fraction ``theta = max(STEP_BACK, 1 - optimality)`` of the way to it, or on it when
    the step overshoots by more than ``1 / (1 - theta)``."""
    n = ln.x.shape[0]
    t = v.splat(0.0)
    theta = max(v.splat(STEP_BACK), 1.0 - v.load(ln.fl[F_OPTIMALITY]))
    rest = 1.0 - theta
    for j in range(n):
        x = v.load(ln.x[j])
        xj = x + v.load(step[j])
        lb, ub = v.load(ln.lb[j]), v.load(ln.ub[j])
        gap = x - lb
        to_lb = v.select(v.ge(rest * (x - xj), gap), lb, x - theta * gap)
        gap = ub - x
        to_ub = v.select(v.ge(rest * (xj - x), gap), ub, x + theta * gap)
        xj = v.select(v.lt(xj, lb), to_lb, v.select(v.gt(xj, ub), to_ub, xj))
        xn = v.select(mask, xj, v.load(ln.x_new[j]))
        v.store(ln.x_new[j], xn)
        p = v.select(mask, xn - x, v.load(ln.p[j]))
        v.store(ln.p[j], p)
        if copy_step:
            v.store(ln.delta[j], v.select(mask, v.load(step[j]), v.load(ln.delta[j])))
        t = t + v.load(ln.d[j]) * p * p
    v.store(ln.fl[F_STEP_NORM], v.select(mask, v.sqrt(t), v.load(ln.fl[F_STEP_NORM])))


@jit
def _model_terms(ln):
    """``|J p|^2 = p^T A p`` and ``g.p`` in every lane (the per-fit ``quadratic_term`` and ``_after_model``)."""
    n = ln.x.shape[0]
    q = v.splat(0.0)
    gp = v.splat(0.0)
    for a in range(n):
        t = v.splat(0.0)
        for b in range(n):
            t = t + v.load(ln.A[a, b]) * v.load(ln.p[b])
        q = q + t * v.load(ln.p[a])
    for a in range(n):
        gp = gp + v.load(ln.g[a]) * v.load(ln.p[a])
    v.store(ln.vec[V_Q], q)
    v.store(ln.vec[V_GP], gp)


# ------------------------------------------------------------------------------------- per-lane decisions
@jit_inline
def _is_step_test(status):
    return status == c.STATUS_FTOL or status == c.STATUS_XTOL or status == c.STATUS_FTOL_XTOL


@jit_inline
def _not_worse_to_rounding(cost_new, actual, cost):
    return math.isfinite(cost_new) and actual >= -FINAL_STEP_SLACK * c.EPS * cost


@jit_inline
def _move(ln, l, cost_new):
    """Lane ``l`` moves to the evaluated point (``keep_trial_point``; the vectors follow in :func:`adopt`)."""
    ln.vec[V_KEEP, l] = 1.0
    ln.fl[F_COST, l] = cost_new
    ln.fl[F_LAST_STEP, l] = ln.fl[F_STEP_NORM, l]


@jit_inline
def _judge_trial(ln, l, cost_new, actual_sum, opts_f, max_nfev):
    """The per-fit engine's ``_after_trial`` (trust-region rule) for lane ``l``."""
    fl = ln.fl
    fl[F_COST_NEW, l] = cost_new
    finite = math.isfinite(cost_new)
    actual = actual_sum if finite else -math.inf
    pred = fl[F_PRED, l]
    gain = actual / pred if finite and pred > 0.0 else -math.inf
    fl[F_ACTUAL, l] = actual
    fl[F_GAIN, l] = gain
    cost = fl[F_COST, l]
    accepted = gain > ACCEPT_RATIO and actual > 0.0 and cost_new <= cost
    ftol_ok = accepted and ftol_reached(actual, cost, gain, opts_f[c.O_FTOL])
    status = step_status(ftol_ok, xtol_reached(fl[F_STEP_NORM, l], fl[F_X_NORM, l], opts_f[c.O_XTOL]))
    if not accepted:
        below_rounding = gain > ACCEPT_RATIO and actual > 0.0
        stagnant = fl[F_STEP_NORM, l] <= c.EPS * fl[F_X_NORM, l] or fl[F_LAM, l] >= LAM_MAX or below_rounding
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
        _move(ln, l, cost_new)
        ln.vec[V_ADOPT, l] = 1.0
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
def judge(ln, opts_f, opts_i, poisson):
    """What each lane's evaluation was for: the start (``PHASE_AFTER_F0``), a trial (``_after_trial``) or the
    final Gauss-Newton step (``judge_final_step``); then the lanes that moved take the evaluated point."""
    for l in range(LANES):
        ln.vec[V_ADOPT, l] = 0.0
        ln.vec[V_KEEP, l] = 0.0
        ln.vec[V_REQUEST, l] = 0.0
        phase = ln.it[I_PHASE, l]
        cost_new = ln.vec[V_COST, l]
        if phase == EVAL_START:
            _move(ln, l, cost_new)
            ln.vec[V_ADOPT, l] = 1.0
            if math.isfinite(cost_new):
                ln.it[I_NEXT, l] = NEXT_LINEARIZE
            else:
                _finish(ln, l, c.STATUS_NONFINITE)
        elif phase == EVAL_FINAL:
            if _not_worse_to_rounding(cost_new, ln.vec[V_ACTUAL, l], ln.fl[F_COST, l]):
                _move(ln, l, cost_new)
                if opts_i[c.O_FINAL_J]:  # the Jacobian at the returned point
                    ln.vec[V_ADOPT, l] = 1.0
                    ln.it[I_NJEV, l] += 1
            _finish(ln, l, ln.it[I_PENDING, l])
        elif phase == EVAL_TRIAL:
            _judge_trial(ln, l, cost_new, ln.vec[V_ACTUAL, l], opts_f, opts_i[c.O_MAX_NFEV])
    adopt(ln, poisson)


@jit
def _linearize_vectors(ln, jac_scaling):
    """For the lanes in ``V_NEED`` (``V_FIRST``: their first Jacobian): finite column norms, optimality (with
    Coleman and Li's scaling by the distance to the bound the gradient points at), the free variables (all
    but those at a bound with the gradient pushing outwards) and a collapsed column (against the norms
    before), then ``colsq_prev``, Moré's scaling ``d`` and ``|d^(1/2) x|``."""
    n = ln.x.shape[0]
    need = v.load(ln.vec[V_NEED])
    first = v.load(ln.vec[V_FIRST])
    zero = v.splat(0.0)
    one = v.splat(1.0)
    fin = one
    opt = zero
    lost = zero
    for j in range(n):
        cj = v.load(ln.colsq[j])
        fin = fin * v.finite(cj)
        g, x, lb, ub = v.load(ln.g[j]), v.load(ln.x[j]), v.load(ln.lb[j]), v.load(ln.ub[j])
        toward_ub = v.lt(g, zero) * v.finite(ub)
        toward_lb = v.gt(g, zero) * v.finite(lb)
        opt = max(opt, v.abs(g * v.select(toward_ub, ub - x, v.select(toward_lb, x - lb, one))))
        held = max(v.ge(lb, x) * v.gt(g, zero), v.ge(x, ub) * v.lt(g, zero))
        v.store(ln.free[j], v.select(need, one - held, v.load(ln.free[j])))
        lost = max(lost, v.lt(cj, COLLAPSE * v.load(ln.colsq_prev[j])))
        v.store(ln.colsq_prev[j], v.select(need, cj, v.load(ln.colsq_prev[j])))
        if jac_scaling:
            dj = v.load(ln.d[j])
            grow = need * max(first, v.gt(cj, dj))
            v.store(ln.d[j], v.select(grow, v.select(max(v.gt(cj, zero), one - first), cj, one), dj))
    v.store(ln.vec[V_FINITE], fin)
    v.store(ln.vec[V_OPT], opt)
    v.store(ln.vec[V_LOST], lost)
    _scaled_norms(ln.x, ln.d, ln.vec[V_X_NORM])


@jit_inline
def _after_gradient(ln, l, opts_f, opts_i):
    """The per-fit engine's ``_after_gradient`` decisions for lane ``l`` (linear loss)."""
    it = ln.it
    fl = ln.fl
    if ln.vec[V_FINITE, l] == 0.0:
        return _finish(ln, l, c.STATUS_NONFINITE)
    pending = it[I_PENDING, l]
    opt = ln.vec[V_OPT, l]
    fl[F_OPTIMALITY, l] = opt
    gtol = gtol_reached(opt, opts_f[c.O_GTOL])
    if (it[I_NIT, l] > 0 and MAX_UNDO > 0 and (pending == c.STATUS_NONE or _is_step_test(pending)) and not gtol
            and ln.vec[V_LOST, l] != 0.0):
        return _finish(ln, l, BAIL)  # the per-fit engine undoes the step
    x_norm = ln.vec[V_X_NORM, l]
    fl[F_X_NORM, l] = x_norm
    if ln.vec[V_FIRST, l] != 0.0:
        fl[F_LAM, l] = initial_lambda(c.RULE_TRUST_REGION, opts_f[c.O_TAU], 0.0)  # 0: the trust region starts
        fl[F_RADIUS, l] = opts_f[c.O_FACTOR] * x_norm if x_norm > 0.0 else opts_f[c.O_FACTOR]
    if pending != c.STATUS_NONE and not _is_step_test(pending):
        return _finish(ln, l, pending)
    if gtol:
        return _finish(ln, l, c.STATUS_GTOL)
    if it[I_NFEV, l] >= opts_i[c.O_MAX_NFEV] or it[I_NIT, l] >= opts_i[c.O_MAX_NIT]:
        return _finish(ln, l, c.STATUS_MAX_NFEV)
    it[I_NEXT, l] = NEXT_PROPOSE


@jit
def linearize(ln, opts_f, opts_i):
    """``_after_jacobian`` and ``_after_gradient`` for the lanes that moved: gradient, ``J^T J``, scaling and
    the stopping tests at their new point."""
    normal_equations(ln)
    for l in range(LANES):
        need = ln.it[I_NEXT, l] == NEXT_LINEARIZE
        ln.vec[V_NEED, l] = 1.0 if need else 0.0
        if need:
            ln.it[I_NJEV, l] += 1
        ln.vec[V_FIRST, l] = 1.0 if ln.it[I_NJEV, l] == 1 else 0.0
    _linearize_vectors(ln, opts_i[c.O_SCALING] == c.SCALING_JAC)
    for l in range(LANES):
        if ln.vec[V_NEED, l] != 0.0:
            _after_gradient(ln, l, opts_f, opts_i)


@jit_inline
def _search_start(ln, l):
    """The start of ``trust_region_step`` for lane ``l`` after its undamped solve: done when the Gauss-Newton
    step fits in the radius, else the bounds and first guess of the secular equation's Newton iteration."""
    fl = ln.fl
    radius = fl[F_RADIUS, l]
    parl = 0.0
    dxnorm = 0.0
    if ln.vec[V_OK, l] != 0.0:
        dxnorm = ln.vec[V_DXNORM, l]
        fp = dxnorm - radius
        if fp <= TR_TOLERANCE * radius:
            fl[F_TRIAL_LAM, l] = 0.0
            ln.it[I_TR, l] = TR_FOUND
            return
        if dxnorm > 0.0:
            parl = fp / radius / ln.vec[V_LSLOPE, l]
    gnorm = ln.vec[V_GNORM, l]
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


@jit_inline
def _search_step(ln, l, last):
    """One Newton iteration of ``trust_region_step`` for lane ``l`` after its solve at ``lam = par``."""
    fl = ln.fl
    par = fl[F_PAR, l]
    if ln.vec[V_OK, l] == 0.0:
        fl[F_PARL, l] = par
        fl[F_PAR, l] = 10.0 * par
        return
    radius = fl[F_RADIUS, l]
    fp = ln.vec[V_DXNORM, l] - radius
    fp_prev = fl[F_FP_PREV, l]
    if abs(fp) <= TR_TOLERANCE * radius or (fl[F_PARL, l] == 0.0 and fp <= fp_prev and fp_prev < 0.0) or last:
        fl[F_TRIAL_LAM, l] = par
        ln.it[I_TR, l] = TR_FOUND
        return
    parc = fp / radius / ln.vec[V_LSLOPE, l]
    if fp > 0.0:
        fl[F_PARL, l] = max(fl[F_PARL, l], par)
    elif fp < 0.0:
        fl[F_PARU, l] = min(fl[F_PARU, l], par)
    fl[F_PAR, l] = max(fl[F_PARL, l], par + parc)
    fl[F_FP_PREV, l] = fp


@jit
def _keep_undamped(ln):
    """The undamped solve of this linearisation (``delta0``, its success ``V_OK0``) in the lanes that made it."""
    take = v.load(ln.vec[V_NEED])
    v.store(ln.vec[V_OK0], v.select(take, v.load(ln.vec[V_OK]), v.load(ln.vec[V_OK0])))
    for a in range(ln.x.shape[0]):
        v.store(ln.delta0[a], v.select(take, v.load(ln.sol[a]), v.load(ln.delta0[a])))


@jit
def trust_region_steps(ln):
    """``trust_region_step`` for the lanes that propose, all searching lanes solving together: ``lam`` from
    the secular equation (MINPACK's ``lmpar``). A lane whose search finds no finite step bails."""
    any_search = False
    for l in range(LANES):
        need = ln.it[I_NEXT, l] == NEXT_PROPOSE
        ln.vec[V_NEED, l] = 1.0 if need else 0.0
        ln.vec[V_LAM, l] = 0.0
        ln.it[I_TR, l] = TR_OFF
        any_search = any_search or need
    if not any_search:
        return
    solve_lanes(ln)
    _keep_undamped(ln)
    _step_lengths(ln)
    _gradient_norms(ln)
    for l in range(LANES):
        if ln.vec[V_NEED, l] != 0.0:
            _search_start(ln, l)
    for k in range(TR_LAM_ITERATIONS):
        any_search = False
        for l in range(LANES):
            searching = ln.it[I_TR, l] == TR_SEARCH
            ln.vec[V_NEED, l] = 1.0 if searching else 0.0
            if searching:
                if ln.fl[F_PAR, l] == 0.0:
                    ln.fl[F_PAR, l] = max(DWARF, 0.001 * ln.fl[F_PARU, l])
                ln.vec[V_LAM, l] = ln.fl[F_PAR, l]
                any_search = True
        if not any_search:
            break
        solve_lanes(ln)
        _step_lengths(ln)
        for l in range(LANES):
            if ln.vec[V_NEED, l] != 0.0:
                _search_step(ln, l, k == TR_LAM_ITERATIONS - 1)
    for l in range(LANES):
        if ln.it[I_TR, l] == TR_SEARCH:
            _finish(ln, l, BAIL)  # no finite step: the per-fit engine damps harder


@jit_inline
def _predict(ln, l, opts_f):
    """``_after_model`` for lane ``l``, whose step is placed: the predicted reduction, then confirm a pending
    step test or request the trial."""
    fl = ln.fl
    gp = ln.vec[V_GP, l]
    fl[F_SLOPE, l] = gp
    fl[F_PRED, l] = -(gp + 0.5 * ln.vec[V_Q, l])
    pending = ln.it[I_PENDING, l]
    if _is_step_test(pending):
        # a step test held on the last accepted step: stop only if the model here agrees
        ftol_ok = fl[F_PRED, l] <= opts_f[c.O_FTOL] * fl[F_COST, l]
        xtol_ok = xtol_reached(fl[F_STEP_NORM, l], fl[F_X_NORM, l], opts_f[c.O_XTOL])
        status = step_status(ftol_ok and pending != c.STATUS_XTOL, xtol_ok and pending != c.STATUS_FTOL)
        if status != c.STATUS_NONE:
            ln.it[I_FINAL_STATUS, l] = status
            ln.it[I_NEXT, l] = NEXT_FINAL_UNEVALUATED
            return
        ln.it[I_PENDING, l] = c.STATUS_NONE
    _request(ln, l, EVAL_TRIAL)


@jit
def predict(ln, opts_f):
    """``_place_step`` and ``_after_model`` for the lanes whose trust-region step was found."""
    for l in range(LANES):
        found = ln.it[I_NEXT, l] == NEXT_PROPOSE and ln.it[I_TR, l] == TR_FOUND
        ln.vec[V_NEED, l] = 1.0 if found else 0.0
        if found:
            ln.fl[F_LAM, l] = ln.fl[F_TRIAL_LAM, l]
    _place_lanes(ln, v.load(ln.vec[V_NEED]), ln.delta, False)
    _model_terms(ln)
    for l in range(LANES):
        if ln.vec[V_NEED, l] != 0.0:
            _predict(ln, l, opts_f)


@jit_inline
def _final_step_start(ln, l, opts_i):
    """The first half of ``final_gauss_newton_step`` for lane ``l``: stop at once, or place the undamped step
    (``V_NEED``), or evaluate the damped trial already placed."""
    fl = ln.fl
    status = ln.it[I_FINAL_STATUS, l]
    evaluated = ln.it[I_NEXT, l] == NEXT_FINAL_EVALUATED
    if ln.it[I_NFEV, l] >= opts_i[c.O_MAX_NFEV]:
        return _finish(ln, l, status)
    if fl[F_TRIAL_LAM, l] == 0.0 and evaluated:
        # the trial just rejected was the Gauss-Newton step itself
        if _not_worse_to_rounding(fl[F_COST_NEW, l], fl[F_ACTUAL, l], fl[F_COST, l]):
            fl[F_COST, l] = fl[F_COST_NEW, l]
            for j in range(ln.x.shape[0]):
                ln.x[j, l] = ln.x_new[j, l]
            for i in range(ln.r.shape[0]):
                ln.r[i, l] = ln.r_new[i, l]
                ln.fisher[i, l] = ln.fisher_new[i, l]
        return _finish(ln, l, status)
    if ln.vec[V_OK0, l] != 0.0:
        ln.vec[V_NEED, l] = 1.0
    elif evaluated:
        return _finish(ln, l, status)
    ln.it[I_PENDING, l] = status
    _request(ln, l, EVAL_FINAL)


@jit
def final_steps(ln, opts_i):
    """``final_gauss_newton_step`` for the lanes that stop on a step test: one last undamped step (the
    linearisation's ``delta0``), evaluated and kept unless the cost rose above its rounding level."""
    for l in range(LANES):
        ln.vec[V_NEED, l] = 0.0
        nxt = ln.it[I_NEXT, l]
        if nxt == NEXT_FINAL_EVALUATED or nxt == NEXT_FINAL_UNEVALUATED:
            _final_step_start(ln, l, opts_i)
    _place_lanes(ln, v.load(ln.vec[V_NEED]), ln.delta0, True)


@jit
def advance_lanes(ln, opts_f, opts_i, unit_weights, poisson):
    """One round after the evaluation at ``P`` (``F``, ``J_new`` filled by the model): every busy lane ends it
    with a new point to evaluate (``I_NEXT == NEXT_NONE``) or done (``NEXT_DONE``). ``unit_weights``: every
    weight is 1; ``poisson``: Poisson maximum likelihood (deviance residuals, :mod:`.deviance`)."""
    residuals_and_costs(ln, unit_weights, poisson)
    judge(ln, opts_f, opts_i, poisson)
    linearize(ln, opts_f, opts_i)
    trust_region_steps(ln)
    predict(ln, opts_f)
    final_steps(ln, opts_i)
    request_points(ln)
