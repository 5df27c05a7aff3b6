"""Plots of fits and of solver behaviour (matplotlib; each returns a Figure, nothing is shown)."""

import numpy as np

__all__ = ["plot_fit", "residuals", "convergence", "performance_profile", "profile_ratios", "learning_curves",
           "validation_curve", "ema"]


def _figure(**kw):
    from matplotlib.figure import Figure

    return Figure(**kw)


def plot_fit(result, level=0.95, n_points=400):
    """Data with error bars, fitted curve, confidence band and residuals of a 1-D :class:`lsq.FitResult`.

    Parameters
    ----------
    result : FitResult
    level : float
        Confidence level of the band.
    n_points : int
        Points of the smooth curve.

    Returns
    -------
    matplotlib.figure.Figure
    """
    x = result.x
    if x.ndim != 1:
        raise ValueError("plot() draws fits of 1-D x; for (d, m) data plot result.predict(x) yourself.")
    fig = _figure(figsize=(7, 5.5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    xs = np.linspace(x.min(), x.max(), n_points)
    lo, hi = result.confidence_band(xs, level)
    top.fill_between(xs, lo, hi, color="C1", alpha=0.3, label=f"{level:.0%} confidence band")
    top.errorbar(x, result.y, yerr=result.sigma, fmt="o", ms=3, color="C0", label="data")
    top.plot(xs, result.predict(xs), color="C1", label=f"fit: {result.model_name}")
    top.set_ylabel("y")
    top.legend(loc="best")
    resid = result.y - result.predict(x)
    bottom.axhline(0.0, color="0.5", lw=0.8)
    bottom.errorbar(x, resid, yerr=result.sigma, fmt="o", ms=3, color="C0")
    bottom.set_xlabel("x")
    bottom.set_ylabel("residual")
    return fig


def convergence(histories, x="iteration", ax=None):
    """Cost against iteration (or ``'nfev'``) for several solver runs.

    Parameters
    ----------
    histories : dict
        Label -> ``result.history`` (dict with ``cost`` and ``nfev``) of :func:`lsq.least_squares`.
    x : {'iteration', 'nfev'}

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = _figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    for label, h in histories.items():
        cost = np.asarray(h["cost"])
        xs = np.arange(cost.size) if x == "iteration" else np.asarray(h["nfev"])
        ax.semilogy(xs, np.maximum(cost, np.finfo(float).tiny), marker=".", label=label)
    ax.set_xlabel("iteration" if x == "iteration" else "function evaluations")
    ax.set_ylabel("cost")
    ax.legend()
    return fig


def ema(values, smoothing):
    """Exponential moving average with Adam's bias correction: ``m_t = b m_(t-1) + (1 - b) v_t``, reported as
    ``m_t / (1 - b**t)``, so the first points are not pulled towards 0."""
    if not 0 <= smoothing < 1:
        raise ValueError(f"`smoothing` must be in [0, 1), got {smoothing!r}.")
    out = np.empty(len(values))
    m = 0.0
    for t, v in enumerate(np.asarray(values, dtype=float), start=1):
        m = smoothing * m + (1 - smoothing) * v
        out[t - 1] = m / (1 - smoothing**t)
    return out


def learning_curves(result, smoothing=0.9):
    """Training and validation cost per epoch of a first-order fit, raw and smoothed, with the best epoch.

    Parameters
    ----------
    result : OptimizeResult or FitResult
        From :func:`lsq.least_squares` or :func:`lsq.fit` with a first-order method (and ``validation_data``
        for the validation curve); minibatch costs, when recorded, are drawn faintly.
    smoothing : float
        Weight of the bias-corrected exponential moving average (:func:`ema`); 0 draws the raw curves only.

    Returns
    -------
    matplotlib.figure.Figure
        One axes: ``training`` and ``validation`` lines (raw, thin) and their smoothed versions, a vertical
        line at the best validation epoch.
    """
    h = getattr(result, "result", result).history
    fig = _figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    if "batch_cost" in h:
        ax.plot(h["batch_epoch"], h["batch_cost"], color="C0", alpha=0.15, lw=0.6, label="minibatches")
    curves = [("training", np.asarray(h["cost"]), "C0")]
    if "val_cost" in h:
        curves.append(("validation", np.asarray(h["val_cost"]), "C3"))
    for label, cost, color in curves:
        epochs = np.arange(cost.size)
        ax.plot(epochs, cost, color=color, lw=0.8, alpha=0.5 if smoothing else 1.0, label=label)
        if smoothing:
            ax.plot(epochs, ema(cost, smoothing), color=color, lw=1.8, label=f"{label} (smoothed)")
    if "val_cost" in h:
        best = int(np.argmin(h["val_cost"]))
        ax.axvline(best, color="0.3", ls="--", lw=0.8, label=f"best validation epoch ({best})")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cost")
    ax.legend(frameon=False, fontsize=8)
    return fig


def validation_curve(search_result, param=None):
    """Mean training and validation cost of the trials of a search against one setting, so over- and
    underfitting show at a glance (validation above training and rising: over; both high: under).

    Parameters
    ----------
    search_result : SearchResult
        From :func:`lsq.selection.grid_search` or :func:`lsq.selection.random_search`.
    param : str, optional
        The setting on the horizontal axis (default: the first one of the search). Numbers are plotted on a
        number axis (log scale when they span more than two decades), anything else (models) by name.

    Returns
    -------
    matplotlib.figure.Figure
    """
    trials = [t for t in search_result.trials if "error" not in t]
    if param is None:
        param = next(iter(search_result.trials[0]["settings"]))
    if not all(param in t["settings"] for t in trials):
        raise ValueError(f"`param` {param!r} is not a setting of every trial.")
    values = [t["settings"][param] for t in trials]
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    order = np.argsort(values) if numeric else np.arange(len(values))
    xs = np.asarray(values, dtype=float)[order] if numeric else np.arange(len(values))
    train = np.array([trials[k]["train_mean"] for k in order])
    val = np.array([trials[k]["val_mean"] for k in order])
    err = np.array([trials[k]["val_std"] for k in order])
    fig = _figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    ax.plot(xs, train, "o-", color="C0", label="training")
    ax.errorbar(xs, val, yerr=err, fmt="o-", color="C3", capsize=3, label="validation (mean +/- sd over folds)")
    best = search_result.best["settings"][param]
    ax.axvline(float(best) if numeric else values.index(best), color="0.3", ls="--", lw=0.8,
               label=f"selected: {param} = {getattr(best, 'name', best)}")
    if numeric and xs.min() > 0 and xs.max() / xs.min() > 100:
        ax.set_xscale("log")
    if not numeric:
        ax.set_xticks(xs, [getattr(values[k], "name", str(values[k])) for k in order], rotation=30, ha="right")
    ax.set_yscale("log")
    ax.set_xlabel(param)
    ax.set_ylabel("mean squared residual")
    ax.legend(frameon=False, fontsize=8)
    return fig


def residuals(result):
    """Residuals of a 1-D :class:`lsq.FitResult` against x, and their histogram.

    Returns
    -------
    matplotlib.figure.Figure
    """
    x = result.x
    if x.ndim != 1:
        raise ValueError("residuals() draws fits of 1-D x.")
    r = result.y - result.predict(x)
    if result.sigma is not None:
        r = r / result.sigma
    fig = _figure(figsize=(8, 3.2), layout="constrained")
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 1]})
    left.axhline(0.0, color="0.5", lw=0.8)
    left.plot(x, r, "o", ms=3)
    left.set_xlabel("x")
    left.set_ylabel("weighted residual" if result.sigma is not None else "residual")
    right.hist(r, bins="auto", orientation="horizontal", color="C0", alpha=0.7)
    right.set_xlabel("count")
    return fig


def profile_ratios(costs):
    """Dolan-More ratios: each solver's cost over the best cost on every problem (inf where it failed).

    Parameters
    ----------
    costs : dict
        Solver -> array of a cost per problem (time, evaluations, ...), ``inf`` or NaN for a failure.

    Returns
    -------
    dict
        Solver -> ratio per problem (``inf`` where the solver failed or every solver failed).
    """
    names = list(costs)
    c = np.array([np.asarray(costs[s], dtype=float) for s in names])
    c = np.where(np.isfinite(c) & (c > 0), c, np.inf)
    best = c.min(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(np.isfinite(best), c / best, np.inf)
    return dict(zip(names, ratio, strict=True))


def performance_profile(costs, tau_max=100.0, xlabel="tau (within tau x best)", title=None):
    """Dolan-More performance profile: fraction of problems each solver solves within ``tau`` x the best.

    Parameters
    ----------
    costs : dict
        Solver -> array of a cost per problem, ``inf`` or NaN where the solver failed.
    tau_max : float
        Right end of the tau axis.

    Returns
    -------
    matplotlib.figure.Figure
    """
    ratios = profile_ratios(costs)
    taus = np.logspace(0, np.log10(tau_max), 200)
    fig = _figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    for name, r in ratios.items():
        ax.step(taus, [(r <= t).mean() for t in taus], where="post", label=name)
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("fraction of problems solved")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    return fig
