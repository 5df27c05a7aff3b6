"""The second-order term of the Hessian: ``H = J^T J + S`` with ``S ~ sum r_i grad^2 r_i``.

Gauss-Newton drops ``S``; where the residuals stay large at the solution (NIST ENSO, ``x**2 + 5``), its
model of the cost is then wrong to first order in the residuals and the iteration converges linearly. With
``HESSIAN_EXACT`` the driver computes ``S`` with every Jacobian (a user's ``hess``, or differences of ``J``);
with ``HESSIAN_SECANT`` it is built here from ``J`` and ``r`` alone by the structured secant update of
Dennis, Gay and Welsch (NL2SOL, 1981):

    s = x_new - x,  y = g_new - g,  y# = (J_new - J)^T r_new,  v = y# - S s
    S <- tau S  with  tau = min(1, |s.y#| / |s.S s|)       (sizing)
    S <- S + (v y^T + y v^T) / (y.s) - (v.s) y y^T / (y.s)^2

and, as NL2SOL does, ``S`` enters the model only while it predicted the last step's reduction better than
``J^T J`` alone. ``A = J^T J + S`` may be indefinite: the damped solve ``(A + lam D) delta = -g`` then fails
its Cholesky factorisation until ``lam`` is large enough, and a step the factorisation accepts has a
positive predicted reduction ``delta^T (A + 2 lam D) delta / 2``, so no step is taken uphill.
"""

import math

from ..._setup.jit import jit_inline as jit
from .codes import HESSIAN_EXACT, HESSIAN_SECANT
from .layout import NFREE, PRED, SECANT_READY, USE_S


@jit
def in_model(w, hessian):
    """Whether ``S`` is part of the model this iteration."""
    return hessian == HESSIAN_EXACT or (hessian == HESSIAN_SECANT and w.si[USE_S])


@jit
def add_to_normal_matrix(w):
    """``A += S`` on the free variables (``A`` holds ``J^T J`` restricted to them)."""
    nf = w.si[NFREE]
    for a in range(nf):
        for b in range(nf):
            w.A[a, b] += w.H2[w.free[a], w.free[b]]


@jit
def _curvature(w, v):
    """``v^T S v``."""
    n = v.shape[0]
    t = 0.0
    for a in range(n):
        u = 0.0
        for b in range(n):
            u += w.H2[a, b] * v[b]
        t += v[a] * u
    return t


@jit
def remember_step(w, hessian, actual):
    """At an accepted step (``w.p``, residuals ``w.r_new``, ``J`` and ``g`` still those of the old point):
    keep ``J^T r_new``, ``g`` and ``p`` for the update, and judge which model predicted the step better."""
    if hessian != HESSIAN_SECANT:
        return
    si, sf = w.si, w.sf
    n, m = w.Jt.shape
    for j in range(n):
        t = 0.0
        for i in range(m):
            t += w.Jt[j, i] * w.r_new[i]
        w.sec[0, j] = t
        w.sec[1, j] = w.g[j]
        w.sec[2, j] = w.p[j]
    half_q = 0.5 * _curvature(w, w.p)
    pred_gn = sf[PRED] + half_q if si[USE_S] else sf[PRED]
    pred_s = pred_gn - half_q
    si[USE_S] = abs(actual - pred_s) < abs(actual - pred_gn)
    si[SECANT_READY] = True


@jit
def secant_update(w, hessian):
    """Update ``S`` with the step remembered by :func:`remember_step`, once ``J`` and ``g`` are those of the
    new point. Skipped when ``y.s <= 0`` (no curvature information along the step)."""
    si = w.si
    if hessian != HESSIAN_SECANT or not si[SECANT_READY]:
        return
    si[SECANT_READY] = False
    n = w.x.shape[0]
    ys = 0.0
    sy_sharp = 0.0
    for j in range(n):
        ys += (w.g[j] - w.sec[1, j]) * w.sec[2, j]
        sy_sharp += (w.g[j] - w.sec[0, j]) * w.sec[2, j]
    if not (ys > 0.0 and math.isfinite(ys) and math.isfinite(sy_sharp)):
        return
    sss = _curvature(w, w.sec[2])
    if sss != 0.0:
        tau = min(1.0, abs(sy_sharp) / abs(sss))
        for a in range(n):
            for b in range(n):
                w.H2[a, b] *= tau
    # v = y# - S s into sec[0] (J_old^T r_new is no longer needed once y# is formed), y into sec[1]
    vs = 0.0
    for a in range(n):
        t = 0.0
        for b in range(n):
            t += w.H2[a, b] * w.sec[2, b]
        y_sharp = w.g[a] - w.sec[0, a]
        w.sec[0, a] = y_sharp - t
        w.sec[1, a] = w.g[a] - w.sec[1, a]
        vs += w.sec[0, a] * w.sec[2, a]
    for a in range(n):
        for b in range(n):
            w.H2[a, b] += ((w.sec[0, a] * w.sec[1, b] + w.sec[1, a] * w.sec[0, b]) / ys
                           - vs * w.sec[1, a] * w.sec[1, b] / (ys * ys))


