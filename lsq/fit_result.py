""":class:`FitResult`: named parameters, uncertainties, goodness of fit, report, prediction bands, plot."""

import functools

import numpy as np

from ._kernels.engine import layout as slot
from ._setup.result import TERMINATION_MESSAGES, FitState, build_result
from .model import Model, central_difference_jacobian

__all__ = ["FitResult"]


class FitResult:
    """The outcome of :func:`lsq.fit`.

    Attributes
    ----------
    params : dict
        Parameter name -> fitted value (fixed parameters included).
    stderr : dict
        Name -> standard error (0 for fixed parameters, inf when undetermined).
    values, errors : ndarray
        The same as arrays, in the model's parameter order.
    cov, corr : ndarray, shape (n, n)
        Covariance and correlation matrices (rows/columns of fixed parameters are 0).
    chisqr, redchi : float
        ``sum(((f - y) / sigma)**2)`` (with ``estimator='poisson'``, the Poisson deviance) and
        ``chisqr / (m - n_free)``.
    estimator : str
        ``'least_squares'`` or ``'poisson'`` (maximum likelihood).
    r_squared : float
        ``1 - SS_res / SS_tot`` of the unweighted residuals.
    aic, bic : float
        ``m ln(chisqr/m) + 2 k`` and ``m ln(chisqr/m) + k ln m`` with ``k`` free parameters (lmfit's convention);
        for a Poisson fit ``deviance + 2 k`` and ``deviance + k ln m`` (the log-likelihood up to a constant
        of the data).
    nfev, nit : int
    success : bool
    message : str
    result : scipy.optimize.OptimizeResult
        The underlying :func:`lsq.least_squares` result.
    diagnostics : list of str
        What limits the uncertainties, in words (worked out when first read): parameters the data cannot
        determine (their standard error is inf, their covariances NaN) and the combination left
        undetermined, nearly interchangeable pairs (``|correlation| >= 0.99``), parameters at a bound or
        never moved from ``p0``, a fit that did not converge. Empty when there is nothing to say.
    bounds : (ndarray, ndarray) or None
        The lower and upper bounds the fit ran with (None: unbounded).
    ties : dict
        Tied parameter -> its expression (their ``stderr`` is derived from the free parameters').
    tier : str
        ``'compiled'``, or ``'interpreted'`` when the fit ran the kernels' Python code while numba had not
        compiled them yet (see the README: the first call in a fresh environment).
    singular_values : ndarray
        Of the Jacobian at the solution with its columns scaled to unit length, largest first.
    condition_number : float
        Their ratio, largest over smallest.
    """

    tier = "compiled"

    def __init__(self, model, names, values, cov, free, x, y, sigma, chisqr, dof, result, absolute_sigma,
                 singular_values=None, diagnostics=(), estimator="least_squares"):
        """``diagnostics``: the list, or ``diagnose(fit) -> list`` called when it is first read."""
        self.model = model
        self.estimator = estimator
        self.names = tuple(names)
        self.values = values
        self.cov = cov
        self.free = free
        self.x, self.y, self.sigma = x, y, sigma
        self.chisqr = chisqr
        self.dof = dof
        self.absolute_sigma = absolute_sigma
        self.bounds = None  # (lower, upper) arrays when the fit had bounds; set by lsq.fit
        self.ties = {}  # tied name -> expression; set by lsq.fit
        self._diagnose = diagnostics if callable(diagnostics) else _Listed(diagnostics)
        self._singular_values = singular_values
        self.n_data, self.n_free = y.shape[0], int(np.count_nonzero(free))
        self.redchi = chisqr / dof if dof > 0 else np.inf
        if isinstance(result, FitState):  # the compiled quick path: the OptimizeResult is built when asked for
            self._fit_state = result
            status = int(result.si[slot.STATUS])
            self.nfev, self.nit, self.success = int(result.si[slot.NFEV]), int(result.si[slot.NIT]), status > 0
            self.message = TERMINATION_MESSAGES[status]
        else:
            self._fit_state = None
            self.__dict__["result"] = result
            self.nfev, self.nit = int(result.nfev), int(result.nit)
            self.success, self.message = bool(result.success), result.message

    @functools.cached_property
    def diagnostics(self):
        """What limits the uncertainties, in words (see the class docstring)."""
        return self._diagnose(self)

    @functools.cached_property
    def result(self):
        """The underlying :func:`lsq.least_squares` result (an ``OptimizeResult``)."""
        return build_result(self._fit_state, "lm")

    @functools.cached_property
    def singular_values(self):
        """Singular values of the Jacobian at the solution with its columns scaled to unit length, largest
        first."""
        if self._singular_values is None:
            return np.array([])
        return np.sort(np.asarray(self._singular_values, dtype=float))[::-1]

    @property
    def condition_number(self):
        """Largest over smallest singular value of the Jacobian with its columns scaled to unit length (inf
        when a direction is not determined at all); the test of :mod:`lsq._identifiability` reads it."""
        s = self.singular_values
        if s.size == 0:
            return np.nan
        return float(s[0] / s[-1]) if s[-1] > 0 else np.inf

    @functools.cached_property
    def errors(self):
        with np.errstate(invalid="ignore"):
            return np.sqrt(np.diag(self.cov))

    @functools.cached_property
    def corr(self):
        scale = np.where(self.errors > 0, self.errors, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.cov / np.outer(scale, scale)

    @functools.cached_property
    def r_squared(self):
        resid = self.y - self.predict(self.x)
        ss_tot = float(np.sum((self.y - self.y.mean()) ** 2))
        return 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else np.nan

    @property
    def aic(self):
        return float(self._log_likelihood_term() + 2 * self.n_free)

    @property
    def bic(self):
        return float(self._log_likelihood_term() + np.log(self.n_data) * self.n_free)

    def _log_likelihood_term(self):
        if self.estimator == "poisson":
            return self.chisqr
        with np.errstate(divide="ignore"):
            return self.n_data * np.log(self.chisqr / self.n_data)

    @property
    def params(self):
        return dict(zip(self.names, self.values.tolist(), strict=True))

    @property
    def stderr(self):
        return dict(zip(self.names, self.errors.tolist(), strict=True))

    @property
    def model_name(self):
        return self.model.name if isinstance(self.model, Model) else getattr(self.model, "__name__", "model")

    def predict(self, x):
        """Model values at ``x`` with the fitted parameters."""
        return np.asarray(self.model(np.asarray(x, dtype=float), *self.values), dtype=float)

    def confidence_band(self, x, level=0.95):
        """Pointwise confidence band of the fitted curve at ``x`` (delta method).

        ``f(x) -/+ q * sqrt(diag(G C G^T))`` with ``G`` the model Jacobian at ``x``, ``C`` the covariance, and
        ``q`` the Student-t quantile with ``m - n_free`` degrees of freedom (normal when ``absolute_sigma``).

        Returns
        -------
        lower, upper : ndarray
        """
        if not 0 < level < 1:
            raise ValueError(f"`level` must be in (0, 1), got {level!r}.")
        from scipy import stats  # imported here: it would add ~0.4 s to `import lsq`

        x = np.asarray(x, dtype=float)
        G = self._model_jacobian(x)
        var = np.einsum("ij,jk,ik->i", G, self.cov, G)
        q = stats.norm.ppf(0.5 + level / 2) if self.absolute_sigma or self.dof <= 0 else stats.t.ppf(
            0.5 + level / 2, self.dof)
        half = q * np.sqrt(np.maximum(var, 0.0))
        f = self.predict(x)
        return f - half, f + half

    def _model_jacobian(self, x):
        if isinstance(self.model, Model):
            return self.model.jacobian(x, *self.values)
        return central_difference_jacobian(self.model, x, self.values)

    def report(self, min_correl=0.1):
        """A readable text report: fit statistics, parameters with standard errors, notable correlations.

        Parameters
        ----------
        min_correl : float
            Correlations with ``|r|`` at or above this are listed.
        """
        lines = [
            f"[[Model]]\n    {self.model_name}",
            "[[Fit Statistics]]",
            f"    # fitting method   = {self.result.method}",
            f"    # kernels          = {self.tier}",
            f"    # function evals   = {self.nfev}",
            f"    # iterations       = {self.nit}",
            f"    # data points      = {self.n_data}",
            f"    # variables        = {self.n_free}",
            (f"    Poisson deviance   = {self.chisqr:.8g}" if self.estimator == "poisson" else
             f"    chi-square         = {self.chisqr:.8g}"),
            f"    reduced chi-square = {self.redchi:.8g}",
            f"    R-squared          = {self.r_squared:.8g}",
            f"    Akaike info crit   = {self.aic:.8g}",
            f"    Bayesian info crit = {self.bic:.8g}",
            f"    success            = {self.success} ({self.message})",
            "[[Variables]]",
        ]
        width = max(len(n) for n in self.names)
        for j, name in enumerate(self.names):
            v, e = self.values[j], self.errors[j]
            if name in self.ties:
                lines.append(f"    {name:<{width}}: {v:.8g} +/- {e:.8g} (tied: {self.ties[name]})")
            elif not self.free[j]:
                lines.append(f"    {name:<{width}}: {v:.8g} (fixed)")
            elif np.isfinite(e) and v != 0:
                lines.append(f"    {name:<{width}}: {v:.8g} +/- {e:.8g} ({abs(e / v) * 100:.2f}%)")
            else:
                lines.append(f"    {name:<{width}}: {v:.8g} +/- {e:.8g}")
        if self.diagnostics:
            lines.append("[[Diagnostics]]")
            lines.extend(f"    {d}" for d in self.diagnostics)
        pairs = []
        for a in range(len(self.names)):
            for b in range(a + 1, len(self.names)):
                r = self.corr[a, b]
                if np.isfinite(r) and abs(r) >= min_correl:
                    pairs.append((abs(r), r, self.names[a], self.names[b]))
        if pairs:
            lines.append(f"[[Correlations]] (unreported correlations are < {min_correl:.3f})")
            for _, r, a, b in sorted(pairs, reverse=True):
                lines.append(f"    C({a}, {b}){'':<{max(0, 2 * width - len(a) - len(b))}} = {r:+.4f}")
        return "\n".join(lines)

    def plot(self, ax=None, level=0.95, n_points=400):
        """Data (with error bars), the fit, its confidence band and a residual panel.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from .plot import plot_fit

        return plot_fit(self, level=level, n_points=n_points)

    def profile(self, name, n_points=21, width=3.0, level=0.95):
        """Likelihood profile of one parameter: chi-square with ``name`` held at each of ``n_points`` values
        across ``value +/- width * stderr`` and every other free parameter refitted (as lmfit's
        ``conf_interval``), and the confidence interval where it crosses the threshold of ``level``.

        With ``absolute_sigma`` the threshold is the chi-square quantile with 1 degree of freedom on
        ``chisqr - chisqr_min``; otherwise that difference is divided by the reduced chi-square of the fit
        and compared with the F(1, dof) quantile. For a model linear in its parameters both give exactly the
        symmetric interval of the standard error (times the normal or Student-t quantile); for a nonlinear
        model the interval is asymmetric where the chi-square surface is.

        Returns
        -------
        Profile
            ``values``, ``chisqr`` and ``delta`` (the scaled difference compared with ``threshold``) per
            grid point, ``interval`` (``(lower, upper)``; an end is +/-inf when the profile stays below the
            threshold on that side), and ``plot()``.
        """
        from .profile import profile_parameter

        return profile_parameter(self, name, n_points, width, level)

    def _repr_html_(self):
        """A table for notebooks: values, standard errors, relative errors, bounds; then the diagnostics."""
        import html

        lower, upper = self.bounds if self.bounds is not None else (None, None)
        rows = []
        for j, name in enumerate(self.names):
            v, e = self.values[j], self.errors[j]
            rel = f"{abs(e / v) * 100:.3g} %" if self.free[j] and np.isfinite(e) and v != 0 else ""
            err = f"{e:.6g}" if self.free[j] else (f"{e:.6g} (= {self.ties[name]})" if name in self.ties else "fixed")
            bnd = "" if lower is None else f"[{lower[j]:.6g}, {upper[j]:.6g}]"
            rows.append(f"<tr><td>{html.escape(name)}</td><td>{v:.8g}</td><td>{err}</td><td>{rel}</td>"
                        f"<td>{bnd}</td></tr>")
        notes = "".join(f"<li>{html.escape(d)}</li>" for d in self.diagnostics)
        return (f"<div><p><b>{html.escape(self.model_name)}</b>: {self.n_data} points, {self.n_free} free "
                f"parameters, reduced chi-square {self.redchi:.6g}, {html.escape(self.message)}</p>"
                "<table><tr><th>parameter</th><th>value</th><th>stderr</th><th>relative</th><th>bounds</th></tr>"
                + "".join(rows) + "</table>" + (f"<p>Diagnostics:</p><ul>{notes}</ul>" if notes else "") + "</div>")

    def __repr__(self):
        vals = ", ".join(f"{k}={v:.6g}" for k, v in self.params.items())
        return f"<FitResult {self.model_name}: {vals}; redchi={self.redchi:.4g}, success={self.success}>"


class _Listed:
    """``diagnose(fit)`` for diagnostics known up front."""

    def __init__(self, words):
        self.words = list(words)

    def __call__(self, fit):
        return list(self.words)
