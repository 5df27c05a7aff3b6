"""Argument checks. Every message names the argument and says what was expected."""

import numbers

import numpy as np
from scipy.optimize import Bounds

EPS = np.finfo(float).eps


def check_x0(x0):
    """Return ``x0`` as a finite 1-D float array (a copy)."""
    if type(x0) is np.ndarray and x0.dtype == np.float64 and x0.ndim == 1 and x0.size:  # the common case, fast
        if not np.isfinite(x0).all():
            raise ValueError("`x0` must be finite; it contains NaN or inf.")
        return x0.copy()
    if np.iscomplexobj(x0):
        raise ValueError("`x0` must be real.")
    try:
        x = np.atleast_1d(np.asarray(x0, dtype=float))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`x0` must be array_like of real numbers, got {type(x0).__name__}.") from exc
    if x.ndim > 1:
        raise ValueError(f"`x0` must have at most 1 dimension, got shape {x.shape}.")
    if x.size == 0:
        raise ValueError("`x0` must have at least one element.")
    if not np.all(np.isfinite(x)):
        raise ValueError("`x0` must be finite; it contains NaN or inf.")
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
    return bool(np.isfinite(lb).any() or np.isfinite(ub).any())


def check_bounds(bounds, n):
    """Return ``(lb, ub)`` arrays of shape ``(n,)`` from a 2-sequence or a :class:`scipy.optimize.Bounds`
    (arrays shared between calls when there are no bounds: do not write to them)."""
    if bounds is None or (isinstance(bounds, tuple) and len(bounds) == 2 and np.isscalar(bounds[0])
                          and np.isscalar(bounds[1]) and bounds[0] == -np.inf and bounds[1] == np.inf):
        return _unbounded(n)
    elif isinstance(bounds, Bounds):
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
    """Return ``'jac'`` or a positive float array of shape ``(n,)``."""
    if isinstance(x_scale, str):
        if x_scale == "jac":
            return x_scale
        raise ValueError(f"`x_scale` must be 'jac' or array_like of positive numbers, got {x_scale!r}.")
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


def check_residuals(f, m_expected, x, where="fun"):
    """Return the residual vector as float64 1-D, checking shape (and finiteness at ``x0``)."""
    f = np.asarray(f)
    if f.dtype.kind not in "biufc":
        raise TypeError(f"`{where}` must return numbers (array_like of float), got dtype {f.dtype} at x = {x!r}.")
    if f.ndim > 1:
        raise ValueError(f"`{where}` must return at most 1-d array_like, got shape {f.shape}.")
    f = np.atleast_1d(f)
    if m_expected is not None and f.shape[0] != m_expected:
        raise ValueError(
            f"`{where}` returned {f.shape[0]} residuals at x = {x!r}, but {m_expected} at the initial point."
        )
    return f
