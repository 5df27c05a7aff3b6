"""Poisson maximum likelihood (``estimator='poisson'``): the deviance residuals, agreement with a direct
minimisation of the deviance, the Fisher-information standard errors, the batch and the errors."""

import numpy as np
import pytest
from scipy.optimize import minimize

import lsq
from lsq._kernels.engine.codes import STATUS_BAD_INPUT
from lsq._kernels.poisson import poisson_fisher_rows, poisson_residuals

GRID = np.stack([a.ravel() for a in np.meshgrid(np.arange(5.0), np.arange(5.0))])
SPOT = [30.0, 2.1, 1.9, 1.0, 2.0]  # amplitude, x0, y0, width, offset in photons: the low-count spot


def deviance(model, X, y, p):
    mu = model(X, *p)
    if np.any(mu <= 0):
        return np.inf
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(y > 0, y * np.log(y / mu), 0.0)
    return 2.0 * float(np.sum(mu - y + t))


def spots(k, seed=0):
    rng = np.random.default_rng(seed)
    return rng.poisson(lsq.models.gaussian_2d(GRID, *SPOT), size=(k, GRID.shape[1])).astype(float)


def test_deviance_residuals_square_to_the_deviance_and_stay_accurate_where_mu_meets_y():
    y = np.array([0.0, 0.0, 1.0, 3.0, 7.0, 50.0, 50.0, 1e4])
    mu = np.array([0.2, 9.0, 4.0, 0.5, 7.5, 30.0, 80.0, 1.2e4])
    d, slope = poisson_residuals(mu, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(y / mu), 0.0)
    np.testing.assert_allclose(d**2, 2 * (mu - y + term), rtol=1e-13)
    np.testing.assert_array_equal(np.sign(d), np.sign(mu - y))
    # the slope is d d / d mu: central differences in mu agree
    h = 1e-6 * mu
    np.testing.assert_allclose(slope, (poisson_residuals(mu + h, y)[0] - poisson_residuals(mu - h, y)[0]) / (2 * h),
                               rtol=1e-7)
    # near mu = y the deviance residual is the Pearson residual (mu - y) / sqrt(y) to first order; the direct
    # formula would lose every digit here to cancellation
    y = np.full(5, 20.0)
    eps = np.array([1e-15, 1e-12, 1e-9, 1e-6, 1e-3])
    mu = y * (1 + eps)
    d, slope = poisson_residuals(mu, y)
    t = (mu - y) / y  # mu - y is exact here (Sterbenz)
    q = 1 - 2 * t / 3 + t**2 / 2 - 2 * t**3 / 5 + t**4 / 3  # the series of 2 (t - log1p t) / t^2
    np.testing.assert_allclose(d, (mu - y) / np.sqrt(y) * np.sqrt(q), rtol=1e-14)
    np.testing.assert_allclose(slope, np.sqrt(y) / (mu * np.sqrt(q)), rtol=1e-14)
    # a mean that is not positive is no residual at all: the engine rejects the step
    assert np.all(np.isnan(poisson_residuals(np.array([0.0, -1.0, np.inf]), np.array([1.0, 0.0, 2.0]))[0]))


def test_poisson_fit_agrees_with_a_direct_minimisation_of_the_deviance():
    Y = spots(6, seed=3)
    rel = []
    for y in Y:
        r = lsq.fit(lsq.models.gaussian_2d, GRID, y, p0=SPOT, estimator="poisson", ftol=1e-14, xtol=1e-14)
        assert r.success
        assert r.chisqr == pytest.approx(deviance(lsq.models.gaussian_2d, GRID, y, r.values), rel=1e-12)
        nm = minimize(lambda p, y=y: deviance(lsq.models.gaussian_2d, GRID, y, p), r.values * 1.02,
                      method="Nelder-Mead", options=dict(xatol=1e-11, fatol=1e-13, maxiter=40000, maxfev=40000))
        # the engine's minimum is at least as low as Nelder-Mead's, and at the same place
        assert r.chisqr <= nm.fun + 1e-9
        rel.append(np.abs(r.values - nm.x) / np.abs(nm.x))
    rel = np.array(rel)
    assert np.median(rel[:, [0, 3]]) <= 1e-3  # amplitude and width, the figure
    assert np.max(rel[:, [0, 1, 2, 3]]) <= 1e-4


def test_poisson_stderr_is_the_inverse_fisher_information():
    y = spots(1, seed=5)[0]
    r = lsq.fit(lsq.models.gaussian_2d, GRID, y, p0=SPOT, estimator="poisson")
    mu = lsq.models.gaussian_2d(GRID, *r.values)
    G = lsq.models.gaussian_2d.jacobian(GRID, *r.values)
    fisher = G.T @ (G / mu[:, None])
    # (the Jacobian is the one of the last iteration, a step of ~1e-8 relative before the solution)
    expected = np.linalg.inv(fisher)
    se = np.sqrt(np.diag(expected))
    np.testing.assert_allclose(r.errors, se, rtol=1e-5)
    np.testing.assert_allclose(r.corr, expected / np.outer(se, se), atol=1e-6)
    # the same through the Python path (a plain function: no compiled model) and the batch
    def spot(X, amplitude, x0, y0, width, offset):
        return amplitude * np.exp(-((X[0] - x0) ** 2 + (X[1] - y0) ** 2) / (2 * width**2)) + offset

    rp = lsq.fit(spot, GRID, y, p0=SPOT, estimator="poisson")
    np.testing.assert_allclose(rp.values, r.values, rtol=1e-6)
    np.testing.assert_allclose(rp.errors, r.errors, rtol=1e-4)
    b = lsq.curve_fit_batch(lsq.models.gaussian_2d, GRID, y[None], p0=SPOT, estimator="poisson", linear_solver="qr")
    np.testing.assert_allclose(b.params[0], r.values, rtol=1e-6)
    np.testing.assert_allclose(b.stderr[0], r.errors, rtol=1e-4)
    np.testing.assert_allclose(2 * b.cost[0], r.chisqr, rtol=1e-9)
    assert "Poisson deviance" in r.report()
    np.testing.assert_allclose(poisson_fisher_rows(mu, y) ** 2 * poisson_residuals(mu, y)[1] ** 2 * mu, 1.0,
                               rtol=1e-12)


def test_poisson_batch_matches_single_fits_and_reports_bad_rows_in_status():
    Y = spots(40, seed=7)
    Y[5, 3] = -1.0  # not a count
    Y[9, 0] = np.nan
    b = lsq.curve_fit_batch(lsq.models.gaussian_2d, GRID, Y, estimator="poisson")
    assert b.status[5] == STATUS_BAD_INPUT and b.status[9] == STATUS_BAD_INPUT
    ok = np.setdiff1d(np.arange(40), [5, 9])
    assert b.success[ok].mean() >= 0.95
    for i in ok[:5]:
        r = lsq.fit(lsq.models.gaussian_2d, GRID, Y[i], p0=dict(zip(b.param_names, lsq.models.gaussian_2d.guess(
            GRID, Y[i]), strict=True)), estimator="poisson")
        np.testing.assert_allclose(b.params[i], r.values, rtol=1e-5, atol=1e-7)


def test_poisson_fits_counts_with_zeros_and_a_model_without_jacobian():
    @lsq.model
    def decay(x, a, tau):
        return a * np.exp(-x / tau)

    rng = np.random.default_rng(11)
    x = np.linspace(0, 10, 60)
    y = rng.poisson(decay(x, 8.0, 2.5)).astype(float)
    assert (y == 0).sum() > 10
    r = lsq.fit(decay, x, y, p0=[5, 1], estimator="poisson")
    ra = lsq.fit(lsq.models.exponential, x, y, p0=[5, 1, 0], fixed={"offset": 0.0}, estimator="poisson")
    assert r.success and ra.success
    np.testing.assert_allclose(r.values, ra.values[:2], rtol=1e-6)
    # the maximum-likelihood equations: sum(mu) = sum(y) for a model with a free scale factor
    assert np.sum(decay(x, *r.values)) == pytest.approx(y.sum(), rel=1e-6)  # to the default ftol


@pytest.mark.parametrize("kwargs, message", [
    (dict(sigma=np.ones(25)), "`sigma` cannot be given with estimator='poisson'"),
    (dict(loss="soft_l1"), "`loss` cannot be combined with estimator='poisson'"),
    (dict(estimator="gauss"), "estimator"),
])
def test_poisson_bad_arguments_are_named(kwargs, message):
    kwargs = {"estimator": "poisson", **kwargs}
    with pytest.raises(ValueError, match=message):
        lsq.fit(lsq.models.gaussian_2d, GRID, spots(1)[0], p0=SPOT, **kwargs)


def test_negative_counts_are_rejected_by_name():
    y = spots(1)[0]
    y[2] = -3
    with pytest.raises(ValueError, match="`y` must be counts >= 0"):
        lsq.fit(lsq.models.gaussian_2d, GRID, y, p0=SPOT, estimator="poisson")
    with pytest.raises(ValueError, match="`sigma` cannot be given"):
        lsq.curve_fit_batch(lsq.models.gaussian_2d, GRID, spots(3), sigma=np.ones(25), estimator="poisson")


def test_the_command_line_fits_counts_by_maximum_likelihood(tmp_path, capsys):
    from lsq.cli import main

    x = np.linspace(-3, 3, 40)
    y = np.random.default_rng(2).poisson(lsq.models.gaussian(x, 20.0, 0.2, 0.8, 3.0))
    path = tmp_path / "counts.csv"
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", header="x,counts", comments="")
    assert main(["fit", str(path), "--model", "gaussian", "--y", "counts", "--estimator", "poisson"]) == 0
    out = capsys.readouterr().out
    assert "Poisson deviance" in out and "amplitude" in out
