"""The compiled driver: answers the engine's requests from a numba model, with no Python in the loop.

A model is a pair of compiled functions (``numba.cfunc``) of fixed signature, passed by address so that the
engine and this driver are compiled once, whatever the model (and calling them from Python costs no type
inference):

- ``model(X, p, out)``: model values at the points ``X`` (``(d, m)``, C order) for parameters ``p`` into
  ``out`` (``(m,)``);
- ``jac(X, p, out)``: the derivatives ``d model_i / d p_j`` into ``out[j, i]`` (``(n, m)``: one contiguous
  row per parameter, the layout every engine loop reads), or address 0 when
  ``has_jac`` is false, in which case the Jacobian is assembled here by finite differences column by column.

Residuals are ``(model - y) * wts`` (``wts = 1 / sigma``) for least squares, or the deviance residuals of
:mod:`lsq._kernels.poisson` for Poisson maximum likelihood (``estimator``). The same :func:`run_compiled` serves
a single fit called from Python and every fit of the batch kernel.
"""

import math

import numpy as np
from numba import types
from numba.experimental.function_type import _get_wrapper_address

from ..._setup.jit import jit, jit_engine, jit_entry, jit_stage
from ..._setup.workspace import (
    FIELD_JT,
    FIELD_R,
    FIELD_X,
    Scratch,
    field_span,
    make_scratch_jit,
    workspace_views,
)
from ..._tiers.current import INTERPRETED, kernel, tier
from ..._tiers.twin import at_address, python_equivalent, register_address
from ..addresses import function_at, rows_view
from ..covariance import covariance_from_transposed
from ..engine.codes import (
    COVARIANCE_AND_CONDITIONING,
    COVARIANCE_NONE,
    EPS,
    ESTIMATOR_POISSON,
    HESSIAN_EXACT,
    HESSIAN_GN,
    LOSS_LINEAR,
    O_HESSIAN,
    O_LOSS,
    O_SOLVER,
    PHASE_FINAL_J,
    SOLVER_NORMAL,
    STATUS_BAD_INPUT,
    TASK_EVAL_F,
    TASK_EVAL_J,
    TASK_GRADIENT,
)
from ..engine.layout import NFD, PHASE, STATUS
from ..engine.loop import advance
from ..engine.state import reset
from ..poisson import deviance_pair, deviance_residual, deviance_slope, fisher_factor
from .finite_diff import SCHEME_2POINT, SCHEME_3POINT, fd_column, fd_steps, step_floors

MODEL_SIG = types.void(types.float64[:, ::1], types.float64[::1], types.float64[::1])
"""Signature of a compiled model ``model(X, p, out)``."""
JAC_SIG = types.void(types.float64[:, ::1], types.float64[::1], types.float64[:, ::1])
"""Signature of a compiled model Jacobian ``jac(X, p, out)``, ``out`` of shape ``(n, m)``."""
GUESS_SIG = types.void(types.float64[:, ::1], types.float64[::1], types.float64[::1])
"""Signature of a compiled starting-value rule ``guess(X, y, p_out)``."""



model_at = function_at(types.FunctionType(MODEL_SIG))
"""``model_at(address)``: the compiled model (or guess rule) at a ``cfunc`` address."""
jacobian_at = function_at(types.FunctionType(JAC_SIG))
"""``jacobian_at(address)``: the compiled Jacobian at a ``cfunc`` address (never called when 0)."""
python_equivalent(model_at)(at_address)  # interpreted, an address is a stand-in for a Python kernel
python_equivalent(jacobian_at)(at_address)


@jit_stage
def residuals_into(model, X, y, wts, p, out, estimator):
    """``out = (model(X, p) - y) * wts``, or the deviance residuals of ``model(X, p)`` (``ESTIMATOR_POISSON``)."""
    model(X, p, out)
    if estimator == ESTIMATOR_POISSON:
        for i in range(out.shape[0]):
            out[i] = deviance_residual(out[i], y[i])
        return
    for i in range(out.shape[0]):
        out[i] = (out[i] - y[i]) * wts[i]


@jit_stage
def trial_residuals_into(model, X, y, wts, w, s, estimator):
    """The engine's trial residuals ``w.r_new`` at ``w.x_new``; for ``ESTIMATOR_POISSON`` also the deviance
    slopes there (``s.slope``, for the next analytic Jacobian, which is asked for at that point when the
    step is accepted: no second model evaluation)."""
    if estimator != ESTIMATOR_POISSON:
        residuals_into(model, X, y, wts, w.x_new, w.r_new, estimator)
        return
    model(X, w.x_new, w.r_new)
    for i in range(w.r_new.shape[0]):
        w.r_new[i], s.slope[i] = deviance_pair(w.r_new[i], y[i])
    for j in range(w.x_new.shape[0]):
        s.slope_at[j] = w.x_new[j]


@jit_stage
def jacobian_into(model, jac, has_jac, X, y, wts, w, s, scheme, rstep, estimator):
    """Jacobian of the residuals at ``w.x`` (residuals ``w.r``) into ``w.Jt`` (by parameter).

    Returns the number of model evaluations spent (0 with an analytic Jacobian).
    """
    if not has_jac:
        fd_steps(w.x, w.lb, w.ub, rstep, s.rel, scheme, s.h, s.one_sided)
    return _residual_jacobian(model, jac, has_jac, X, y, wts, w.x, w.r, s, scheme, s.f1, s.f2, w.Jt, estimator)


@jit_stage
def _same_point(a, b):
    for j in range(b.shape[0]):
        if a[j] != b[j]:
            return False
    return True


@jit_stage
def _residual_jacobian(model, jac, has_jac, X, y, wts, x, r0, s, scheme, f1, f2, out, estimator):
    """``out[j, i] = d r_i / d x_j`` for the points ``X`` (residuals ``r0`` at ``x``): the analytic Jacobian
    times ``wts`` (times the deviance residuals' slopes for ``ESTIMATOR_POISSON``: those stored by
    :func:`trial_residuals_into` when ``x`` is where they were taken, else from one model evaluation), or
    differences with the steps already in ``s.h``/``s.one_sided``. Returns the model
    evaluations spent."""
    n, m = out.shape
    if has_jac:
        jac(X, x, out)
        spent = 0
        if estimator == ESTIMATOR_POISSON and _same_point(s.slope_at, x) and s.slope.shape[0] == m:
            for i in range(m):
                f1[i] = s.slope[i]
        elif estimator == ESTIMATOR_POISSON:
            model(X, x, f1)
            spent = 1
            for i in range(m):
                f1[i] = deviance_slope(f1[i], y[i])
        else:
            for i in range(m):
                f1[i] = wts[i]
        for j in range(n):
            row = out[j]
            for i in range(m):
                row[i] *= f1[i]
        return spent
    for j in range(n):
        s.xt[j] = x[j]
    count = 0
    for j in range(n):
        xj = x[j]
        s.xt[j] = xj + s.h[j]
        residuals_into(model, X, y, wts, s.xt, f1, estimator)
        count += 1
        if scheme == SCHEME_3POINT:
            s.xt[j] = xj + (2.0 * s.h[j] if s.one_sided[j] else -s.h[j])
            residuals_into(model, X, y, wts, s.xt, f2, estimator)
            count += 1
        s.xt[j] = xj
        fd_column(scheme, s.one_sided[j], s.h[j], r0, f1, f2, out, j)
    return count


@jit_stage
def _accumulate_chunk(w, Jc, a, loss_linear):
    """Add one chunk of rows (``Jc``, by parameter, rows from ``a``) to ``g = Js^T fs`` and the lower triangle
    of ``A = Js^T Js``, scaling the rows for the robust loss first."""
    n, c = Jc.shape
    if not loss_linear:
        for j in range(n):
            for i in range(c):
                Jc[j, i] *= w.row_scale[a + i]
    for j in range(n):
        rj = Jc[j]
        gj = 0.0
        for i in range(c):
            gj += rj[i] * w.fs[a + i]
        w.g[j] += gj
        for k in range(j + 1):
            rk = Jc[k]
            t = 0.0
            for i in range(c):
                t += rj[i] * rk[i]
            w.A[j, k] += t


@jit_stage
def normal_equations_into(model, jac, has_jac, X, y, wts, w, s, scheme, rstep, loss_linear, estimator):
    """``A = Js^T Js``, ``g = Js^T fs`` and the squared column norms at ``w.x``, with ``J`` assembled one chunk
    of residuals at a time in ``s.Jbuf`` (the engine's ``TASK_GRADIENT`` with ``SOLVER_NORMAL``).

    No more than one chunk of ``J`` exists at any time: memory is ``n * chunk`` doubles however large ``m``
    is. Returns the model evaluations spent, in whole-data-set equivalents (``n`` or ``2n`` for finite
    differences, 0 with an analytic Jacobian).
    """
    n = w.x.shape[0]
    m = y.shape[0]
    d = X.shape[0]
    chunk = s.Jbuf.shape[0] // n
    for j in range(n):
        w.g[j] = 0.0
        w.colsq[j] = 0.0
        for k in range(n):
            w.A[j, k] = 0.0
    if not has_jac:
        fd_steps(w.x, w.lb, w.ub, rstep, s.rel, scheme, s.h, s.one_sided)
    for a in range(0, m, chunk):
        b = min(a + chunk, m)
        c = b - a
        Xc = s.Xbuf[: d * c].reshape((d, c))
        for k in range(d):
            for i in range(c):
                Xc[k, i] = X[k, a + i]
        Jc = s.Jbuf[: n * c].reshape((n, c))
        _residual_jacobian(model, jac, has_jac, Xc, y[a:b], wts[a:b], w.x, w.r[a:b], s, scheme, s.f1[:c],
                           s.f2[:c], Jc, estimator)
        _accumulate_chunk(w, Jc, a, loss_linear)
    for j in range(n):
        w.colsq[j] = w.A[j, j]
        for k in range(j):
            w.A[k, j] = w.A[j, k]
    if has_jac:
        return 0
    return n * (2 if scheme == SCHEME_3POINT else 1)


SECOND_ORDER_STEP = EPS ** (1.0 / 3.0)
"""Relative step of the second differences of the residuals (no analytic Jacobian): truncation and rounding
errors of a second difference balance at ``eps**(1/3)``."""
JACOBIAN_DIFFERENCE_STEP = math.sqrt(EPS)
"""Relative step of the differences of an analytic Jacobian."""


@jit_engine
def second_order_step(xj, rel_fd, rstep):
    """``rstep * max(floor, |x_j|)``, signed as ``x_j``, with the floor of the Jacobian's differences
    (``-rel_fd``, the start's magnitude up to 1, :func:`lsq._kernels.drivers.finite_diff.step_floors`; 1 when
    the user set the steps): a step relative to ``x_j`` alone would vanish as ``x_j`` converges to 0."""
    floor = -rel_fd if rel_fd < 0.0 else 1.0
    h = rstep * max(floor, abs(xj))
    return (xj + (h if xj >= 0.0 else -h)) - xj


@jit_stage
def second_order_into(model, jac, has_jac, X, y, wts, w, s, scheme, estimator):
    """``w.H2 = sum r_i grad^2 r_i`` at ``w.x`` (residuals ``w.r``) by differences, symmetrised: columns
    ``(J(x + h e_k) - J(x))^T r / h`` of an analytic Jacobian, or, without one, the second differences
    ``(r(x + h_j e_j + h_k e_k) - r(x + h_j e_j) - r(x + h_k e_k) + r(x)) / (h_j h_k)``. Returns the model
    evaluations spent on differences (0 with an analytic Jacobian, which costs ``n`` Jacobians)."""
    n, m = w.Jt.shape
    r = w.r
    for j in range(n):
        s.xh[j] = w.x[j]
    count = 0
    if has_jac:
        for k in range(n):
            h = second_order_step(w.x[k], s.rel[k], JACOBIAN_DIFFERENCE_STEP)
            s.xh[k] = w.x[k] + h
            _residual_jacobian(model, jac, has_jac, X, y, wts, s.xh, r, s, scheme, s.f1, s.f2, s.Jh, estimator)
            s.xh[k] = w.x[k]
            for j in range(n):
                t = 0.0
                for i in range(m):
                    t += (s.Jh[j, i] - w.Jt[j, i]) * r[i]
                w.H2[j, k] = t / h
    else:
        for j in range(n):  # r(x + h_j e_j) into the rows of s.Jh, the actual steps into s.h
            s.h[j] = second_order_step(w.x[j], s.rel[j], SECOND_ORDER_STEP)
            s.xh[j] = w.x[j] + s.h[j]
            residuals_into(model, X, y, wts, s.xh, s.Jh[j], estimator)
            s.xh[j] = w.x[j]
        count = n
        for j in range(n):
            for k in range(j + 1):
                s.xh[j] += s.h[j]
                s.xh[k] += s.h[k]
                residuals_into(model, X, y, wts, s.xh, s.f1, estimator)
                count += 1
                s.xh[j] = w.x[j]
                s.xh[k] = w.x[k]
                t = 0.0
                for i in range(m):
                    t += r[i] * (s.f1[i] - s.Jh[j, i] - s.Jh[k, i] + r[i])
                w.H2[j, k] = t / (s.h[j] * s.h[k])
                w.H2[k, j] = w.H2[j, k]
    for j in range(n):
        for k in range(j):
            v = 0.5 * (w.H2[j, k] + w.H2[k, j])
            w.H2[j, k] = v
            w.H2[k, j] = v
    return count


@jit_entry
def run_compiled(model_addr, jac_addr, has_jac, X, y, wts, x0, lb, ub, d, rel, buf, free, si, sf, dims, s,
                 opts_f, opts_i, scheme, rstep, estimator, check_data):
    """Run one fit to completion on the packed workspace ``(buf, free, si, sf, dims)``
    (:class:`lsq._setup.workspace.Packed`) from ``x0`` with bounds ``lb``/``ub`` and initial scaling ``d``.

    ``rel`` holds relative finite-difference steps, or is empty for MINPACK's rule with the floors of
    :func:`lsq._kernels.drivers.finite_diff.step_floors` (2-point differences; -1, SciPy's rule, otherwise).
    Compiled once and called at its address (:func:`driver_address`) by :func:`solve` and the batch kernels,
    so the engine inlined here is compiled once for all of them (:mod:`lsq._kernels.engine.entry`). With
    ``SOLVER_NORMAL`` the Jacobian is never stored: ``J^T J`` is accumulated by chunks when the engine asks
    for the gradient. With ``check_data``, data that are not usable
    (:func:`data_usable`) end the fit at once with ``STATUS_BAD_INPUT``.
    """
    w = workspace_views(buf, free, si, sf, dims)
    n = x0.shape[0]
    for j in range(n):
        w.x[j] = x0[j]
        w.lb[j] = lb[j]
        w.ub[j] = ub[j]
        w.d[j] = d[j]
    if rel.shape[0] == n:
        for j in range(n):
            s.rel[j] = rel[j]
    elif scheme == SCHEME_2POINT:
        step_floors(w.x, s.rel)
    else:
        for j in range(n):
            s.rel[j] = -1.0
    reset(w, opts_i)
    if check_data and not data_usable(X, y, wts, estimator):
        si[STATUS] = STATUS_BAD_INPUT
        return
    model = model_at(model_addr)
    jac = jacobian_at(jac_addr)
    loss_linear = opts_i[O_LOSS] == LOSS_LINEAR
    while True:
        task = advance(w, opts_f, opts_i)
        if task == TASK_EVAL_F:
            trial_residuals_into(model, X, y, wts, w, s, estimator)
        elif task == TASK_EVAL_J:
            if opts_i[O_SOLVER] != SOLVER_NORMAL:
                si[NFD] += jacobian_into(model, jac, has_jac, X, y, wts, w, s, scheme, rstep, estimator)
                if opts_i[O_HESSIAN] == HESSIAN_EXACT and si[PHASE] != PHASE_FINAL_J:
                    si[NFD] += second_order_into(model, jac, has_jac, X, y, wts, w, s, scheme, estimator)
        elif task == TASK_GRADIENT:
            si[NFD] += normal_equations_into(model, jac, has_jac, X, y, wts, w, s, scheme, rstep, loss_linear,
                                             estimator)
        else:
            return


_F = types.float64[::1]
_I = types.int64[::1]
_SCRATCH = types.NamedTuple([_F, _F, _F, _F, _I, _F, _F, _F, types.float64[:, ::1], _F, _F, _F], Scratch)
"""numba's type of :class:`lsq._setup.workspace.Scratch` (what ``numba.typeof`` gives, without its first-call cost
at import)."""
RUN_SIG = types.void(types.intp, types.intp, types.boolean, types.float64[:, ::1], _F, _F, _F, _F, _F, _F, _F, _F, _I,
                     _I, _F, _I, _SCRATCH, _F, _I, types.int64, types.float64, types.int64, types.boolean)
"""Signature of :func:`run_compiled`."""
driver_at = function_at(types.FunctionType(RUN_SIG))
"""``driver_at(address)``: :func:`run_compiled` at its address (:func:`driver_address`)."""
python_equivalent(driver_at)(at_address)


def driver_address(on=None):
    """The address :func:`run_compiled` is called at, for the tier ``on`` (default: this thread's call's): its
    compiled C entry point (compiled, or loaded from the cache, on first use), or for the interpreted tier a
    stand-in address of its twin."""
    if (on or tier()) == INTERPRETED:
        return register_address(kernel(run_compiled, INTERPRETED))
    global _DRIVER_ADDRESS
    if _DRIVER_ADDRESS is None:
        _DRIVER_ADDRESS = _get_wrapper_address(run_compiled, RUN_SIG)
    return _DRIVER_ADDRESS


_DRIVER_ADDRESS = None


@jit
def solve(driver_addr, model_addr, jac_addr, has_jac, X, y, wts, x0, lb, ub, d, rel, opts_f, opts_i, scheme, rstep,
          buf, free, si, sf, dims, chunk, covariance, estimator):
    """One complete fit called from Python on the caller's packed workspace ``(buf, free, si, sf)`` of the sizes
    ``dims`` (:func:`lsq._setup.workspace.packed_dims`, :func:`lsq._setup.workspace.packed_buffers`): run it
    (:func:`run_compiled`) and return the covariance; Python reads the rest from its buffers (no workspace is
    allocated here, and none boxed).

    With ``covariance`` ``COVARIANCE_AND_CONDITIONING`` or ``COVARIANCE_ONLY`` (and the Jacobian held), the last
    item is :func:`lsq._kernels.covariance.covariance_from_transposed` of the final Jacobian (for
    ``ESTIMATOR_POISSON``, of ``d mu / sqrt(mu)``: the inverse Fisher information; ``s_unit`` and ``V_unit``
    left empty with ``COVARIANCE_ONLY``), else empty arrays. Data that are not usable end the call at once with
    ``STATUS_BAD_INPUT``. With ``chunk > 0`` (and ``dims`` for a workspace
    that does not hold the Jacobian) the options must select ``SOLVER_NORMAL``, whose chunks have ``chunk``
    residuals; ``J^T J`` at the solution can then be had from
    :func:`normal_matrix`.
    """
    m = y.shape[0]
    n = x0.shape[0]
    s = make_scratch_jit(m, n, X.shape[0], chunk, opts_i[O_HESSIAN] != HESSIAN_GN)
    driver_at(driver_addr)(model_addr, jac_addr, has_jac, X, y, wts, x0, lb, ub, d, rel, buf, free, si, sf, dims, s,
                           opts_f, opts_i, scheme, rstep, estimator, True)
    if si[STATUS] != STATUS_BAD_INPUT and covariance != COVARIANCE_NONE and dims[4]:
        Jc = rows_view(buf, field_span(dims, FIELD_JT)[0], n, m)
        a, b = field_span(dims, FIELD_R)
        r = buf[a:b]
        if estimator == ESTIMATOR_POISSON:  # the Fisher information's rows, d mu / sqrt(mu), from a copy of J
            Jc = Jc.copy()
            a, b = field_span(dims, FIELD_X)
            fisher_rows(model_at(model_addr), X, y, buf[a:b], Jc, s.f1)
        return covariance_from_transposed(Jc, r, covariance == COVARIANCE_AND_CONDITIONING)
    return np.zeros((0, 0)), False, np.zeros(0), np.zeros((0, 0)), 0.0


@jit_stage
def fisher_rows(model, X, y, x, Jt, mu):
    """Turn the Jacobian of the deviance residuals at ``x`` (``Jt``, by parameter) into ``d mu / sqrt(mu)``,
    whose ``J^T J`` is the Fisher information (``mu``: scratch of length m)."""
    model(X, x, mu)
    for i in range(mu.shape[0]):
        mu[i] = fisher_factor(mu[i], y[i])
    for j in range(Jt.shape[0]):
        row = Jt[j]
        for i in range(mu.shape[0]):
            row[i] *= mu[i]


@jit
def data_usable(X, y, wts, estimator):
    """Whether ``X`` and ``y`` are finite and the weights finite and positive (for ``ESTIMATOR_POISSON``,
    whether the counts ``y`` are finite and non-negative)."""
    for i in range(y.shape[0]):
        if estimator == ESTIMATOR_POISSON:
            if not (math.isfinite(y[i]) and y[i] >= 0.0):
                return False
        elif not (math.isfinite(y[i]) and math.isfinite(wts[i]) and wts[i] > 0.0):
            return False
    for k in range(X.shape[0]):
        for i in range(X.shape[1]):
            if not math.isfinite(X[k, i]):
                return False
    return True


@jit
def call_model(model_addr, X, p, out):
    """Evaluate a compiled model (or a guess rule, which has the same signature) from Python."""
    model_at(model_addr)(X, p, out)


@jit
def call_jac(jac_addr, X, p, out):
    """Evaluate a compiled model Jacobian from Python (``out`` of shape ``(n, m)``)."""
    jacobian_at(jac_addr)(X, p, out)
