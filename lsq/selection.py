"""Model selection: data splits, k-fold cross-validation, grid and random search scored on validation cost.

Validation cost is the mean squared (weighted) residual of the held-out points under the parameters
fitted on the training points, so folds of different sizes compare fairly.
"""

import itertools
from dataclasses import dataclass

import numpy as np

from .fit import fit

__all__ = ["train_test_split", "train_val_test_split", "kfold", "cross_validate", "grid_search", "random_search",
           "SearchResult"]


def _split_points(x, idx):
    x = np.asarray(x)
    return x[..., idx]


def _check_fraction(name, v):
    if not 0 < v < 1:
        raise ValueError(f"`{name}` must be in (0, 1), got {v!r}.")


def train_test_split(x, y, test_size=0.25, seed=None):
    """Random split of the points into training and test sets.

    Parameters
    ----------
    x : array_like, shape (m,) or (d, m)
    y : array_like, shape (m,)
    test_size : float
        Fraction of the points held out, in (0, 1).
    seed : int, optional

    Returns
    -------
    x_train, x_test, y_train, y_test
    """
    _check_fraction("test_size", test_size)
    y = np.asarray(y)
    m = y.shape[0]
    order = np.random.default_rng(seed).permutation(m)
    k = min(m - 1, max(1, int(round(test_size * m))))
    test, train = np.sort(order[:k]), np.sort(order[k:])
    return _split_points(x, train), _split_points(x, test), y[train], y[test]


def train_val_test_split(x, y, val_size=0.2, test_size=0.2, seed=None):
    """Random split into training, validation and test sets.

    Returns
    -------
    x_train, x_val, x_test, y_train, y_val, y_test
    """
    _check_fraction("val_size", val_size)
    _check_fraction("test_size", test_size)
    if val_size + test_size >= 1:
        raise ValueError("`val_size + test_size` must be below 1.")
    x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size, seed)
    x_train, x_val, y_train, y_val = train_test_split(x_rest, y_rest, val_size / (1 - test_size),
                                                      None if seed is None else seed + 1)
    return x_train, x_val, x_test, y_train, y_val, y_test


def kfold(n, k=5, shuffle=True, seed=None):
    """``k`` disjoint validation folds covering ``range(n)``; returns a list of ``(train_idx, val_idx)``."""
    if not isinstance(k, int) or k < 2 or k > n:
        raise ValueError(f"`k` must be an int in [2, n={n}], got {k!r}.")
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    folds = np.array_split(order, k)
    return [(np.sort(np.concatenate(folds[:i] + folds[i + 1:])), np.sort(folds[i])) for i in range(k)]


def _mean_sq(model, params, x, y, sigma):
    r = np.asarray(model(x, *params), dtype=float) - y
    if sigma is not None:
        r = r / sigma
    return float(np.mean(r**2))


def cross_validate(model, x, y, k=5, sigma=None, seed=0, **fit_kw):
    """k-fold cross-validation of :func:`lsq.fit`.

    Parameters
    ----------
    model : Model or callable
    x, y : array_like
    k : int
        Number of folds.
    sigma : array_like, optional
        Standard deviations of ``y`` (weights of the fit and of the costs).
    seed : int
        Seed of the fold shuffle.
    **fit_kw
        Passed to :func:`lsq.fit` (``p0``, ``method``, ``lr``, ``loss``, ...).

    Returns
    -------
    dict
        ``train_cost`` and ``val_cost`` (per fold, mean squared residual), ``val_mean``, ``val_std``,
        ``train_mean``, ``params`` (per fold).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    sig = None if sigma is None else np.broadcast_to(np.asarray(sigma, dtype=float), y.shape)
    train_cost, val_cost, params = [], [], []
    for tr, va in kfold(y.shape[0], k, True, seed):
        s_tr = None if sig is None else sig[tr]
        r = fit(model, x[..., tr], y[tr], sigma=s_tr, **fit_kw)
        params.append(r.values)
        train_cost.append(_mean_sq(model, r.values, x[..., tr], y[tr], s_tr))
        val_cost.append(_mean_sq(model, r.values, x[..., va], y[va], None if sig is None else sig[va]))
    val = np.array(val_cost)
    return dict(train_cost=np.array(train_cost), val_cost=val, val_mean=float(val.mean()),
                val_std=float(val.std(ddof=1)), train_mean=float(np.mean(train_cost)), params=params)


@dataclass
class SearchResult:
    """All trials of a search and the best one (lowest mean validation cost).

    Attributes
    ----------
    trials : list of dict
        Each: ``settings``, ``val_mean``, ``val_std``, ``train_mean`` (or ``error`` when the fit raised).
    best : dict
        The best trial.
    """

    trials: list
    best: dict

    @property
    def best_settings(self):
        return self.best["settings"]

    def table(self):
        """The trials as text, best first."""
        rows = sorted(self.trials, key=lambda t: t.get("val_mean", np.inf))
        lines = [f"{'val_mean':>12} {'val_std':>12} {'train_mean':>12}  settings"]
        for t in rows:
            settings = ", ".join(f"{k}={_short(v)}" for k, v in t["settings"].items())
            if "error" in t:
                lines.append(f"{'failed':>12} {'':>12} {'':>12}  {settings}: {t['error']}")
            else:
                lines.append(f"{t['val_mean']:12.6g} {t['val_std']:12.6g} {t['train_mean']:12.6g}  {settings}")
        return "\n".join(lines)


def _short(v):
    return getattr(v, "name", None) or repr(v)


def _run_trials(model, x, y, settings_list, k, seed, fit_kw, select="min"):
    trials = []
    for settings in settings_list:
        kw = dict(fit_kw)
        kw.update({key: val for key, val in settings.items() if key != "model"})
        mdl = settings.get("model", model)
        try:
            cv = cross_validate(mdl, x, y, k=k, seed=seed, **kw)
            trials.append(dict(settings=settings, val_mean=cv["val_mean"], val_std=cv["val_std"],
                               train_mean=cv["train_mean"]))
        except (ValueError, RuntimeError, FloatingPointError, np.linalg.LinAlgError) as exc:
            trials.append(dict(settings=settings, error=str(exc)))
    scored = [t for t in trials if "error" not in t and np.isfinite(t["val_mean"])]
    if not scored:
        raise RuntimeError("every trial of the search failed:\n" + "\n".join(t["error"] for t in trials))
    best = min(scored, key=lambda t: t["val_mean"])
    if select == "1se":
        # the first trial (in the order given, simplest first) within one standard error of the best
        limit = best["val_mean"] + best["val_std"] / np.sqrt(k)
        best = next(t for t in scored if t["val_mean"] <= limit)
    elif select != "min":
        raise ValueError(f"`select` must be 'min' or '1se', got {select!r}.")
    return SearchResult(trials, best)


def grid_search(model, x, y, param_grid, k=5, seed=0, select="min", **fit_kw):
    """Cross-validated search over every combination of ``param_grid``.

    Parameters
    ----------
    model : Model or callable
        The model, unless ``param_grid`` has a ``"model"`` entry (a list of models to choose from).
    x, y : array_like
    param_grid : dict
        Setting name -> list of values: any keyword of :func:`lsq.fit` / :func:`lsq.least_squares`
        (``method``, ``lr``, ``schedule``, ``damping``, ``loss``, ...) or ``"model"``.
    k, seed : int
        Folds and their shuffle seed (the same folds for every trial).
    select : {'min', '1se'}
        The trial with the lowest mean validation cost, or the first one (list settings simplest first)
        within one standard error of it -- the one-standard-error rule, which resists picking an
        over-fitted model by chance.
    **fit_kw
        Fixed keywords for every fit.

    Returns
    -------
    SearchResult
    """
    if not isinstance(param_grid, dict) or not param_grid:
        raise ValueError("`param_grid` must be a non-empty dict of name -> list of values.")
    names = list(param_grid)
    combos = [dict(zip(names, vals, strict=True)) for vals in itertools.product(*(param_grid[n] for n in names))]
    return _run_trials(model, x, y, combos, k, seed, fit_kw, select)


def random_search(model, x, y, param_distributions, n_iter=20, k=5, seed=0, **fit_kw):
    """Cross-validated search over ``n_iter`` random settings.

    Parameters
    ----------
    param_distributions : dict
        Setting name -> a list (sampled uniformly), a frozen ``scipy.stats`` distribution (``.rvs``), or a
        callable ``rng -> value``.
    n_iter : int
        Number of settings tried.

    Returns
    -------
    SearchResult
    """
    if not isinstance(param_distributions, dict) or not param_distributions:
        raise ValueError("`param_distributions` must be a non-empty dict.")
    rng = np.random.default_rng(seed)

    def draw(spec):
        if hasattr(spec, "rvs"):
            return float(spec.rvs(random_state=rng))
        if callable(spec):
            return spec(rng)
        spec = list(spec)
        return spec[rng.integers(len(spec))]

    settings = [{name: draw(spec) for name, spec in param_distributions.items()} for _ in range(n_iter)]
    return _run_trials(model, x, y, settings, k, seed, fit_kw)
