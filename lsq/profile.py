"""Likelihood profiles of fitted parameters: asymmetric confidence intervals by refitting (lmfit's
``conf_interval``), for :meth:`lsq.FitResult.profile`."""

from dataclasses import dataclass

import numpy as np

__all__ = ["Profile"]


@dataclass
class Profile:
    """The chi-square profile of one parameter (see :meth:`lsq.FitResult.profile`)."""

    name: str
    best: float
    values: np.ndarray
    chisqr: np.ndarray
    delta: np.ndarray
    threshold: float
    level: float
    interval: tuple

    def plot(self, ax=None):
        """The scaled chi-square difference against the parameter, the threshold and the interval.

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        if ax is None:
            fig, ax = plt.subplots(figsize=(5, 3.5))
        else:
            fig = ax.figure
        ax.plot(self.values, self.delta, "o-", ms=3, label="profile")
        ax.axhline(self.threshold, color="k", lw=0.8, ls="--", label=f"{self.level:.0%} threshold")
        for end in self.interval:
            if np.isfinite(end):
                ax.axvline(end, color="C3", lw=0.8)
        ax.axvline(self.best, color="C2", lw=0.8, label="best fit")
        ax.set_xlabel(self.name)
        ax.set_ylabel("scaled chi-square difference")
        ax.legend(frameon=False, fontsize=8)
        return fig


def profile_parameter(fit, name, n_points, width, level):
    """:meth:`lsq.FitResult.profile`."""
    from scipy import stats

    from .fit import fit as refit

    if name not in fit.names:
        raise ValueError(f"`name` must be one of the model's parameters {list(fit.names)}, got {name!r}.")
    j = fit.names.index(name)
    if name in fit.ties:
        raise ValueError(f"parameter {name!r} is tied ({fit.ties[name]}); profile the parameters it follows.")
    if not fit.free[j]:
        raise ValueError(f"parameter {name!r} was fixed in the fit; there is nothing to profile.")
    if not (isinstance(n_points, int) and n_points >= 3):
        raise ValueError(f"`n_points` must be an int >= 3, got {n_points!r}.")
    if not 0 < level < 1:
        raise ValueError(f"`level` must be in (0, 1), got {level!r}.")
    best, err = float(fit.values[j]), float(fit.errors[j])
    if not (np.isfinite(err) and err > 0):
        raise ValueError(f"parameter {name!r} has no finite standard error to size the profile by "
                         f"({fit.diagnostics[0] if fit.diagnostics else 'stderr is ' + str(err)}).")
    grid = best + width * err * np.linspace(-1.0, 1.0, n_points)
    held = {k: float(v) for k, v, f in zip(fit.names, fit.values, fit.free, strict=True)
            if not f and k not in fit.ties}
    start = {k: float(v) for k, v in zip(fit.names, fit.values, strict=True)}
    bounds = None if fit.bounds is None else tuple(np.asarray(b, dtype=float) for b in fit.bounds)
    chisqr = np.empty(n_points)
    for k, v in enumerate(grid):
        r = refit(fit.model, fit.x, fit.y, p0=start, sigma=fit.sigma, bounds=bounds, fixed={**held, name: v},
                  absolute_sigma=fit.absolute_sigma, estimator=fit.estimator, tie=fit.ties or None)
        chisqr[k] = r.chisqr
    rise = np.maximum(chisqr - fit.chisqr, 0.0)
    if fit.absolute_sigma or fit.dof <= 1:
        delta, threshold = rise, float(stats.chi2.ppf(level, 1))
    else:
        delta, threshold = rise / fit.redchi, float(stats.f.ppf(level, 1, fit.dof))
    centre = n_points // 2
    return Profile(name, best, grid, chisqr, delta, threshold, level,
                   (_crossing(grid[: centre + 1][::-1], delta[: centre + 1][::-1], threshold, -np.inf),
                    _crossing(grid[centre:], delta[centre:], threshold, np.inf)))


def _crossing(values, delta, threshold, missing):
    """Where ``delta`` (from the best fit outwards) first reaches ``threshold``; ``missing`` when it never
    does."""
    above = np.flatnonzero(delta >= threshold)
    if above.size == 0 or above[0] == 0:
        return missing
    k = above[0]
    # interpolate sqrt(delta), which is linear in the parameter where chi-square is quadratic (exact for a
    # model linear in its parameters)
    lo, hi = np.sqrt(delta[k - 1]), np.sqrt(delta[k])
    t = (np.sqrt(threshold) - lo) / (hi - lo)
    return float(values[k - 1] + t * (values[k] - values[k - 1]))
