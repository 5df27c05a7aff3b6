"""What the engine computes at a new point once its Jacobian is known: the robust-loss scaling, gradient
and column norms, the variable scaling ``d``, first-order optimality and the free (not held) variables."""

import math

from ..._setup.jit import jit_inline as jit
from .codes import EPS, LOSS_LINEAR
from .layout import NFREE
from .state import copy


@jit
def scale_for_loss(w, loss):
    """Replace ``J`` and ``fs`` by their robust-loss versions (SciPy's ``scale_for_robust_loss_function``)."""
    n, mj = w.Jt.shape  # mj = 0 when the driver holds J
    m = w.r.shape[0]
    if loss == LOSS_LINEAR:
        copy(w.fs, w.r)
        return
    for i in range(m):
        t = w.rho[1, i] + 2.0 * w.rho[2, i] * w.r[i] * w.r[i]
        if t < EPS:
            t = EPS
        t = t**0.5
        w.fs[i] = w.r[i] * (w.rho[1, i] / t)
        w.row_scale[i] = t
    for j in range(n):
        row = w.Jt[j]
        for i in range(mj):
            row[i] *= w.row_scale[i]


@jit
def gradient_and_column_norms(w):
    """``g = J^T fs`` and the squared column norms of ``J`` (the engine holds ``J``)."""
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
def update_scaling(w, first):
    """Moré's scaling: ``d`` is the running maximum of the squared column norms (1 for a zero column)."""
    for j in range(w.x.shape[0]):
        c = w.colsq[j]
        if first:
            w.d[j] = c if c > 0.0 else 1.0
        elif c > w.d[j]:
            w.d[j] = c


@jit
def optimality(w, bounded):
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
def select_free(w, bounded):
    """Free variables: all, except those at a bound with the gradient pushing outwards."""
    nf = 0
    for j in range(w.x.shape[0]):
        held = False
        if bounded:
            held = (w.x[j] <= w.lb[j] and w.g[j] > 0.0) or (w.x[j] >= w.ub[j] and w.g[j] < 0.0)
        if not held:
            w.free[nf] = j
            nf += 1
    w.si[NFREE] = nf
