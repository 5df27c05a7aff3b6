"""The damped step: factor the linearisation, solve ``(A + lam*diag(d)) delta = -g`` on the free variables,
choose ``lam`` for a trust region, place the step inside the bounds and measure what the model predicts.

``A = J^T J`` is factored by Cholesky (``A`` formed by the engine, or by the driver for ``SOLVER_NORMAL``) or
``J`` by QR once per Jacobian, after which each trial ``lam`` costs one small QR of ``[R; sqrt(lam d)]``
(Moré 1978). Either way the solve leaves a triangular ``R_lam`` with ``R_lam^T R_lam = A + lam*diag(d)``
that the trust-region search reuses for the derivative of the step length.
"""

import math

from ..._setup.jit import jit_inline
from ..._setup.jit import jit_stage as jit
from .codes import CHOLESKY_MAX_CONDITION, SOLVER_CHOLESKY, SOLVER_NORMAL, SOLVER_QR
from .layout import LAM, NFREE, OPTIMALITY, RADIUS, STEP_NORM, TRIAL_LAM
from .linalg import back_substitute, cholesky_factor, cholesky_solve, householder_triangularize

TR_LAM_ITERATIONS = 10
"""Newton iterations on the secular equation per trial (MINPACK's ``lmpar``)."""
TR_TOLERANCE = 0.1
"""The trust-region step is accepted when its scaled length is within 10 % of the radius."""
DWARF = 2.2250738585072014e-308
STEP_BACK = 0.995
"""Fraction of the distance to a bound a step component may cover (SciPy trf's theta)."""


@jit
def scaled_norm(v, d):
    """``|d^(1/2) v|``."""
    t = 0.0
    for j in range(v.shape[0]):
        t += d[j] * v[j] * v[j]
    return math.sqrt(t)


@jit
def factor(w, solver):
    """Factor the linearisation on the free variables: ``A = J^T J`` (Cholesky) or ``[J | f] -> [R | Q^T f]``."""
    m = w.Jt.shape[1]
    nf = w.si[NFREE]
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
                t = 0.0
                for i in range(m):
                    t += ra[i] * rb[i]
                w.A[a, b] = t
                w.A[b, a] = t
    elif solver == SOLVER_QR:
        for a in range(nf):
            ra = w.Jt[w.free[a]]
            for i in range(m):
                w.QJ[a, i] = ra[i]
        for i in range(m):
            w.QJ[nf, i] = w.fs[i]
        householder_triangularize(w.QJ, m, nf, nf + 1)


@jit_inline
def well_conditioned(w):
    """Whether ``A = J^T J`` on the free variables (formed by :func:`factor`) may stay on Cholesky: the
    column-scaled ``A_s`` (unit diagonal) has a Cholesky factor ``L`` and ``nf |L^-1|_F^2``, a bound on the
    2-norm condition number of ``A_s`` from above (``|A_s| <= trace A_s = nf``, ``|A_s^-1| <= |L^-1|_F^2``),
    is at most :data:`CHOLESKY_MAX_CONDITION`. Uses ``w.L``, ``w.rhs`` and ``w.delta`` as scratch."""
    nf = w.si[NFREE]
    for a in range(nf):
        if not (w.A[a, a] > 0.0 and math.isfinite(w.A[a, a])):
            return False
        w.rhs[a] = 1.0 / math.sqrt(w.A[a, a])
    for a in range(nf):
        for b in range(a + 1):
            w.L[a, b] = w.A[a, b] * w.rhs[a] * w.rhs[b]
    if not cholesky_factor(w.L, nf, w.L):
        return False
    total = 0.0
    for k in range(nf):  # |L^-1|_F^2, column k of L^-1 by forward substitution (zero above row k)
        for i in range(k, nf):
            v = 1.0 if i == k else 0.0
            for j in range(k, i):
                v -= w.L[i, j] * w.delta[j]
            v /= w.L[i, i]
            w.delta[i] = v
            total += v * v
    return nf * total <= CHOLESKY_MAX_CONDITION


@jit
def solve_damped(w, lam, solver):
    """Solve ``(A + lam*diag(d)) delta = -g`` on the free variables into ``w.delta[:nf]``; False when the
    system is singular or the solution is not finite."""
    m = w.Jt.shape[1]
    nf = w.si[NFREE]
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
    return delta_finite(w)


@jit
def delta_finite(w):
    for a in range(w.si[NFREE]):
        if not math.isfinite(w.delta[a]):
            return False
    return True


@jit
def _delta_scaled_norm(w):
    """``|d^(1/2) delta|`` over the free variables."""
    t = 0.0
    for a in range(w.si[NFREE]):
        t += w.d[w.free[a]] * w.delta[a] * w.delta[a]
    return math.sqrt(t)


@jit
def _length_slope(w, solver, dxnorm):
    """``|R_lam^-T d delta|^2 / |d^(1/2) delta|^2`` from the factor of the last solve: ``-phi'(lam) / |D delta|``
    for ``phi(lam) = |D delta(lam)|`` (MINPACK's ``lmpar``); ``w.rhs`` is the work vector."""
    nf = w.si[NFREE]
    for a in range(nf):
        w.rhs[a] = w.d[w.free[a]] * w.delta[a] / dxnorm
    t = 0.0
    for i in range(nf):  # forward substitution with R^T (lower triangular)
        v = w.rhs[i]
        if solver == SOLVER_QR:
            for k in range(i):
                v -= w.S[i, k] * w.rhs[k]  # R[k, i], R stored by columns
            v /= w.S[i, i]
        else:
            for k in range(i):
                v -= w.L[i, k] * w.rhs[k]
            v /= w.L[i, i]
        w.rhs[i] = v
        t += v * v
    return t


@jit
def trust_region_step(w, solver):
    """Choose ``lam`` so that the step's scaled length ``|d^(1/2) delta|`` is within 10 % of the radius (or
    ``lam = 0`` when the Gauss-Newton step is shorter), solving the secular equation by MINPACK's
    safeguarded Newton iteration (Moré 1978, ``lmpar``); ``w.delta`` holds the step, ``state.trial_lam`` its
    ``lam``. The starting guess is the previous ``lam``. False when no finite step was found.
    """
    si, sf = w.si, w.sf
    nf = si[NFREE]
    radius = sf[RADIUS]
    parl = 0.0
    dxnorm = 0.0
    if solve_damped(w, 0.0, solver):
        dxnorm = _delta_scaled_norm(w)
        fp = dxnorm - radius
        if fp <= TR_TOLERANCE * radius:
            sf[TRIAL_LAM] = 0.0
            return True
        if dxnorm > 0.0:
            parl = fp / radius / _length_slope(w, solver, dxnorm)
    gnorm = 0.0
    for a in range(nf):
        j = w.free[a]
        gnorm += w.g[j] * w.g[j] / w.d[j]
    gnorm = math.sqrt(gnorm)
    paru = gnorm / radius
    if paru == 0.0:
        paru = DWARF / min(radius, 0.1)
    par = min(max(sf[LAM], parl), paru)
    if par == 0.0:
        par = gnorm / dxnorm if dxnorm > 0.0 else 0.001 * paru
    fp_prev = 0.0
    for it in range(TR_LAM_ITERATIONS):
        if par == 0.0:
            par = max(DWARF, 0.001 * paru)
        if not solve_damped(w, par, solver):
            parl = par
            par = 10.0 * par
            continue
        dxnorm = _delta_scaled_norm(w)
        fp = dxnorm - radius
        if (abs(fp) <= TR_TOLERANCE * radius or (parl == 0.0 and fp <= fp_prev and fp_prev < 0.0)
                or it == TR_LAM_ITERATIONS - 1):
            sf[TRIAL_LAM] = par
            return True
        parc = fp / radius / _length_slope(w, solver, dxnorm)
        if fp > 0.0:
            parl = max(parl, par)
        elif fp < 0.0:
            paru = min(paru, par)
        par = max(parl, par + parc)
        fp_prev = fp
    return False


@jit
def quadratic_term(w, solver):
    """``|J p|^2`` for the step ``p`` on the free variables, from the factorisation."""
    m = w.Jt.shape[1]
    nf = w.si[NFREE]
    q = 0.0
    if solver == SOLVER_QR:
        for a in range(min(m, nf)):
            t = 0.0
            for b in range(a, nf):
                t += w.QJ[b, a] * w.p[w.free[b]]
            q += t * t
    else:
        for a in range(nf):
            t = 0.0
            for b in range(nf):
                t += w.A[a, b] * w.p[w.free[b]]
            q += t * w.p[w.free[a]]
    return q


@jit
def place(w, alpha, bounded):
    """``x_new = x + alpha*delta`` kept inside the box, ``p = x_new - x`` and its scaled norm.

    A component that would cross a bound goes a fraction ``theta = max(STEP_BACK, 1 - optimality)`` of the
    way to it, as SciPy's trf does: landing exactly on a bound can trap a variable where its column of ``J``
    vanishes (``sqrt(u**2 + c**2)`` at ``c = 0``), while a bound that is active at the solution is still
    approached ever faster as the gradient vanishes.
    """
    si, sf = w.si, w.sf
    theta = max(STEP_BACK, 1.0 - sf[OPTIMALITY])
    for j in range(w.x.shape[0]):
        w.p[j] = 0.0
        w.x_new[j] = w.x[j]
    for a in range(si[NFREE]):
        j = w.free[a]
        xj = w.x[j] + alpha * w.delta[a]
        if bounded:
            # a step that overshoots by more than 1 / (1 - theta) lands on the bound: the variable is
            # already within the last step-back of it, and is held there from the next linearisation
            if xj < w.lb[j]:
                gap = w.x[j] - w.lb[j]
                xj = w.lb[j] if (1.0 - theta) * (w.x[j] - xj) >= gap else w.x[j] - theta * gap
            elif xj > w.ub[j]:
                gap = w.ub[j] - w.x[j]
                xj = w.ub[j] if (1.0 - theta) * (xj - w.x[j]) >= gap else w.x[j] + theta * gap
        w.x_new[j] = xj
        w.p[j] = xj - w.x[j]
    sf[STEP_NORM] = scaled_norm(w.p, w.d)
