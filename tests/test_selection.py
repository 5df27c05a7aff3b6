"""Data splits, cross-validation, grid and random search."""

import numpy as np
import pytest
from scipy import stats

import lsq


def cubic_data(seed, m=200):
    rng = np.random.default_rng(seed)
    x = np.linspace(-1, 1, m)
    return x, 0.5 - x + 2 * x**3 + 0.15 * rng.standard_normal(m)


def test_kfold_splits_are_disjoint_and_cover_everything():
    folds = lsq.kfold(103, k=5, seed=3)
    vals = np.concatenate([va for _, va in folds])
    assert sorted(vals) == list(range(103))
    for tr, va in folds:
        assert not set(tr) & set(va)
        assert len(tr) + len(va) == 103


def test_train_test_and_train_val_test_splits_partition_the_points():
    x = np.stack([np.arange(50.0), -np.arange(50.0)])
    y = np.arange(50.0)
    xtr, xte, ytr, yte = lsq.train_test_split(x, y, test_size=0.2, seed=0)
    assert len(yte) == 10 and sorted(np.concatenate([ytr, yte])) == list(y)
    np.testing.assert_array_equal(xtr[0], ytr)
    parts = lsq.train_val_test_split(np.arange(50.0), y, val_size=0.2, test_size=0.2, seed=1)
    assert sorted(np.concatenate(parts[3:])) == list(y)
    assert [len(p) for p in parts[3:]] == [30, 10, 10]
    with pytest.raises(ValueError, match="test_size"):
        lsq.train_test_split(x, y, test_size=1.5)


def test_cross_validate_reports_per_fold_costs():
    x, y = cubic_data(0)
    cv = lsq.cross_validate(lsq.models.polynomial(3), x, y, k=4)
    assert cv["val_cost"].shape == (4,)
    assert cv["val_mean"] == pytest.approx(0.15**2, rel=0.3)  # held-out mean squared error ~ noise variance


@pytest.mark.parametrize("seed", range(4))
def test_grid_search_finds_the_true_polynomial_degree(seed):
    x, y = cubic_data(seed)
    r = lsq.grid_search(None, x, y, {"model": [lsq.models.polynomial(d) for d in range(1, 9)]}, seed=seed,
                        select="1se")
    assert r.best_settings["model"].n_params == 4
    assert len(r.trials) == 8
    assert "polynomial3" in r.table()


def test_random_search_over_solver_settings():
    x, y = cubic_data(5, m=60)
    r = lsq.random_search(lsq.models.polynomial(3), x, y,
                          {"method": ["lm", "levenberg"], "damping": ["nielsen", "marquardt"],
                           "ftol": stats.loguniform(1e-12, 1e-6)}, n_iter=5, k=3)
    assert len(r.trials) == 5
    assert r.best["val_mean"] == min(t["val_mean"] for t in r.trials)
