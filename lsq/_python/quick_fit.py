"""The everyday fit of a compiled model: one compiled call, and as little Python around it as possible.

``curve_fit(model, x, y, p0)`` and ``fit(model, x, y)`` spend most of their time, on a small fit, in Python:
argument checks, the lowering of options, the result. :func:`quick_fit` serves the common call (arrays of
floats, no bounds, default options) with a few cheap checks and one call of
:func:`lsq._kernels.drivers.compiled.solve`, which also checks the data and computes the covariance. It
returns None whenever the call is not that common case, or the fit did not end cleanly (bad data, a
failed or rank-deficient fit); the caller then takes the general path, which gives the same fit and
writes every error message and warning. So both paths give the same bits, and the checks that name a bad
argument live in one place.
"""

import functools
from collections import namedtuple

import numpy as np

from .._kernels.drivers.compiled import driver_address, solve
from .._kernels.drivers.finite_diff import SCHEME_2POINT, default_rstep
from .._kernels.engine import layout as slot
from .._kernels.engine.codes import (
    COVARIANCE_AND_CONDITIONING,
    COVARIANCE_ONLY,
    EPS,
    ESTIMATOR_LEAST_SQUARES,
    SOLVER_NORMAL,
)
from .._setup import options as opt
from .._setup.result import FitState
from .._setup.validate import _unbounded
from .._setup.workspace import cached_dims, packed_buffers, pooled_buffers, result_arrays, result_x
from .._tiers.current import kernel, tier
from .._tiers.twin import interpreted
from .model_problem import NO_STEPS

RSTEP = float(interpreted(default_rstep)(SCHEME_2POINT, EPS))  # at import: nothing compiles


@functools.lru_cache(maxsize=64)
def _defaults(n, m, differences):
    """``least_squares``' defaults for an unbounded ``lm`` fit of ``n`` parameters to ``m`` points (``differences``:
    its Jacobian by finite differences of least-squares residuals): the lowered options and the solver, or
    None when they would not run in the engine with ``J`` held."""
    solver, code = opt.resolve_linear_solver("auto", n, m)
    if code == SOLVER_NORMAL:
        return None
    options = opt.EngineOptions("lm", "trust-region", "linear", True, False, 1e-8, 1e-8, 1e-8, 1.0, 100 * n)
    opts_f, opts_i = options.for_jacobian(differences).lower(code)
    return opts_f, opts_i, opt.needs_qr_buffers(solver), np.ones(n)


@functools.lru_cache(maxsize=16)
def _unit_weights(m):
    """Weights of ``m`` points without ``sigma`` (the kernel only reads them: one array serves every fit)."""
    return np.ones(m)


def _as_float_array(a, ndim):
    """``a`` as a C-ordered float64 array with ``ndim`` dimensions, or None."""
    try:
        a = np.asarray(a, dtype=float)
    except (TypeError, ValueError):
        return None
    if a.ndim != ndim:
        return None
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def quick_fit(model, x, y, p0, sigma, history=1, estimator=ESTIMATOR_LEAST_SQUARES, conditioning=False):
    """Fit ``model(x, *p)`` to ``y`` (weights ``1/sigma``) with ``least_squares``' defaults, or None.

    Parameters
    ----------
    model : Model
    x, y, p0, sigma : array_like
        As given to ``curve_fit``; ``p0`` may be None (ones), ``sigma`` None or 1-D.
    history : int
        Rows of iteration history kept.
    estimator : int
        ``ESTIMATOR_LEAST_SQUARES``, or ``ESTIMATOR_POISSON`` (``sigma`` must then be None).
    conditioning : bool
        Also the singular values and vectors of the column-scaled Jacobian (``fit``'s diagnostics); without,
        they are empty (:func:`lsq._kernels.covariance.covariance_from_transposed`).

    Returns
    -------
    (FitState, tuple) or None
        The finished fit and :func:`lsq._kernels.covariance.covariance_from_transposed` at the solution (the
        unscaled covariance ``(J^T J)^-1`` first); None unless ``x`` is ``(m,)`` or
        ``(d, m)``, ``y``, ``p0`` and ``sigma`` are 1-D floats of matching lengths, and the fit ended with a
        success status and a full-rank, finite Jacobian.
    """
    done = _solve(model, x, y, p0, sigma, history, estimator,
                  COVARIANCE_AND_CONDITIONING if conditioning else COVARIANCE_ONLY, packed_buffers)
    if done is None:
        return None
    buf, si, sf, cov, fixed = done
    return FitState(*result_arrays(buf, fixed.key), si, sf, fixed.lb, fixed.ub), cov


def quick_curve_fit(model, x, y, p0, sigma, absolute_sigma):
    """``curve_fit``'s ``(popt, pcov)`` of the everyday fit (:func:`quick_fit`'s arguments and conditions), or
    None; ``pcov`` is scaled by the reduced chi-square unless ``absolute_sigma`` (and needs ``m > n``)."""
    done = _solve(model, x, y, p0, sigma, 1, ESTIMATOR_LEAST_SQUARES, COVARIANCE_ONLY, pooled_buffers)
    if done is None:
        return None
    buf, _, _, (pcov, _, _, _, rss_linear), fixed = done
    m, n = fixed.key[0], fixed.key[1]
    popt = result_x(buf, fixed.key).copy()
    if absolute_sigma:
        return popt, pcov
    if m <= n:
        return None
    pcov *= rss_linear / (m - n)
    return popt, pcov


_Fixed = namedtuple("_Fixed", ["f_addr", "j_addr", "has_jac", "opts_f", "opts_i", "d", "lb", "ub", "key", "dims",
                               "driver", "solve"])
"""What an everyday fit of one model, data size and tier passes the compiled call besides the data."""


def _fixed(model, x_dims, m, history, estimator):
    """The :class:`_Fixed` arguments of ``model`` with ``m`` points of ``x_dims`` coordinates on this thread's tier,
    kept with the model's kernels (they are found by one dictionary lookup); None when the fit would not run
    in the engine with ``J`` held. Raises ValueError for ``x`` with the wrong number of coordinates."""
    on = tier()
    key = ("quick", on, x_dims, m, history, estimator)
    fixed = model._cfuncs.get(key)
    if fixed is None:
        n = model.n_params
        f_addr, j_addr, has_jac = model.tier_kernels(x_dims, on)
        defaults = _defaults(n, m, not has_jac and estimator == ESTIMATOR_LEAST_SQUARES)
        if defaults is None:
            return None
        opts_f, opts_i, qr, d = defaults
        lb, ub = _unbounded(n)
        dims_key = (m, n, qr, history, 1, 1, 0, 0)
        fixed = model._cfuncs[key] = _Fixed(f_addr, j_addr, has_jac, opts_f, opts_i, d, lb, ub, dims_key,
                                            cached_dims(dims_key), driver_address(on), kernel(solve, on))
    return fixed


def _solve(model, x, y, p0, sigma, history, estimator, covariance, buffers):
    """The checks of :func:`quick_fit` and its one compiled call, on the workspace ``buffers(key)`` gives;
    ``(buf, si, sf, covariance, fixed)`` or None."""
    y = _as_float_array(y, 1)
    if y is None or y.shape[0] == 0:
        return None
    X = _as_float_array(x, np.ndim(x))
    if X is None or X.ndim not in (1, 2) or X.shape[-1] != y.shape[0]:
        return None
    X = X.reshape(1, -1) if X.ndim == 1 else X
    n = model.n_params
    x0 = np.ones(n) if p0 is None else _as_float_array(p0, 1)
    if x0 is None or x0.shape[0] != n or n > y.shape[0]:
        return None
    if sigma is None:
        wts = _unit_weights(y.shape[0])
    else:
        s = _as_float_array(sigma, 1)
        if s is None or s.shape != y.shape:
            return None
        with np.errstate(divide="ignore"):
            wts = 1.0 / s
    try:
        fixed = _fixed(model, X.shape[0], y.shape[0], history, estimator)
    except ValueError:  # x with the wrong number of coordinates: the general path names it
        return None
    if fixed is None:
        return None
    buf, free, si, sf = buffers(fixed.key)
    cov = fixed.solve(fixed.driver, fixed.f_addr, fixed.j_addr, fixed.has_jac, X, y, wts, x0, fixed.lb, fixed.ub,
                      fixed.d, NO_STEPS, fixed.opts_f, fixed.opts_i, SCHEME_2POINT, RSTEP, buf, free, si, sf,
                      fixed.dims, 0, covariance, estimator)
    if cov[1] or si[slot.STATUS] <= 0:  # rank deficient (or J not finite), or not a success
        return None
    return buf, si, sf, cov, fixed
