"""``linear_solver='auto'`` on a small dense fit: Cholesky on ``J^T J`` while the column-scaled ``J^T J`` passes the
condition test, QR from the first linearisation where it does not (``SOLVER_AUTO``)."""

import numpy as np
import pytest

import lsq
from lsq._kernels.engine.codes import CHOLESKY_MAX_CONDITION, EPS
from lsq.datasets import load_nist


def _gaussian():
    x = np.linspace(-5, 5, 100)
    y = 3.0 * np.exp(-0.5 * ((x - 0.4) / 1.2) ** 2) + 0.5 + 0.05 * np.random.default_rng(0).standard_normal(100)

    def residuals(p):
        return p[0] * np.exp(-0.5 * ((x - p[1]) / p[2]) ** 2) + p[3] - y

    return residuals, np.array([2.0, 0.0, 1.0, 0.0])


def _scaled_condition(J):
    Js = J / np.linalg.norm(J, axis=0)
    s = np.linalg.svd(Js, compute_uv=False)
    return s[0] / s[-1]


def _condition_bound(J):
    """The engine's test quantity: n |L^-1|_F^2 for the Cholesky factor L of the column-scaled J^T J."""
    Js = J / np.linalg.norm(J, axis=0)
    L = np.linalg.cholesky(Js.T @ Js)
    return J.shape[1] * np.sum(np.linalg.inv(L) ** 2)


def test_condition_bound_is_an_upper_bound():
    """n |L^-1|_F^2 bounds the 2-norm condition number of the scaled J^T J (the square of J's) from above,
    and is at most n**2 times it."""
    rng = np.random.default_rng(3)
    for _ in range(20):
        J = rng.standard_normal((30, 5)) @ np.diag(10.0 ** rng.uniform(-3, 3, 5))
        J[:, 4] = J[:, 3] + 10.0 ** -rng.uniform(0, 5) * J[:, 4]  # near-dependent columns, up to kappa ~ 1e5
        kappa = _scaled_condition(J) ** 2
        assert kappa <= _condition_bound(J) * (1 + 1e-8) <= 25 * kappa * (1 + 1e-8)  # at most n**2 above
    assert CHOLESKY_MAX_CONDITION == pytest.approx(EPS**-0.5)


def test_well_conditioned_fit_runs_on_cholesky():
    fun, x0 = _gaussian()
    auto = lsq.least_squares(fun, x0)
    chol = lsq.least_squares(fun, x0, linear_solver="cholesky")
    qr = lsq.least_squares(fun, x0, linear_solver="qr")
    assert _scaled_condition(auto.jac) < 100  # far from the threshold at every point of this fit
    np.testing.assert_array_equal(auto.x, chol.x)
    assert auto.nfev == chol.nfev
    np.testing.assert_allclose(auto.x, qr.x, rtol=1e-9)


@pytest.mark.parametrize("name", ["Bennett5", "Lanczos1"])
def test_ill_conditioned_fit_runs_on_qr(name):
    """The condition test fails from the start: the whole fit on QR, bit for bit."""
    p = load_nist(name)
    x0 = p.start(1)
    assert _condition_bound(p.residual_jacobian(x0)) > CHOLESKY_MAX_CONDITION
    kw = dict(jac=p.residual_jacobian, ftol=1e-15, xtol=1e-15, gtol=1e-15, max_nfev=10000)
    auto = lsq.least_squares(p.residuals, x0, **kw)
    qr = lsq.least_squares(p.residuals, x0, linear_solver="qr", **kw)
    np.testing.assert_array_equal(auto.x, qr.x)
    assert auto.nfev == qr.nfev
    assert p.lre(auto.x).min() >= 6


def test_compiled_model_fit_agrees_with_qr():
    x = np.linspace(-5, 5, 100)
    y = lsq.models.gaussian(x, 3.0, 0.4, 1.2, 0.5) + 0.05 * np.random.default_rng(1).standard_normal(100)
    p0 = [2.0, 0.0, 1.0, 0.0]
    popt, pcov = lsq.curve_fit(lsq.models.gaussian, x, y, p0=p0)
    popt_qr, pcov_qr = lsq.curve_fit(lsq.models.gaussian, x, y, p0=p0, linear_solver="qr")
    np.testing.assert_allclose(popt, popt_qr, rtol=1e-9)
    np.testing.assert_allclose(pcov, pcov_qr, rtol=1e-6)
