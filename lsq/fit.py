"""``lsq.fit``: a model fit with named parameters, fixed parameters and per-name bounds -> :class:`FitResult`."""

import functools
import inspect

import numpy as np

from ._identifiability import RANK_RTOL, ill_conditioned, strong_correlations, undetermined
from ._kernels.engine import layout as slot
from ._kernels.engine.codes import EPS, ESTIMATOR_LEAST_SQUARES, ESTIMATORS
from ._kernels.poisson import poisson_fisher_rows, poisson_residuals
from ._python.model_problem import ModelResiduals
from ._python.quick_fit import quick_fit
from ._setup.validate import check_estimator
from ._tiers import route
from ._tiers.current import kernel, tier
from .api import least_squares
from .curve_fit import _conditioning_from_jacobian, _n_params, chisqr_for_covariance, conditioning_of
from .fit_result import FitResult
from .model import Model
from .ties import tie_model

__all__ = ["fit"]

HISTORY = 1000
"""Rows of iteration history in ``FitResult.result`` (``least_squares``' default)."""

ESTIMATOR_NAMES = {code: name for name, code in ESTIMATORS.items()}
"""Estimator code -> its name."""


def _names(model):
    if isinstance(model, Model):
        return model.param_names
    params = list(inspect.signature(model).parameters)[1:]
    if len(params) != _n_params(model):
        raise TypeError("`model` must have the signature f(x, p1, ..., pn).")
    return tuple(params)


def _by_name(value, names, what, default):
    """A per-parameter array from a dict (by name), a sequence, a scalar or None (``default``)."""
    n = len(names)
    if value is None:
        return np.full(n, default, dtype=float)
    if isinstance(value, dict):
        unknown = set(value) - set(names)
        if unknown:
            raise ValueError(f"`{what}` names unknown parameters {sorted(unknown)}; the model has {list(names)}.")
        out = np.full(n, default, dtype=float)
        for k, v in value.items():
            out[names.index(k)] = v
        return out
    arr = np.broadcast_to(np.asarray(value, dtype=float), (n,)) if np.ndim(value) == 0 else np.asarray(value, float)
    if arr.shape != (n,):
        raise ValueError(f"`{what}` must have {n} entries ({list(names)}), got shape {arr.shape}.")
    return arr.copy()


def _bounds(bounds, names):
    n = len(names)
    if bounds is None:
        return np.full(n, -np.inf), np.full(n, np.inf)
    if isinstance(bounds, dict):
        lo = {k: v[0] for k, v in bounds.items()}
        hi = {k: v[1] for k, v in bounds.items()}
        return _by_name(lo, names, "bounds", -np.inf), _by_name(hi, names, "bounds", np.inf)
    lo, hi = bounds
    return _by_name(lo, names, "bounds", -np.inf), _by_name(hi, names, "bounds", np.inf)


def _fixed_mask(fixed, names):
    if fixed is None:
        return np.zeros(len(names), bool), {}
    values = dict(fixed) if isinstance(fixed, dict) else {k: None for k in fixed}
    unknown = set(values) - set(names)
    if unknown:
        raise ValueError(f"`fixed` names unknown parameters {sorted(unknown)}; the model has {list(names)}.")
    return np.array([k in values for k in names]), {k: v for k, v in values.items() if v is not None}


def fit(model, x, y, p0=None, sigma=None, bounds=None, fixed=None, method="lm", absolute_sigma=False,
        estimator="least_squares", tie=None, validation_data=None, validation_fraction=None, **kwargs):
    """Fit ``model(x, *params)`` to ``y`` with named parameters.

    Parameters
    ----------
    model : Model or callable
        A compiled model (built-in or ``@lsq.model``; the fit then runs in compiled code) or a plain
        ``f(x, p1, ..., pn)``.
    x : array_like, shape (m,) or (d, m)
    y : array_like, shape (m,)
    p0 : dict, array_like or None
        Starting values, by name or in order. Missing names, or ``p0=None``, come from ``model.guess(x, y)``
        when the model has one, else 1.
    sigma : array_like, shape (m,), optional
        Standard deviations of ``y`` (weights ``1/sigma``).
    bounds : dict or 2-tuple, optional
        ``{"name": (lo, hi)}`` or ``(lower, upper)`` with dicts, sequences or scalars.
    fixed : dict or iterable of str, optional
        Parameters held constant: ``{"name": value}`` or names (held at their ``p0`` value).
    method : str
        Any method of :func:`lsq.least_squares`.
    absolute_sigma : bool
        As in :func:`scipy.optimize.curve_fit`: if False the covariance is scaled by the reduced chi-square.
    estimator : {'least_squares', 'poisson'}
        ``'poisson'``: maximum likelihood for counts ``y >= 0`` with Poisson noise and mean ``model > 0``.
        The fit minimises the Poisson deviance ``2 sum[mu - y + y ln(y / mu)]`` (``chisqr`` is then the
        deviance) with the same damped engine, as least squares on deviance residuals (Fisher scoring, see
        :mod:`lsq._kernels.poisson`); a step to a non-positive mean is rejected. The covariance is the
        inverse Fisher information (``absolute_sigma`` does not apply). ``sigma`` and robust losses cannot be
        combined with it.
    tie : dict, optional
        Parameters given by expressions of the others, ``{"p2_sigma": "p1_sigma", "p2_center":
        "p1_center + 1.5"}`` (names, numbers, ``+ - * / **``, ``exp log sqrt sin cos tan arctan``; see
        :mod:`lsq.ties`). Only the other parameters are fitted, with the expressions applied in compiled code
        for a compiled model; tied parameters get their values and derived standard errors (from the
        covariance of the free ones). ``bounds`` and ``fixed`` cannot name a tied parameter; ``p0`` values of
        tied parameters are ignored.
    validation_data : (x_val, y_val) or (x_val, y_val, sigma_val), optional
        First-order methods: held-out data whose cost is recorded after every epoch
        (``result.result.history['val_cost']``, :func:`lsq.plot.learning_curves`); with ``patience=k``
        (passed to :func:`lsq.least_squares`) the fit stops once it has not improved for ``k`` epochs.
    validation_fraction : float, optional
        Instead of ``validation_data``: hold out this fraction of the points, drawn with ``seed``.
    **kwargs
        Passed to :func:`lsq.least_squares` (``loss``, ``ftol``, ``max_nfev``, ``damping``, ...).

    Returns
    -------
    FitResult

    Examples
    --------
    >>> import numpy as np, lsq
    >>> x = np.linspace(-3, 3, 61)
    >>> y = lsq.models.gaussian(x, 2.0, 0.3, 0.7, 0.1)
    >>> r = lsq.fit(lsq.models.gaussian, x, y)
    >>> round(r.params["center"], 6)
    0.3
    """
    n = _n_of(model, p0)
    with route.call(_path_of(model), np.size(y) * n * (n + 1)):
        out = _fit(model, x, y, p0, sigma, bounds, fixed, method, absolute_sigma, estimator, tie, validation_data,
                   validation_fraction, **kwargs)
        out.tier = tier()
    return out


def _fit(model, x, y, p0=None, sigma=None, bounds=None, fixed=None, method="lm", absolute_sigma=False,
        estimator="least_squares", tie=None, validation_data=None, validation_fraction=None, **kwargs):
    """:func:`fit` on the tier its call was routed to."""
    names = _names(model)
    if validation_data is not None or validation_fraction is not None:
        x, y, sigma, validation_data = _held_out(x, y, sigma, validation_data, validation_fraction,
                                                 kwargs.get("seed"))
        kwargs["validation_data"] = validation_data
    if tie:
        return _tied_fit(model, names, tie, x, y, p0, sigma, bounds, fixed,
                         dict(method=method, absolute_sigma=absolute_sigma, estimator=estimator, **kwargs))
    code = check_estimator(estimator, sigma, kwargs.get("loss", "linear"))
    poisson = code != ESTIMATOR_LEAST_SQUARES
    absolute_sigma = absolute_sigma or poisson
    if isinstance(model, Model) and bounds is None and fixed is None and method == "lm" and not kwargs:
        done = _quick(model, names, x, y, p0, sigma, absolute_sigma, code)
        if done is not None:
            return done
    x_arr, y, sigma = _check_data(x, y, sigma, poisson)
    start, guessed = _start(model, names, x_arr, y, p0)
    lb, ub = _bounds(bounds, names)
    start[guessed] = np.clip(start[guessed], lb[guessed], ub[guessed])
    held, held_values = _fixed_mask(fixed, names)
    for k, v in held_values.items():
        start[names.index(k)] = v
    free = ~held
    if not free.any():
        raise ValueError("`fixed` holds every parameter; nothing to fit.")
    outside = [name for j, name in enumerate(names) if not lb[j] <= start[j] <= ub[j]]
    if outside:
        raise ValueError(f"`p0` is outside of `bounds` for {outside}.")

    fun, jac = _residuals(model, x_arr, y, sigma, start, free, code)
    if jac is not None:
        kwargs.setdefault("jac", jac)
    if kwargs.get("validation_data") is not None:
        xv, yv, sv = kwargs["validation_data"]
        kwargs["validation_data"], _ = _residuals(model, xv, yv, sv, start, free, code)
    res = least_squares(fun, start[free], bounds=(lb[free], ub[free]), method=method, **kwargs)
    values = start.copy()
    values[free] = res.x
    if poisson and res.jac is not None:
        mu = np.asarray(model(x_arr, *values), dtype=float)
        fisher = np.asarray(res.jac, dtype=float) * kernel(poisson_fisher_rows)(mu, y)[:, None]
        pcov, rank_deficient, s_unit, V_unit, rss_linear = _conditioning_from_jacobian(fisher, res.fun)
    else:
        pcov, rank_deficient, s_unit, V_unit, rss_linear = conditioning_of(res, fun)
    free = None if free.all() else free
    if rank_deficient and res.jac is not None and not undetermined(s_unit, V_unit, names)[1]:
        # a direction below rounding of the unscaled J (the pseudo-inverse left it out) that the scaled test
        # keeps, such as a parameter whose sensitivity is 1e-20 of the others': judged on J as it is
        J = np.asarray(res.jac, dtype=float)
        _, s, VT = np.linalg.svd(J, full_matrices=False)
        s_unit, V_unit = s, VT
        rank_rtol = EPS * max(J.shape)
    else:
        rank_rtol = RANK_RTOL
    # the linear loss's cost is half the weighted sum of squares; a robust cost is not
    linear_loss = kwargs.get("loss", "linear") == "linear"
    chisqr = 2.0 * res.cost if linear_loss else float(np.sum(res.fun**2))
    out = _finish(model, names, free, start, values, pcov, (s_unit, V_unit), chisqr, x_arr, y, sigma, res,
                  absolute_sigma, np.flatnonzero(res.active_mask), rank_rtol, estimator,
                  chisqr_for_covariance(res, rss_linear, linear_loss) if linear_loss else chisqr)
    out.bounds = (lb, ub)
    return out


def _path_of(model):
    """The compile path of a ``fit`` of ``model`` (:data:`lsq.compile.PATHS`)."""
    if isinstance(model, Model):
        return "fit" if model.compile_path == "curve_fit" else model.compile_path
    return "curve_fit_python"


def _n_of(model, p0):
    """The number of parameters of a fit, for its work estimate (8 when neither ``model`` nor ``p0`` tells)."""
    return getattr(model, "n_params", None) or (len(p0) if p0 is not None else 8)


def _held_out(x, y, sigma, validation_data, fraction, seed):
    """The training data and the validation triple ``(x_val, y_val, sigma_val)``: as given, or a random
    ``fraction`` of the points held out."""
    if validation_data is not None and fraction is not None:
        raise ValueError("give `validation_data` or `validation_fraction`, not both.")
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if validation_data is not None:
        if not isinstance(validation_data, tuple | list) or len(validation_data) not in (2, 3):
            raise ValueError("`validation_data` must be (x_val, y_val) or (x_val, y_val, sigma_val).")
        xv, yv = np.asarray(validation_data[0], dtype=float), np.asarray(validation_data[1], dtype=float)
        sv = None if len(validation_data) == 2 or validation_data[2] is None else np.broadcast_to(
            np.asarray(validation_data[2], dtype=float), yv.shape)
        if yv.ndim != 1 or xv.shape[-1] != yv.shape[0]:
            raise ValueError(f"`validation_data`: x_val has {xv.shape[-1]} points but y_val has shape {yv.shape}.")
        return x, y, sigma, (xv, yv, sv)
    if not (isinstance(fraction, float | int) and 0 < fraction < 1):
        raise ValueError(f"`validation_fraction` must be in (0, 1), got {fraction!r}.")
    m = y.shape[0]
    held = np.zeros(m, dtype=bool)
    held[np.random.default_rng(seed).permutation(m)[: max(1, int(round(fraction * m)))]] = True
    sig = None if sigma is None else np.broadcast_to(np.asarray(sigma, dtype=float), y.shape)
    return (x[..., ~held], y[~held], None if sig is None else sig[~held],
            (x[..., held], y[held], None if sig is None else sig[held]))


def _tied_fit(model, names, tie, x, y, p0, sigma, bounds, fixed, options):
    """:func:`fit` with ``tie``: fit the model of the free parameters (:func:`lsq.ties.tie_model`), then report
    every parameter, the tied ones with ``D C D^T`` as their covariance."""
    tied, expand, expand_jacobian = tie_model(model, tie)
    free_names = _names(tied)
    index = [names.index(k) for k in free_names]
    for what, value in (("bounds", bounds), ("fixed", fixed)):
        named = set(value) if isinstance(value, dict) else (set(value) if what == "fixed" and value else set())
        if named & set(tie):
            raise ValueError(f"`{what}` names tied parameters {sorted(named & set(tie))}; a tied parameter follows "
                             f"its expression.")

    def free_part(v):
        if isinstance(v, dict):
            return {k: val for k, val in v.items() if k not in tie}
        if v is not None and np.ndim(v) == 1 and len(v) == len(names):
            return np.asarray(v, dtype=float)[index]
        return v

    if isinstance(bounds, tuple | list) and len(bounds) == 2:
        bounds = (free_part(bounds[0]), free_part(bounds[1]))
    inner = fit(tied, x, y, p0=free_part(p0), sigma=sigma, bounds=bounds, fixed=fixed, **options)
    q = inner.values
    D = expand_jacobian(q)
    with np.errstate(invalid="ignore"):
        cov = D @ np.where(np.isfinite(inner.cov), inner.cov, 0.0) @ D.T
        lost = ~np.isfinite(np.diag(inner.cov))
        if lost.any():  # what depends on an undetermined parameter is undetermined too
            touched = np.abs(D[:, lost]).sum(axis=1) > 0
            cov[touched, :] = np.nan
            cov[:, touched] = np.nan
            cov[touched, touched] = np.inf
    out = FitResult(model=model, names=names, values=expand(q), cov=cov, free=np.zeros(len(names), bool),
                    x=inner.x, y=inner.y, sigma=inner.sigma, chisqr=inner.chisqr, dof=inner.dof,
                    result=inner._fit_state if inner._fit_state is not None else inner.result,
                    absolute_sigma=inner.absolute_sigma, singular_values=inner._singular_values,
                    diagnostics=inner.diagnostics, estimator=inner.estimator)
    out.free[index] = inner.free
    out.n_free = inner.n_free
    out.ties = {k: str(v) for k, v in tie.items()}
    if inner.bounds is not None:
        lb, ub = np.full(len(names), -np.inf), np.full(len(names), np.inf)
        lb[index], ub[index] = inner.bounds
        out.bounds = (lb, ub)
    return out


def _check_data(x, y, sigma, poisson):
    """``x``, ``y`` and ``sigma`` as float arrays, or a ValueError naming what is wrong."""
    x_arr = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if y.ndim != 1:
        raise ValueError(f"`y` must be 1-D, got shape {y.shape}.")
    if x_arr.shape[-1] != y.shape[0]:
        raise ValueError(f"`x` has {x_arr.shape[-1]} points but `y` has {y.shape[0]}.")
    if not np.all(np.isfinite(y)) or not np.all(np.isfinite(x_arr)):
        raise ValueError("`x` and `y` must be finite (drop NaN points first, or use lsq.curve_fit(nan_policy='omit')).")
    if poisson and np.any(y < 0):
        raise ValueError("`y` must be counts >= 0 with estimator='poisson'.")
    if sigma is not None:
        sigma = np.broadcast_to(np.asarray(sigma, dtype=float), y.shape)
        if not np.all(np.isfinite(sigma)) or np.any(sigma <= 0):
            raise ValueError("`sigma` must be positive and finite.")
    return x_arr, y, sigma


def _quick(model, names, x, y, p0, sigma, absolute_sigma, estimator):
    """The everyday fit of a compiled model in one compiled call (:mod:`lsq._python.quick_fit`); None when
    the call needs the general path (which gives the same fit, and every error message)."""
    try:
        x_arr = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        if sigma is not None:
            sigma = np.broadcast_to(np.asarray(sigma, dtype=float), y.shape)
    except (TypeError, ValueError):
        return None
    if y.ndim != 1 or x_arr.ndim == 0 or x_arr.shape[-1] != y.shape[0]:
        return None
    if isinstance(p0, list | tuple | np.ndarray) and len(p0) == len(names):
        try:
            start = np.array(p0, dtype=float)
        except (TypeError, ValueError):
            return None
    else:
        start, _ = _start(model, names, x_arr, y, p0)
    done = quick_fit(model, x_arr, y, start, sigma, history=HISTORY, estimator=estimator, conditioning=True)
    if done is None:
        return None
    state, (pcov, _, s_unit, V_unit, rss_linear) = done
    name = ESTIMATOR_NAMES[estimator]
    return _finish(model, names, None, start, state.x, pcov, (s_unit, V_unit), 2.0 * float(state.sf[slot.COST]),
                   x_arr, y, sigma, state, absolute_sigma, (), RANK_RTOL, name, rss_linear)


def _finish(model, names, free, start, values, pcov, conditioning, chisqr, x, y, sigma, result, absolute_sigma,
            at_bound, rank_rtol=RANK_RTOL, estimator="least_squares", chisqr_scale=None):
    """The :class:`FitResult`: the covariance scaled by the reduced chi-square (unless ``absolute_sigma``),
    no standard error for what the data cannot determine, and the diagnostics that say why. ``free`` is a
    mask, or None when every parameter is free; ``chisqr`` is twice the cost (linear loss: the weighted sum
    of squares); ``chisqr_scale`` the chi-square the covariance is scaled by
    (:func:`lsq.curve_fit.chisqr_for_covariance`; default ``chisqr``)."""
    m, n = y.shape[0], len(names)
    all_free = free is None
    free_names = list(names) if all_free else [name for name, f in zip(names, free, strict=True) if f]
    dof = m - len(free_names)
    cov_free = pcov
    if not absolute_sigma:
        scale = chisqr if chisqr_scale is None else chisqr_scale
        cov_free = cov_free * (scale / dof) if dof > 0 else np.full_like(cov_free, np.inf)
    lost, messages = undetermined(*conditioning, free_names, rank_rtol)
    if messages:
        cov_free = cov_free.copy()
        cov_free[lost, :] = np.nan
        cov_free[:, lost] = np.nan
        cov_free[lost, lost] = np.inf
    if all_free:
        cov, free = cov_free, _all_free(n)
    else:
        cov = np.zeros((n, n))
        cov[np.ix_(free, free)] = cov_free

    out = FitResult(model=model, names=names, values=values, cov=cov, free=free, x=x, y=y, sigma=sigma,
                    chisqr=chisqr, dof=dof, result=result, absolute_sigma=absolute_sigma,
                    singular_values=conditioning[0], estimator=estimator,
                    diagnostics=_Diagnose(messages, conditioning if rank_rtol == RANK_RTOL else None, free_names,
                                          lost, cov_free, start if all_free else start[free],
                                          values if all_free else values[free], at_bound))
    return out


@functools.lru_cache(maxsize=64)
def _all_free(n):
    """The mask of ``n`` free parameters, read-only and shared by every fit that holds none."""
    free = np.ones(n, dtype=bool)
    free.flags.writeable = False
    return free


class _Diagnose:
    """The diagnostics of a fit in words, worked out when :attr:`FitResult.diagnostics` is first read (the fit
    itself needs only which parameters are undetermined). Holds no reference to the fit: no cycle for the
    garbage collector."""

    def __init__(self, messages, conditioning, free_names, lost, cov_free, start, values, at_bound):
        self.messages, self.conditioning, self.free_names, self.lost = messages, conditioning, free_names, lost
        self.cov_free, self.start, self.values, self.at_bound = cov_free, start, values, at_bound

    def __call__(self, fit):
        words = self.messages
        if self.conditioning is not None:
            words = words + ill_conditioned(*self.conditioning, self.free_names, self.lost)
        return words + _more_diagnostics(fit, self.free_names, self.lost, self.cov_free, self.start, self.values,
                                         self.at_bound)


def _more_diagnostics(fit, free_names, lost, cov_free, start, values, at_bound):
    """Strong correlations, parameters at a bound or never moved from ``p0``, a fit that did not converge."""
    out = []
    if not fit.success:
        out.append(f"The fit did not converge ({fit.message}): the uncertainties describe where it stopped.")
    out += strong_correlations(cov_free, free_names, lost)
    out += [f"{free_names[j]} is at a bound: its standard error ignores the bound." for j in at_bound]
    if fit.nit > 0:
        out += [f"{free_names[j]} never moved from its starting value."
                for j, (a, b) in enumerate(zip(values.tolist(), start.tolist(), strict=True)) if a == b and not lost[j]]
    return out


def _start(model, names, x, y, p0):
    """Starting values and a mask of those not given by the user (guessed, or 1 without a guess rule)."""
    n = len(names)
    given = _by_name(p0, names, "p0", np.nan) if p0 is not None else np.full(n, np.nan)
    guessed = np.isnan(given) if isinstance(p0, dict) or p0 is None else np.zeros(n, bool)
    if guessed.any():
        fill = model.guess(x, y) if isinstance(model, Model) and model.has_guess else np.ones(n)
        given[guessed] = fill[guessed]
    return given, guessed


def _residuals(model, x, y, sigma, start, free, estimator=ESTIMATOR_LEAST_SQUARES):
    """Residual function of the free parameters (compiled when nothing is held fixed) and its Jacobian:
    ``(model - y) / sigma``, or the Poisson deviance residuals (:mod:`lsq._kernels.poisson`)."""
    poisson = estimator != ESTIMATOR_LEAST_SQUARES
    if isinstance(model, Model) and free.all():
        return ModelResiduals.from_data(model, x, y, sigma, estimator), None
    wts = 1.0 if sigma is None else 1.0 / sigma
    full = start.copy()

    def values(p):
        full[free] = p
        v = np.asarray(model(x, *full), dtype=float)
        return np.broadcast_to(v, y.shape) if v.ndim == 0 else v

    def fun(p):
        if poisson:
            return kernel(poisson_residuals)(values(p), y)[0]
        return (values(p) - y) * wts

    if isinstance(model, Model) and model.has_jacobian:
        def jac(p):
            full[free] = p
            factors = kernel(poisson_residuals)(values(p), y)[1] if poisson else np.broadcast_to(wts, y.shape)
            return model.jacobian(x, *full)[:, free] * factors[:, None]

        return fun, jac
    return fun, None
