"""The batch kernel: independent fits of one compiled model, each run by the same engine.

Fits are split into contiguous ranges, run on a pool of threads (:func:`lsq.batch.fit_batch`: the kernels
release the GIL); each range allocates one workspace and one scratch set and reuses them for all its fits,
so nothing is allocated per fit. A fit with bad input (non-finite data or start,
start outside the bounds) is skipped with ``STATUS_BAD_INPUT``; any other failure is the engine's status.
"""

import math
from collections import namedtuple

import numpy as np

from ..._identifiability import INVOLVED, RANK_RTOL, SINGULAR_SHIFT
from ..._setup.jit import jit_engine, jit_inline, jit_stage
from ..._setup.workspace import workspace_views
from ..engine.codes import ESTIMATOR_POISSON, STATUS_BAD_INPUT
from ..engine.layout import COST, NFEV, NIT, STATUS
from ..engine.linalg import cholesky_factor, cholesky_solve
from .compiled import driver_at, fisher_rows, model_at


@jit_stage
def _finite(v):
    for j in range(v.shape[0]):
        if not math.isfinite(v[j]):
            return False
    return True


@jit_stage
def _unit_normal_matrix(w):
    """``w.A = U``, the normal matrix of ``J`` (in ``w.Jt``) with columns scaled to unit length, and the
    column norms in ``w.p``; a zero column is decoupled (unit diagonal, zero elsewhere)."""
    n, m = w.Jt.shape
    for a in range(n):
        for b in range(a + 1):
            s = 0.0
            for i in range(m):
                s += w.Jt[a, i] * w.Jt[b, i]
            w.A[a, b] = s
            w.A[b, a] = s
    for j in range(n):
        w.p[j] = math.sqrt(w.A[j, j])
    for a in range(n):
        for b in range(n):
            if w.p[a] > 0.0 and w.p[b] > 0.0:
                w.A[a, b] /= w.p[a] * w.p[b]
            else:
                w.A[a, b] = 1.0 if a == b else 0.0


@jit_stage
def parameter_stderr(w, scale, out):
    """``sqrt(diag((J^T J)^-1) * scale)`` into ``out`` from the Jacobian in ``w.Jt``, inf for what the data
    cannot determine (the test of :mod:`lsq._identifiability`, in a form that needs no decomposition beyond
    the Cholesky factor the errors take).

    The columns of ``J`` are scaled to unit length (normal matrix ``U``); a zero column is undetermined.
    ``t = trace(U^-1) = sum 1 / lambda_i`` is within a factor ``n`` of ``1 / lambda_min``: when ``1 / t``
    falls below ``RANK_RTOL**2`` (a scaled singular value below ``RANK_RTOL``), the parameters whose
    ``(U^-1)_jj`` carry more than ``INVOLVED**2`` of ``t`` are those with a component above ``INVOLVED`` in
    the undetermined direction. When ``U`` is singular to rounding (an exactly dependent pair) the test runs
    on ``U + SINGULAR_SHIFT I``; if that fails too, every parameter is undetermined.
    Scratch: ``w.A``, ``w.L``, ``w.rhs``, ``w.delta``, ``w.p`` (column norms), ``w.colsq_prev``.
    """
    n = w.Jt.shape[0]
    _unit_normal_matrix(w)
    if not cholesky_factor(w.A, n, w.L):
        for j in range(n):
            w.A[j, j] += SINGULAR_SHIFT
        if not cholesky_factor(w.A, n, w.L):
            for j in range(n):
                out[j] = np.inf
            return
    trace = 0.0
    for j in range(n):
        for a in range(n):
            w.rhs[a] = 0.0
        w.rhs[j] = 1.0
        cholesky_solve(w.L, n, w.rhs, w.delta)
        var = w.delta[j]
        w.colsq_prev[j] = var
        trace += var
        out[j] = math.sqrt(var * scale) / w.p[j] if var >= 0.0 and w.p[j] > 0.0 else np.inf
    undetermined = not trace * RANK_RTOL * RANK_RTOL < 1.0
    for j in range(n):
        if undetermined and not w.colsq_prev[j] < INVOLVED * INVOLVED * trace:
            out[j] = np.inf


BatchModel = namedtuple("BatchModel", ["model_addr", "jac_addr", "has_jac", "guess_addr", "use_guess"])
"""The compiled model: cfunc addresses (see :mod:`lsq._kernels.drivers.compiled`); ``jac_addr``/``guess_addr``
are unused when ``has_jac``/``use_guess`` is false."""

BatchData = namedtuple("BatchData", ["X", "Y", "wts", "P0", "lb", "ub", "d0"])
"""The fits: points ``X`` ``(k or 1, d, m)`` per fit or shared, data ``Y`` ``(k, m)``, weights ``1 / sigma``
``(k or 1, m)``, starts ``P0`` ``(k or 1, n)`` (ignored with ``use_guess``), bounds and the initial scaling
``(n,)``."""

BatchSettings = namedtuple("BatchSettings", ["opts_f", "opts_i", "scheme", "rstep", "minpack", "qr", "absolute_sigma",
                                             "estimator"])
"""Lowered engine options, the finite-difference scheme and step (``minpack``: MINPACK's relative rule with each
fit's own floors, :func:`lsq._kernels.drivers.finite_diff.step_floors`, as a single damped fit takes them),
the QR buffers, whether standard errors use ``sigma`` as absolute, and the estimator
(:data:`lsq._kernels.engine.codes.ESTIMATORS`; Poisson standard errors come from the Fisher information)."""

BatchOutputs = namedtuple("BatchOutputs", ["params", "stderr", "cost", "nit", "nfev", "status"])
"""One row or entry per fit."""


@jit_stage
def start_point(i, model, guess, data, settings, x):
    """Fit ``i``'s start into ``x`` (its ``p0`` row, or the model's guess clipped into the bounds); False when
    the fit cannot start (non-finite data, weights or start, a start outside the bounds, a negative count)."""
    X, Y, wts, P0, lb, ub = data.X, data.Y, data.wts, data.P0, data.lb, data.ub
    n = x.shape[0]
    y = Y[i]
    wi = wts[i] if wts.shape[0] > 1 else wts[0]
    if model.use_guess:
        if _finite(y):
            guess(X[i] if X.shape[0] > 1 else X[0], y, x)
        for j in range(n):
            x[j] = min(max(x[j], lb[j]), ub[j])
    else:
        p0 = P0[i] if P0.shape[0] > 1 else P0[0]
        for j in range(n):
            x[j] = p0[j]
    ok = _finite(y) and _finite(wi) and _finite(x)
    if settings.estimator == ESTIMATOR_POISSON:
        for k in range(y.shape[0]):
            ok = ok and y[k] >= 0.0
    for j in range(n):
        ok = ok and lb[j] <= x[j] <= ub[j]
    return ok


@jit_inline
def fit_one(i, driver_addr, model, guess, data, settings, buf, free, si, sf, dims, s, out):
    """Fit row ``i`` of ``data.Y`` on the packed workspace ``(buf, free, si, sf, dims)`` and write its results to
    ``out``."""
    X, Y, wts = data.X, data.Y, data.wts
    m = Y.shape[1]
    n = out.params.shape[1]
    Xi = X[i] if X.shape[0] > 1 else X[0]  # per-fit rows, or one row shared by every fit
    y = Y[i]
    wi = wts[i] if wts.shape[0] > 1 else wts[0]
    w = workspace_views(buf, free, si, sf, dims)
    if not start_point(i, model, guess, data, settings, w.x):
        _bad_input(i, out)
        return
    # MINPACK's steps with each fit's floors (an empty rel), or SciPy's rule (-1 in every slot of s.h, the
    # scratch the Jacobian's steps are computed into afterwards)
    if settings.minpack:
        rel = s.h[:0]
    else:
        rel = s.h
        for j in range(n):
            rel[j] = -1.0
    driver_at(driver_addr)(model.model_addr, model.jac_addr, model.has_jac, Xi, y, wi, w.x, data.lb, data.ub,
                           data.d0, rel, buf, free, si, sf, dims, s, settings.opts_f, settings.opts_i, settings.scheme,
                           settings.rstep, settings.estimator, False)
    for j in range(n):
        out.params[i, j] = w.x[j]
    out.cost[i] = sf[COST]
    out.nit[i] = si[NIT]
    out.nfev[i] = si[NFEV]
    out.status[i] = si[STATUS]
    scale = 1.0
    if settings.estimator == ESTIMATOR_POISSON:
        fisher_rows(model_at(model.model_addr), Xi, y, w.x, w.Jt, s.f1)
    else:
        scale = chi_square_scale(sf[COST], m, n, settings.absolute_sigma)
    parameter_stderr(w, scale, out.stderr[i])


@jit_stage
def chi_square_scale(cost, m, n, absolute_sigma):
    """What the least-squares ``(J^T J)^-1`` is scaled by: the reduced chi-square ``2 cost / (m - n)`` (inf
    without degrees of freedom), or 1 with ``absolute_sigma``."""
    if absolute_sigma:
        return 1.0
    return 2.0 * cost / (m - n) if m > n else np.inf


@jit_stage
def _bad_input(i, out):
    for j in range(out.params.shape[1]):
        out.params[i, j] = np.nan
        out.stderr[i, j] = np.nan
    out.cost[i] = np.nan
    out.nit[i] = 0
    out.nfev[i] = 0
    out.status[i] = STATUS_BAD_INPUT


@jit_engine
def fit_range(driver_addr, model, data, settings, out, start, stop, buf, free, si, sf, dims, s):
    """Fit rows ``start:stop`` of ``data.Y`` (:class:`BatchModel`, :class:`BatchData`, :class:`BatchSettings`)
    on the packed workspace ``(buf, free, si, sf, dims)`` and scratch ``s`` (allocated by the caller), reused
    for every fit; results go to ``out`` (:class:`BatchOutputs`). Each fit runs
    :func:`lsq._kernels.drivers.compiled.run_compiled` at ``driver_addr`` (its address).

    Serial and free of the GIL: :func:`lsq.batch.fit_batch` runs ranges on a pool of threads. Shaped for
    compile time: a ``prange`` kernel would do the same, but numba's parallel lowering compiles the loop body
    once more as a kernel of its own.
    """
    guess = model_at(model.guess_addr)
    for i in range(start, stop):
        fit_one(i, driver_addr, model, guess, data, settings, buf, free, si, sf, dims, s, out)
