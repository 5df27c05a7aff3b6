"""The batch kernel: ``prange`` over independent fits of one compiled model, each run by the same engine.

Fits are split into contiguous chunks; each chunk allocates one workspace and one scratch set and reuses
them for all its fits, so nothing is allocated per fit. A fit with bad input (non-finite data or start,
start outside the bounds) is skipped with ``STATUS_BAD_INPUT``; any other failure is the engine's status.
"""

import math

import numpy as np
from numba import prange

from ..._setup.jit import jit_engine, jit_parallel
from ..._setup.workspace import make_scratch_jit, make_workspace_jit
from ..engine.codes import STATUS_BAD_INPUT
from ..engine.linalg import cholesky_factor, cholesky_solve
from ..engine.state import reset
from .compiled import model_at, run_compiled
from .finite_diff import SCHEME_2POINT, step_floors


@jit_engine
def _finite(v):
    for j in range(v.shape[0]):
        if not math.isfinite(v[j]):
            return False
    return True


@jit_engine
def parameter_stderr(w, scale, out):
    """``sqrt(diag((J^T J)^-1) * scale)`` into ``out`` from the Jacobian in ``w.Jt``; inf when singular."""
    n, m = w.Jt.shape
    for a in range(n):
        for b in range(a + 1):
            s = 0.0
            for i in range(m):
                s += w.Jt[a, i] * w.Jt[b, i]
            w.A[a, b] = s
            w.A[b, a] = s
    if not cholesky_factor(w.A, n, w.L):
        for j in range(n):
            out[j] = np.inf
        return
    for j in range(n):
        for a in range(n):
            w.rhs[a] = 0.0
        w.rhs[j] = 1.0
        cholesky_solve(w.L, n, w.rhs, w.delta)
        out[j] = math.sqrt(w.delta[j] * scale) if w.delta[j] >= 0.0 else np.inf


@jit_engine
def fit_one(i, model_addr, jac_addr, has_jac, guess, use_guess, X, Y, wts, P0, lb, ub, d0, minpack, opts_f, opts_i,
            scheme, rstep, absolute_sigma, w, s, params, stderr, cost, nit, nfev, status):
    """Fit row ``i`` of ``Y`` on the workspace ``w`` and write its results."""
    m = Y.shape[1]
    n = params.shape[1]
    Xi = X[i] if X.shape[0] > 1 else X[0]  # per-fit rows, or one row shared by every fit
    y = Y[i]
    wi = wts[i] if wts.shape[0] > 1 else wts[0]
    if use_guess:
        if _finite(y):
            guess(Xi, y, w.x)
        for j in range(n):
            w.x[j] = min(max(w.x[j], lb[j]), ub[j])
    else:
        p0 = P0[i] if P0.shape[0] > 1 else P0[0]
        for j in range(n):
            w.x[j] = p0[j]
    ok = _finite(y) and _finite(wi) and _finite(w.x)
    for j in range(n):
        ok = ok and lb[j] <= w.x[j] <= ub[j]
    if not ok:
        for j in range(n):
            params[i, j] = np.nan
            stderr[i, j] = np.nan
        cost[i] = np.nan
        nit[i] = 0
        nfev[i] = 0
        status[i] = STATUS_BAD_INPUT
        return
    for j in range(n):
        w.lb[j] = lb[j]
        w.ub[j] = ub[j]
        w.d[j] = d0[j]
        s.rel[j] = -1.0
    if minpack and scheme == SCHEME_2POINT:
        step_floors(w.x, s.rel)
    reset(w, opts_i)
    run_compiled(model_addr, jac_addr, has_jac, Xi, y, wi, w, s, opts_f, opts_i, scheme, rstep)
    for j in range(n):
        params[i, j] = w.x[j]
    st = w.state[0]
    cost[i] = st.cost
    nit[i] = st.nit
    nfev[i] = st.nfev
    status[i] = st.status
    scale = 1.0
    if not absolute_sigma:
        scale = 2.0 * st.cost / (m - n) if m > n else np.inf
    parameter_stderr(w, scale, stderr[i])


@jit_parallel
def fit_batch(model_addr, jac_addr, has_jac, guess_addr, use_guess, X, Y, wts, P0, lb, ub, d0, minpack, opts_f,
              opts_i, scheme, rstep, qr, absolute_sigma, n_chunks, params, stderr, cost, nit, nfev, status):
    """Fit every row of ``Y``; results go to the output arrays (one row or entry per fit).

    Parameters
    ----------
    model_addr, jac_addr, guess_addr : int
        cfunc addresses (see :mod:`lsq._kernels.drivers.compiled`); ``jac_addr``/``guess_addr`` unused when
        ``has_jac``/``use_guess`` is false.
    X : ndarray, shape (k or 1, d, m)
        Points per fit, or one set shared by all fits.
    Y : ndarray, shape (k, m)
    wts : ndarray, shape (k or 1, m)
        ``1 / sigma``.
    P0 : ndarray, shape (k or 1, n)
        Starting points (ignored with ``use_guess``).
    lb, ub, d0 : ndarray, shape (n,)
        Bounds and the initial scaling diagonal.
    minpack : bool
        Forward differences by MINPACK's relative rule with each fit's own floors
        (:func:`lsq._kernels.drivers.finite_diff.step_floors`), as a single damped fit takes them.
    absolute_sigma : bool
        Standard errors from ``(J^T J)^-1`` as is (True) or scaled by the reduced chi-square (False).
    n_chunks : int
        Number of chunks the fits are split into (a few per thread balances the load).
    """
    k, m = Y.shape
    n = params.shape[1]
    per = (k + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        start = c * per
        stop = min(k, start + per)
        if start < stop:
            w = make_workspace_jit(m, n, qr, 0, True, True, False)  # the batch fits use the linear loss
            s = make_scratch_jit(m, n)
            guess = model_at(guess_addr)
            for i in range(start, stop):
                fit_one(i, model_addr, jac_addr, has_jac, guess, use_guess, X, Y, wts, P0, lb, ub, d0, minpack,
                        opts_f, opts_i, scheme, rstep, absolute_sigma, w, s, params, stderr, cost, nit, nfev, status)
