"""Argument checks. Every message names the argument and says what was expected."""

import math
import numbers

import numpy as np
from scipy.optimize import Bounds

from .._kernels.engine import codes as c
from .._kernels.engine.codes import EPS
from . import options as opt


def check_x0(x0, name="x0"):
    """Return a starting point (``x0``, or ``p0`` as ``name``) as a finite 1-D float array (a copy)."""
    if type(x0) is np.ndarray and x0.dtype == np.float64 and x0.ndim == 1 and x0.size:  # the common case, fast
        if not (all(map(math.isfinite, x0.tolist())) if x0.size <= 32 else np.isfinite(x0).all()):
            raise ValueError(f"`{name}` must be finite; it contains NaN or inf.")
        return x0.copy()
    if type(x0) is list and x0 and all(type(v) is float for v in x0):  # [2.0, 0.5]: Python's checks are cheaper
        if not all(map(math.isfinite, x0)):
            raise ValueError(f"`{name}` must be finite; it contains NaN or inf.")
        return np.array(x0, dtype=float)
    if np.iscomplexobj(x0):
        raise ValueError(f"`{name}` must be real.")
    try:
        x = np.atleast_1d(np.asarray(x0, dtype=float))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`{name}` must be array_like of real numbers, got {type(x0).__name__}.") from exc
    if x.ndim > 1:
        raise ValueError(f"`{name}` must have at most 1 dimension, got shape {x.shape}.")
    if x.size == 0:
        raise ValueError(f"`{name}` must have at least one element.")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"`{name}` must be finite; it contains NaN or inf.")
    return x.copy()


_UNBOUNDED = {}
UNBOUNDED_CACHE_MAX_N = 1024
"""Lengths up to which the ``(-inf, inf)`` bound arrays are shared (small fits, where allocation shows)."""


def _unbounded(n):
    """``(-inf, inf)`` bound arrays of length ``n``, shared between calls for small ``n``. Callers never
    write to bound arrays; the arrays stay writeable because numba compiles a read-only array as another
    type (a second specialisation of every kernel they reach)."""
    pair = _UNBOUNDED.get(n)
    if pair is None:
        pair = np.full(n, -np.inf), np.full(n, np.inf)
        if n <= UNBOUNDED_CACHE_MAX_N:
            _UNBOUNDED[n] = pair
    return pair


def has_bounds(lb, ub):
    """Whether any bound is finite."""
    pair = _UNBOUNDED.get(lb.shape[0])
    if pair is not None and lb is pair[0] and ub is pair[1]:
        return False
    if lb.shape[0] <= 32:  # Python's floats: for the few parameters of a fit, cheaper than two NumPy calls
        return any(map(math.isfinite, lb.tolist())) or any(map(math.isfinite, ub.tolist()))
    return bool(np.isfinite(lb).any() or np.isfinite(ub).any())


def check_bounds(bounds, n):
    """Return ``(lb, ub)`` arrays of shape ``(n,)`` from a 2-sequence or a :class:`scipy.optimize.Bounds`
    (arrays shared between calls when there are no bounds: do not write to them)."""
    if bounds is None or (isinstance(bounds, tuple) and len(bounds) == 2 and np.isscalar(bounds[0])
                          and np.isscalar(bounds[1]) and bounds[0] == -np.inf and bounds[1] == np.inf):
        return _unbounded(n)
    pair = _UNBOUNDED.get(n)
    if pair is not None and isinstance(bounds, tuple) and len(bounds) == 2 and bounds[0] is pair[0] \
            and bounds[1] is pair[1]:  # the shared pair itself (lsq.curve_fit without bounds)
        return pair
    if isinstance(bounds, Bounds):
        lb, ub = bounds.lb, bounds.ub
    else:
        if len(bounds) != 2:
            raise ValueError("`bounds` must contain 2 elements: (lower, upper).")
        lb, ub = bounds
    lb = np.asarray(lb, dtype=float)
    ub = np.asarray(ub, dtype=float)
    if lb.ndim == 0:
        lb = np.full(n, float(lb))
    if ub.ndim == 0:
        ub = np.full(n, float(ub))
    if lb.shape != (n,) or ub.shape != (n,):
        raise ValueError(f"Inconsistent shapes between `bounds` ({lb.shape}, {ub.shape}) and `x0` ({n},).")
    if np.any(np.isnan(lb)) or np.any(np.isnan(ub)):
        raise ValueError("`bounds` must not contain NaN.")
    if np.any(lb >= ub):
        raise ValueError("Each lower bound in `bounds` must be strictly less than the upper bound.")
    return lb.copy(), ub.copy()


def check_x0_in_bounds(x0, lb, ub):
    """Raise when ``x0`` lies outside ``[lb, ub]``."""
    bad = np.flatnonzero((x0 < lb) | (x0 > ub))
    if bad.size:
        j = bad[0]
        raise ValueError(
            f"`x0` is outside of the provided bounds: x0[{j}] = {x0[j]!r} is not in [{lb[j]!r}, {ub[j]!r}]."
        )


def check_tolerance(ftol, xtol, gtol):
    """Turn ``None`` into 0 and require at least one tolerance above machine epsilon."""

    def one(name, tol):
        if tol is None:
            return 0.0
        tol = float(tol)
        if not tol >= 0:
            raise ValueError(f"`{name}` must be None or non-negative, got {tol!r}.")
        if tol < EPS:
            return 0.0
        return tol

    ftol, xtol, gtol = one("ftol", ftol), one("xtol", xtol), one("gtol", gtol)
    if ftol == 0 and xtol == 0 and gtol == 0:
        raise ValueError(
            f"At least one of the tolerances `ftol`, `xtol`, `gtol` must be higher than machine epsilon ({EPS:.2e})."
        )
    return ftol, xtol, gtol


def check_x_scale(x_scale, n):
    """Return ``'jac'``, ``'jac-restart'`` or a positive float array of shape ``(n,)``."""
    if isinstance(x_scale, str):
        if x_scale in ("jac", "jac-restart"):
            return x_scale
        raise ValueError(f"`x_scale` must be 'jac', 'jac-restart' or array_like of positive numbers, got {x_scale!r}.")
    try:
        if np.iscomplexobj(x_scale):
            raise TypeError
        xs = np.asarray(x_scale, dtype=float)
        valid = bool(np.all(np.isfinite(xs)) and np.all(xs > 0))
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError("`x_scale` must be 'jac' or array_like with positive numbers.")
    if xs.ndim == 0:
        xs = np.full(n, float(xs))
    if xs.shape != (n,):
        raise ValueError(f"Inconsistent shapes between `x_scale` {xs.shape} and `x0` ({n},).")
    return xs


def check_max_nfev(max_nfev):
    """Return ``max_nfev`` as a positive int or None."""
    if max_nfev is None:
        return None
    if not isinstance(max_nfev, numbers.Integral) or isinstance(max_nfev, bool) or max_nfev <= 0:
        raise ValueError(f"`max_nfev` must be None or a positive integer, got {max_nfev!r}.")
    return int(max_nfev)


def check_choice(name, value, choices):
    """Raise a ValueError naming ``name`` when ``value`` is not one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"`{name}` must be one of {sorted(choices, key=repr)}, got {value!r}.")
    return value


TR_OPTIONS = {"atol", "btol", "conlim", "maxiter", "regularize"}
"""SciPy's ``tr_options`` for LSMR; ``maxiter`` caps CG and LSMR, the others are accepted and unused."""


def check_options(method, damping, linear_solver, jac, loss, verbose, tr_solver, tr_options, schur, f_scale, factor,
                  history, first_order):
    """Check the solver options of :func:`lsq.least_squares`; return the method with SciPy's aliases resolved."""
    method = opt.METHOD_ALIASES.get(method, method)
    check_choice("method", method, opt.METHODS + tuple(first_order) + ("auto",))
    check_choice("damping", damping, tuple(opt.DAMPING))
    check_choice("linear_solver", linear_solver, opt.LINEAR_SOLVERS)
    if not callable(jac):
        check_choice("jac", jac, ("2-point", "3-point", "cs"))
    if not callable(loss):
        check_choice("loss", loss, tuple(opt.LOSSES))
    if verbose not in (0, 1, 2):
        raise ValueError(f"`verbose` must be in [0, 1, 2], got {verbose!r}.")
    if tr_solver not in (None, "exact", "lsmr"):
        raise ValueError(f"`tr_solver` must be None, 'exact' or 'lsmr', got {tr_solver!r}.")
    if tr_options is not None and not isinstance(tr_options, dict):
        raise TypeError("`tr_options` must be a dict or None.")
    unknown = set(tr_options or ()) - TR_OPTIONS
    if unknown:
        raise TypeError(f"`tr_options` got unexpected keys {sorted(unknown)}; known: {sorted(TR_OPTIONS)}.")
    if linear_solver == "schur" and schur is None:
        raise ValueError("linear_solver='schur' needs `schur=(n_keep, block)`.")
    check_positive("f_scale", f_scale)
    check_positive("factor", factor)
    if not isinstance(history, int) or isinstance(history, bool) or history < 0:
        raise ValueError(f"`history` must be a non-negative int, got {history!r}.")
    return method


def check_hessian(method, hessian, hess, loss, linear_solver, tr_solver, jac_sparsity, minibatch, first_order):
    """The second-order option: ``hessian`` resolved (``'exact'`` for ``method='newton'``, else ``'gn'``), with
    the combinations it cannot serve refused by name."""
    if hessian is None:
        hessian = "exact" if method == "newton" else "gn"
    check_choice("hessian", hessian, tuple(opt.HESSIANS))
    if method == "newton" and hessian != "exact":
        raise ValueError(f"method='newton' uses the exact Hessian; hessian={hessian!r} goes with 'lm', "
                         f"'levenberg' or 'gn'.")
    if hess is not None:
        if not callable(hess):
            raise TypeError(f"`hess` must be callable, got {type(hess).__name__}.")
        if hessian != "exact":
            raise ValueError("`hess` is used by method='newton' (or hessian='exact').")
    if hessian == "gn":
        return hessian
    if method in first_order or method == "auto":
        raise ValueError(f"hessian={hessian!r} needs one of the damped methods {opt.METHODS}, not {method!r}.")
    if loss != "linear":
        raise ValueError(f"hessian={hessian!r} supports the linear loss only (the second-order term of a robust "
                         f"loss is not modelled).")
    if linear_solver not in ("auto", "cholesky") or tr_solver == "lsmr" or jac_sparsity is not None or minibatch:
        raise ValueError(f"hessian={hessian!r} needs the engine's dense Cholesky solve of J^T J + S: "
                         f"linear_solver='auto' or 'cholesky', no jac_sparsity, minibatch or tr_solver='lsmr'.")
    return hessian


def check_estimator(estimator, sigma, loss="linear"):
    """The code of ``estimator`` (:data:`lsq._kernels.engine.codes.ESTIMATORS`); Poisson maximum
    likelihood takes no ``sigma`` and no robust loss."""
    check_choice("estimator", estimator, tuple(c.ESTIMATORS))
    if estimator == "poisson":
        if sigma is not None:
            raise ValueError("`sigma` cannot be given with estimator='poisson': counts carry their own variance.")
        if loss != "linear":
            raise ValueError("`loss` cannot be combined with estimator='poisson' (the deviance is its own loss).")
    return c.ESTIMATORS[estimator]


def check_positive(name, value):
    """Raise a ValueError naming ``name`` unless ``value`` is a finite positive real number."""
    ok = (isinstance(value, numbers.Real) and not isinstance(value, bool)) or (np.isscalar(value) and np.isreal(value))
    if not (ok and 0 < value < np.inf):
        raise ValueError(f"`{name}` must be a positive number, got {value!r}.")


def check_residuals(f, m_expected, x, where="fun"):
    """Return the residual vector as float64 1-D, checking shape (and finiteness at ``x0``)."""
    f = np.asarray(f)
    if f.dtype.kind not in "biufc":
        raise TypeError(f"`{where}` must return numbers (array_like of float), got dtype {f.dtype} at x = {x!r}.")
    if f.ndim > 1:
        raise ValueError(f"`{where}` must return at most 1-d array_like, got shape {f.shape}.")
    if f.ndim == 0:
        f = f.reshape(1)
    if m_expected is not None and f.shape[0] != m_expected:
        raise ValueError(
            f"`{where}` returned {f.shape[0]} residuals at x = {x!r}, but {m_expected} at the initial point."
        )
    return f
