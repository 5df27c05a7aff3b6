"""``lsq.curve_fit``: SciPy's ``curve_fit`` signature and return values on the lsq engine."""

import inspect
import warnings

import numpy as np
from scipy.linalg import LinAlgError, cholesky, qr, solve_triangular
from scipy.optimize import Bounds, OptimizeWarning

from ._kernels.covariance import covariance_from_transposed
from ._kernels.engine.codes import EPS
from ._python.model_problem import ModelResiduals
from ._python.quick_fit import quick_curve_fit
from ._setup import options as opt
from ._setup.validate import _unbounded, check_x0, has_bounds
from ._tiers import route
from ._tiers.current import kernel, tier
from .api import least_squares
from .model import Model

__all__ = ["curve_fit", "covariance_from_jacobian"]

LEASTSQ_ONLY = ("epsfcn", "diag", "col_deriv", "maxfev")
NO_BOUNDS = (-np.inf, np.inf)
"""The default ``bounds`` (the everyday call, recognised by identity)."""


def conditioning_of(res, fun, conditioning=True):
    """``(J^T J)^+`` at a solution, whether it is rank deficient, the conditioning of the column-scaled
    Jacobian and the linearised minimum of the sum of squares: ``(pcov, rank_deficient, s_unit, V_unit,
    rss_linear)`` as :func:`lsq._kernels.covariance.covariance_from_transposed` gives them, from ``res.jac``;
    or, when the fit assembled ``J^T J`` by chunks and never held ``J`` (``res.jac is None``), from
    ``fun.normal_matrix(res.x)`` (eigen-decomposition, the same truncation; ``rss_linear`` is then the sum of
    squares itself). Without ``conditioning``, ``s_unit`` and ``V_unit`` may be empty."""
    if res.jac is not None:
        return _conditioning_from_jacobian(res.jac, res.fun, conditioning)
    A = fun.normal_matrix(res.x)
    lam, V = np.linalg.eigh(A)
    s = np.sqrt(np.clip(lam, 0.0, None))
    threshold = EPS * max(res.fun.shape[0], A.shape[0]) * (s.max() if s.size else 0.0)
    keep = s > threshold
    Vk = V[:, keep]
    norms = np.sqrt(np.clip(np.diag(A), 0.0, None))
    scale = np.where(norms > 0, norms, 1.0)
    lam_u, V_u = np.linalg.eigh(A / np.outer(scale, scale))
    rss = float(res.fun @ res.fun)
    return (Vk / s[keep] ** 2) @ Vk.T, not keep.all(), np.sqrt(np.clip(lam_u, 0.0, None)), V_u.T, rss


def covariance_from_jacobian(J):
    """``(J^T J)^+`` from a truncated SVD of ``J`` (singular values below ``eps * max(m, n) * s_max`` dropped;
    see :mod:`lsq._kernels.covariance`).

    Returns
    -------
    pcov : ndarray, shape (n, n)
    rank_deficient : bool
        True when singular values were dropped (the covariance is then a pseudo-inverse).
    """
    J = np.asarray(J, dtype=float)
    return _conditioning_from_jacobian(J, np.zeros(J.shape[0]), False)[:2]


def _conditioning_from_jacobian(J, r, conditioning=True):
    """:func:`lsq._kernels.covariance.covariance_from_transposed` of an ``(m, n)`` Jacobian and residuals."""
    return kernel(covariance_from_transposed)(np.ascontiguousarray(np.asarray(J, dtype=float).T),
                                      np.ascontiguousarray(r, dtype=float), conditioning)


def _n_params(f):
    if isinstance(f, Model):
        return f.n_params
    try:
        params = inspect.signature(f).parameters.values()
    except (TypeError, ValueError) as exc:
        raise ValueError("Unable to determine number of fit parameters.") from exc
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    n = sum(p.kind in kinds for p in params) - 1
    if n < 1:
        raise ValueError("Unable to determine number of fit parameters.")
    return n


def _check_p0(p0, f):
    """``p0`` as a finite 1-D float array; for a compiled model, one entry per parameter."""
    p = check_x0(p0, "p0")
    if isinstance(f, Model) and p.size != f.n_params:
        raise ValueError(f"`p0` must have {f.n_params} entries, one per parameter of model `{f.name}` "
                         f"{list(f.param_names)}; got {p.size}.")
    return p


def _split_bounds(bounds, n):
    """``(lb, ub)`` as ``(n,)`` float arrays from a 2-tuple (scalars repeated) or a `scipy.optimize.Bounds`."""
    if bounds is NO_BOUNDS:
        return _unbounded(n)
    if isinstance(bounds, Bounds):
        lb, ub = bounds.lb, bounds.ub
    else:
        try:
            lb, ub = bounds
        except (TypeError, ValueError) as exc:
            raise ValueError("`bounds` must be a 2-tuple (lower, upper) or a scipy.optimize.Bounds.") from exc
    return _per_parameter(lb, n, "lower"), _per_parameter(ub, n, "upper")


def _per_parameter(b, n, which):
    """A bound as an ``(n,)`` float array (a scalar is repeated)."""
    try:
        b = np.asarray(b, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"The {which} `bounds` must be numbers, got {b!r}.") from exc
    if b.ndim == 0:
        return np.full(n, float(b))
    if b.shape != (n,):
        raise ValueError(f"The {which} `bounds` have shape {b.shape}; expected a scalar or ({n},), "
                         f"one per parameter.")
    if np.isnan(b).any():
        raise ValueError(f"The {which} `bounds` must not contain NaN.")
    return b.copy()


def _feasible_start(lb, ub):
    """SciPy's default ``p0``: ones, moved inside the bounds (midpoint of a finite box, 1 away from one bound)."""
    p0 = np.ones_like(lb)
    lo, hi = np.isfinite(lb), np.isfinite(ub)
    both = lo & hi
    p0[both] = 0.5 * (lb[both] + ub[both])
    p0[lo & ~hi] = lb[lo & ~hi] + 1
    p0[~lo & hi] = ub[~lo & hi] - 1
    return p0


def _omit_nan(xdata, ydata, sigma):
    has_nan = np.isnan(xdata)
    has_nan = has_nan.any(axis=tuple(range(has_nan.ndim - 1))) if has_nan.ndim else has_nan
    has_nan = has_nan | np.isnan(ydata)
    keep = ~has_nan
    xdata = xdata[..., keep]
    ydata = ydata[keep]
    if sigma is not None:
        sigma = np.asarray(sigma)
        if sigma.ndim == 1:
            sigma = sigma[keep]
        elif sigma.ndim == 2:
            sigma = sigma[np.ix_(keep, keep)]
    return xdata, ydata, sigma


def _transform(sigma, size):
    """``1/sigma`` (errors) or the lower Cholesky factor of ``sigma`` (a covariance matrix)."""
    if sigma is None:
        return None
    try:
        sigma = np.asarray(sigma, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`sigma` must be array_like of real numbers, got {type(sigma).__name__}.") from exc
    if sigma.size == 1 or sigma.shape == (size,):
        if not np.all(np.isfinite(sigma) & (sigma > 0)):
            raise ValueError("`sigma` must be positive and finite: each entry is a standard deviation of `ydata`.")
        return 1.0 / sigma
    if sigma.shape == (size, size):
        try:
            return cholesky(sigma, lower=True)
        except LinAlgError as exc:
            raise ValueError("`sigma` must be positive definite.") from exc
    raise ValueError(f"`sigma` has incorrect shape {sigma.shape}: expected ({size},) or ({size}, {size}).")


def _weigh(transform, v):
    if transform is None:
        return v
    if transform.ndim <= 1:
        return v * (transform if transform.ndim == 0 else transform.reshape((-1,) + (1,) * (v.ndim - 1)))
    return solve_triangular(transform, v, lower=True)


def _leastsq_kwargs(kwargs, jac):
    """Translate ``leastsq`` options (accepted by SciPy's ``curve_fit`` with method='lm')."""
    kwargs = dict(kwargs)
    if "maxfev" in kwargs:
        maxfev = kwargs.pop("maxfev")
        kwargs.setdefault("max_nfev", maxfev)
    if "epsfcn" in kwargs:
        eps = kwargs.pop("epsfcn")
        if eps is not None and eps > 0:
            kwargs.setdefault("diff_step", np.sqrt(eps))
    if "diag" in kwargs:
        diag = kwargs.pop("diag")
        if diag is not None:
            kwargs.setdefault("x_scale", 1.0 / np.asarray(diag, dtype=float))
    col_deriv = kwargs.pop("col_deriv", False)
    if col_deriv and callable(jac):
        inner = jac

        def jac(x, *p):
            return np.asarray(inner(x, *p)).T

    return kwargs, jac


def curve_fit(f, xdata, ydata, p0=None, sigma=None, absolute_sigma=False, check_finite=None, bounds=NO_BOUNDS,
              method=None, jac=None, *, full_output=False, nan_policy=None, **kwargs):
    """Fit ``f(xdata, *params)`` to ``ydata`` (SciPy-compatible).

    Same arguments, defaults, errors, warnings and return values as :func:`scipy.optimize.curve_fit`; the
    minimisation runs on :func:`lsq.least_squares`. A compiled model (:func:`lsq.model` or
    :mod:`lsq.models`) with 1-D ``sigma`` runs the whole fit in compiled code.

    Parameters
    ----------
    f : callable or Model
        ``f(xdata, p1, ..., pn)``.
    xdata : array_like or object
        Independent variable, passed to ``f`` as is (arrays are converted to float64).
    ydata : array_like
        Data, shape ``(m,)`` (a scalar is broadcast).
    p0 : array_like, optional
        Starting values; default ones (moved inside finite bounds).
    sigma : None, array_like (m,) or (m, m)
        Standard deviations of ``ydata`` or their covariance matrix.
    absolute_sigma : bool
        If False, ``pcov`` is scaled by the reduced chi-square (``sigma`` are relative weights).
    check_finite : bool, optional
        Raise on NaN/inf in the data (default True unless ``nan_policy`` is given).
    bounds : 2-tuple or `scipy.optimize.Bounds`
    method : {None, 'lm', 'trf', 'dogbox', 'levenberg', 'gn'}
        None is 'lm' without bounds and 'trf' with; 'trf'/'dogbox' are lsq's bounded LM. As in SciPy,
        'lm' with bounds is an error.
    jac : callable, str or None
        ``jac(xdata, *params) -> (m, n)``, or a finite-difference scheme.
    full_output : bool
        Also return ``infodict, mesg, ier``.
    nan_policy : {None, 'raise', 'omit'}
    **kwargs
        Passed to :func:`lsq.least_squares` (``maxfev``, ``epsfcn``, ``diag`` of ``leastsq`` are translated).

    Returns
    -------
    popt : ndarray
    pcov : ndarray
        From a truncated SVD of the weighted Jacobian; filled with inf (and an OptimizeWarning) when it
        cannot be estimated.
    infodict, mesg, ier
        With ``full_output``: ``infodict`` has ``nfev``, ``fvec`` (and ``fjac``, ``ipvt``, ``qtf`` for 'lm').

    Examples
    --------
    >>> import numpy as np, lsq
    >>> x = np.linspace(0, 4, 50)
    >>> popt, pcov = lsq.curve_fit(lambda x, a, b: a * np.exp(-b * x), x, 2.5 * np.exp(-1.3 * x))
    >>> np.round(popt, 6)
    array([2.5, 1.3])
    """
    with route.call(_path_of(f), lambda: _work_of(f, ydata, p0)):
        out = _curve_fit(f, xdata, ydata, p0, sigma, absolute_sigma, check_finite, bounds, method, jac, full_output,
                         nan_policy, kwargs)
        if full_output:
            out[2]["tier"] = tier()
    return out


def _curve_fit(f, xdata, ydata, p0, sigma, absolute_sigma, check_finite, bounds, method, jac, full_output, nan_policy,
               kwargs):
    """:func:`curve_fit` on the tier its call was routed to."""
    if (isinstance(f, Model) and bounds is NO_BOUNDS and method is None and jac is None and not kwargs
            and not full_output and check_finite is None and nan_policy is None):
        done = quick_curve_fit(f, xdata, ydata, p0, sigma, absolute_sigma)
        if done is not None:
            return done
    if p0 is not None:
        p0 = _check_p0(p0, f)
    n = _n_params(f) if p0 is None else p0.size
    lb, ub = _split_bounds(bounds, n)
    p0 = _feasible_start(lb, ub) if p0 is None else p0
    method = _check_method(method, p0, lb, ub)
    xdata, ydata, sigma = _check_data(xdata, ydata, sigma, check_finite, nan_policy)
    if "args" in kwargs:
        raise ValueError("'args' is not a supported keyword argument.")
    kwargs, jac = _leastsq_kwargs(kwargs, jac)
    if method == "lm" and ydata.size != 1 and n > ydata.size:
        raise TypeError(f"The number of func parameters={n} must not exceed the number of data points={ydata.size}")
    transform = _transform(sigma, ydata.size)

    fun, jac_arg = _residual_functions(f, xdata, ydata, sigma, transform, jac, n)
    if jac_arg is not None:
        kwargs["jac"] = jac_arg
    res = least_squares(fun, p0, bounds=(lb, ub), method=method, **kwargs)
    if not res.success:
        raise RuntimeError("Optimal parameters not found: " + res.message)
    pcov = _scaled_covariance(res, fun, method, absolute_sigma, kwargs.get("loss", "linear") == "linear")
    if not full_output:
        return res.x, pcov
    # SciPy's 'lm' reports MINPACK's count, finite-difference calls included; the other methods leave them out
    infodict = {"nfev": res.ncalls if method == "lm" else res.nfev, "fvec": res.fun}
    if method == "lm" and res.jac is not None:  # None when J^T J was assembled by chunks (very large m)
        infodict.update(_minpack_factors(res.jac, res.fun))
    return res.x, pcov, infodict, res.message, res.status


def _path_of(f):
    """The compile path of a ``curve_fit`` of ``f`` (:data:`lsq.compile.PATHS`)."""
    return f.compile_path if isinstance(f, Model) else "curve_fit_python"


def _work_of(f, ydata, p0):
    """The work ``m n (n + 1)`` of a ``curve_fit`` (``n`` from ``p0``, the model, or 8 when neither tells)."""
    n = len(p0) if isinstance(p0, list | tuple) else (np.size(p0) if p0 is not None else getattr(f, "n_params", 8))
    m = ydata.size if isinstance(ydata, np.ndarray) else np.size(ydata)
    return m * n * (n + 1)


def _check_method(method, p0, lb, ub):
    """SciPy's default method ('lm' without bounds, 'trf' with) and its checks of method, bounds and ``p0``."""
    bounded = has_bounds(lb, ub)
    if method is None:
        method = "trf" if bounded else "lm"
    if method not in opt.METHODS and method not in opt.METHOD_ALIASES:
        raise ValueError(f"`method` must be one of {sorted(opt.METHODS + tuple(opt.METHOD_ALIASES))}, got {method!r}.")
    if method == "lm" and bounded:
        raise ValueError("Method 'lm' only works for unconstrained problems in curve_fit (as in SciPy). "
                         "Use 'trf' or 'dogbox' instead (lsq's bounded Levenberg-Marquardt).")
    if bounded and np.any((p0 < lb) | (p0 > ub)):
        raise ValueError("Initial guess is outside of provided bounds: `p0` must lie within `bounds`.")
    return method


def _check_data(xdata, ydata, sigma, check_finite, nan_policy):
    """``xdata``/``ydata`` as float arrays, checked for NaN/inf (``check_finite``) or with NaN handled by
    ``nan_policy`` ('raise' or 'omit', SciPy's meanings)."""
    if check_finite is None:
        check_finite = nan_policy is None
    ydata = _as_float(ydata, "ydata", check_finite)
    if isinstance(xdata, list | tuple | np.ndarray):
        xdata = _as_float(xdata, "xdata", check_finite)
    if ydata.size == 0:
        raise ValueError("`ydata` must not be empty!")
    if check_finite or nan_policy is None:
        return xdata, ydata, sigma
    if nan_policy == "propagate":
        raise ValueError("`nan_policy='propagate'` is not supported by this function.")
    if nan_policy not in ("raise", "omit"):
        raise ValueError("nan_policy must be one of {None, 'raise', 'omit'}")
    has_nan = np.isnan(ydata).any() or (isinstance(xdata, np.ndarray) and np.isnan(xdata).any())
    if has_nan and nan_policy == "raise":
        raise ValueError("The input contains nan values")
    if has_nan:
        xdata, ydata, sigma = _omit_nan(xdata, ydata, sigma)
    return xdata, ydata, sigma


def _as_float(a, name, check_finite):
    """``a`` as a float array; with ``check_finite``, NaN or inf is an error that names ``a``."""
    a = np.asarray(a, float)
    if check_finite and not np.isfinite(a).all():
        raise ValueError(f"`{name}` must not contain NaN or inf (check_finite=True); nan_policy='omit' drops "
                         "the points with NaN.")
    return a


def _scaled_covariance(res, fun, method, absolute_sigma, linear_loss):
    """``pcov`` as SciPy's ``curve_fit`` gives it: scaled by the reduced chi-square unless ``absolute_sigma``;
    inf (with an OptimizeWarning) when it cannot be estimated ('lm', as MINPACK, also when J is rank
    deficient; the other methods give the pseudo-inverse). The chi-square of a converged least-squares fit
    is that of the linearised minimum (:func:`chisqr_for_covariance`)."""
    n = res.x.size
    pcov, rank_deficient, _, _, rss_linear = conditioning_of(res, fun, conditioning=False)
    ysize = res.fun.size
    warn_cov = bool(np.isnan(pcov).any()) or (method == "lm" and rank_deficient)
    if warn_cov:
        pcov = np.full((n, n), np.inf)
    elif not absolute_sigma:
        if ysize > n:
            pcov = pcov * (chisqr_for_covariance(res, rss_linear, linear_loss) / (ysize - n))
        else:
            pcov = np.full((n, n), np.inf)
            warn_cov = True
    if warn_cov:
        warnings.warn("Covariance of the parameters could not be estimated", category=OptimizeWarning, stacklevel=3)
    return pcov


def chisqr_for_covariance(res, rss_linear, linear_loss):
    """The chi-square that scales the covariance: for a converged least-squares fit, the sum of squares at
    the minimum of the problem linearised at the solution (``rss_linear``), which is the sum of squares at
    the solution to second order, and still right when the residuals are near rounding and the solution
    has fewer digits than they would need (NIST Lanczos1); otherwise twice the cost."""
    if linear_loss and res.success and np.isfinite(rss_linear):
        return float(rss_linear)
    return 2.0 * float(res.cost)


def _residual_functions(f, xdata, ydata, sigma, transform, jac, n):
    """Residual function (and Jacobian argument) for :func:`least_squares`; ``transform`` is that of
    ``sigma`` (:func:`_transform`)."""
    simple_sigma = transform is None or transform.ndim <= 1
    if isinstance(f, Model) and simple_sigma and ydata.ndim == 1 and not callable(jac) and xdata is not None:
        if sigma is not None:
            sigma = np.broadcast_to(np.asarray(sigma, dtype=float), ydata.shape)
        try:
            fun = ModelResiduals.from_data(f, xdata, ydata, sigma)
        except ValueError:
            fun = None
        if fun is not None:
            return fun, jac

    def fun(p):
        v = f(xdata, *p)
        if transform is None and type(v) is np.ndarray and v.dtype == np.float64 and v.shape == ydata.shape:
            return v - ydata
        v = np.asarray(v)
        try:
            d = v - ydata  # complex passes through for jac='cs'
        except (TypeError, ValueError) as exc:
            raise _model_output_error(v, ydata) from exc
        if d.shape != ydata.shape and ydata.ndim:  # e.g. (m, 1) - (m,) would broadcast to (m, m)
            raise _model_output_error(v, ydata)
        return _weigh(transform, d)

    if callable(jac):
        user_jac = jac

        def jac_arg(p):
            return _weigh(transform, np.asarray(user_jac(xdata, *p), dtype=float))

        return fun, jac_arg
    if jac is None and isinstance(f, Model) and f.has_jacobian and xdata is not None:
        def jac_arg(p):
            return _weigh(transform, f.jacobian(xdata, *p))

        return fun, jac_arg
    return fun, jac


def _model_output_error(v, ydata):
    """The error for an ``f(xdata, *p)`` whose value does not match ``ydata``."""
    what = f"dtype {v.dtype}" if v.dtype.kind not in "biufc" else f"shape {v.shape}"
    return ValueError(f"`f(xdata, *p)` returned {what}; it must return numbers matching `ydata` (shape "
                      f"{ydata.shape}). Check that `xdata` and `ydata` describe the same points.")


def _minpack_factors(J, fvec):
    """``fjac``, ``ipvt``, ``qtf`` as MINPACK's ``lmdif`` reports them (pivoted QR of the final Jacobian)."""
    m, n = J.shape
    Q, R, perm = qr(J, mode="economic", pivoting=True)
    fjac = np.zeros((n, m))
    k = min(m, n)
    fjac[:, :k] = R[:k, :n].T
    return {"fjac": fjac, "ipvt": perm + 1, "qtf": Q.T @ fvec}
