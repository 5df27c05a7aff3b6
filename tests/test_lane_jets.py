"""Jets over lanes: a user's ``@lsq.model`` on the lanes kernel, evaluated point by point for eight fits at once.

References: the built-ins' values and hand-written Jacobians, the complex-step derivative of the model's NumPy
function, and the per-fit engine's fits of the same model.
"""

import math

import numpy as np
import pytest
from numba import njit
from test_jets import (
    BUILTINS,
    _ops_in_place,
    _ops_scalar_math,
    _ops_scalar_math_reference,
    _ops_unary,
    column_error,
    complex_step_jacobian,
)
from test_lanes import _assert_same_fits

import lsq
from benchmarks.batch import astigmatic_psf, elliptic_gaussian
from lsq._kernels.drivers.lanes import lanes_at
from lsq._kernels.lanes.engine import LANES


@njit
def _call_lanes(address, X, P, F, J):
    lanes_at(address)(X, P, F, J)


def lanes_evaluation(model, x, params):
    """A model's lanes kernel at ``LANES`` parameter sets (rows of ``params``): values ``(LANES, m)`` and
    Jacobians ``(LANES, m, n)``."""
    x2 = np.atleast_2d(x)
    kernel = model.lanes_kernel(x2.shape[0])
    assert kernel is not None, model.lanes_failure
    X = np.ascontiguousarray(np.repeat(x2[:, :, None], LANES, axis=2))
    P = np.ascontiguousarray(np.asarray(params, dtype=float).T)
    m, n = x2.shape[1], P.shape[0]
    F, J = np.zeros((m, LANES)), np.zeros((n, m, LANES))
    _call_lanes(kernel.address, X, P, F, J)
    return F.T, J.transpose(2, 1, 0)


def _lane_params(p):
    """Eight parameter sets near ``p``, one per lane."""
    return np.asarray(p) * (1.0 + 0.03 * np.arange(LANES))[:, None]


@pytest.mark.parametrize(("func", "builtin", "x", "p"), BUILTINS, ids=[b[0].__name__ for b in BUILTINS])
def test_lane_jets_equal_the_builtins_values_and_hand_written_jacobians(func, builtin, x, p):
    params = _lane_params(p)
    F, J = lanes_evaluation(lsq.model(func), x, params)
    for lane in range(LANES):
        np.testing.assert_allclose(F[lane], builtin(x, *params[lane]), rtol=1e-13, atol=1e-13)
        assert column_error(J[lane], builtin.jacobian(x, *params[lane])) <= 1e-13


def _ops_binary_pointwise(x, a, b, c):
    return ((2.0 - a) / x + x ** a + a ** 2 + a ** b + b ** 3 - 1 / (a * x) + 3 * x * b - c / 2 + (x + c) ** -0.5
            + a ** -1.0 + (x + b) ** -2.0 + np.multiply(x, c) + np.subtract(c, x) + np.add(a, x)
            + np.divide(x, c) + x ** 0.0 + (a * x) ** 1.0 + np.power(x, 2.5) + x ** 3 + (b * x) ** 0.5)


def _ops_masks(x, a, b, c):
    hinge = np.where(x < c, a * (x - c), b * (x - c))
    ramp = (x > c) * (x - c) * b + (x <= c) * a + np.where(x >= 1.0, 1.0, a) + np.where(x != c, x, 0.0)
    return hinge + ramp


OPS = [(_ops_unary, None, [0.7, 1.1, 0.5]), (_ops_binary_pointwise, None, [0.7, 1.1, 0.5]),
       (_ops_scalar_math, _ops_scalar_math_reference, [0.7, 1.1, -0.5]), (_ops_in_place, None, [0.7, 1.1, 0.5]),
       (_ops_masks, None, [0.7, 1.1, 1.5])]


@pytest.mark.parametrize(("func", "reference", "p"), OPS, ids=[o[0].__name__ for o in OPS])
def test_every_lane_operation_against_the_complex_step(func, reference, p):
    x = np.linspace(0.3, 3.0, 25)
    params = np.tile(p, (LANES, 1)) + 0.01 * np.arange(LANES)[:, None] * np.sign(p)
    F, J = lanes_evaluation(lsq.model(func), x, params)
    for lane in range(LANES):
        np.testing.assert_allclose(F[lane], (reference or func)(x, *params[lane]), rtol=1e-13)
        assert column_error(J[lane], complex_step_jacobian(reference or func, x, params[lane])) <= 1e-13


def test_erf_and_abs_on_lanes_follow_their_derivative_rules():
    @lsq.model
    def f(x, a, b):
        return math.erf(a * x) + b + np.abs(x - b) - abs(b - 1.0)

    x = np.linspace(-1, 2, 7)
    params = np.column_stack([0.3 + 0.1 * np.arange(LANES), np.ones(LANES)])
    F, J = lanes_evaluation(f, x, params)
    for lane, (a, _) in enumerate(params):
        np.testing.assert_allclose(F[lane], [math.erf(a * t) + 1 + abs(t - 1) for t in x], rtol=1e-15)
        np.testing.assert_allclose(J[lane, :, 0], 2 / math.sqrt(math.pi) * np.exp(-(a * x) ** 2) * x, rtol=1e-14)
        np.testing.assert_array_equal(J[lane, :, 1], 1.0 - np.sign(x - 1.0))  # d|b - 1|/db = 0 at b = 1


def test_exact_exp_models_run_on_lanes_with_numbas_exp():
    from test_jets import exponential

    p = _lane_params([2.5, 1.3, 0.4])
    x = np.linspace(0.05, 4.0, 30)
    F, J = lanes_evaluation(lsq.model(exponential, exact_exp=True), x, p)
    for lane in range(LANES):
        np.testing.assert_allclose(F[lane], exponential(x, *p[lane]), rtol=1e-15)
        assert column_error(J[lane], complex_step_jacobian(exponential, x, p[lane])) <= 1e-15


# --- what runs on the per-fit kernel instead ------------------------------------------------------------------
def _reduces(x, a, b):
    return a * x / np.sum(x) + b


def _branches_on_a_parameter(x, a, b):
    if a > b:
        return a * x
    return b * x


def _indexes_points(x, a, b):
    return a * (x - x[0]) + b


def _loops(x, a, b):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = a * x[i] + b
    return out


@pytest.mark.filterwarnings("ignore::lsq.JetFallbackWarning")
@pytest.mark.parametrize("func", [_reduces, _branches_on_a_parameter, _indexes_points, _loops])
def test_functions_that_are_not_point_by_point_run_on_the_per_fit_kernel(func):
    model = lsq.model(func)
    x = np.linspace(0.5, 2.0, 12)
    Y = np.array([func(x, 1.5 + 0.1 * k, 0.5) for k in range(10)])
    auto = lsq.curve_fit_batch(model, x, Y, p0=[1.0, 1.0])
    assert model.lanes_kernel() is None and model.lanes_failure
    per_fit = lsq.curve_fit_batch(model, x, Y, p0=[1.0, 1.0], kernel="per-fit")
    np.testing.assert_array_equal(auto.params, per_fit.params)
    with pytest.raises(ValueError, match="no lanes kernel"):
        lsq.curve_fit_batch(model, x, Y, p0=[1.0, 1.0], kernel="lanes")


def test_finite_difference_and_analytic_user_models_stay_on_the_per_fit_kernel():
    from test_jets import exponential

    x = np.linspace(0.05, 4.0, 30)
    Y = np.array([exponential(x, 2.0, t, 0.1) for t in (0.5, 1.0, 1.5)])
    with pytest.raises(ValueError, match="finite differences"):
        lsq.curve_fit_batch(lsq.model(exponential, jac="2-point"), x, Y, p0=[1, 1, 0], kernel="lanes")
    analytic = lsq.model(exponential, jac=lambda x, a, t, c: lsq.models.exponential.jacobian(x, a, t, c))
    assert analytic.lanes_kernel() is None


# --- fits: users' microscopy models on the lanes against the per-fit engine ------------------------------------
def _spots(func, truth0, spread, size, k, seed):
    rng = np.random.default_rng(seed)
    X = np.stack([g.ravel() for g in np.meshgrid(np.arange(float(size)), np.arange(float(size)))])
    truth = truth0 + spread * rng.uniform(-1, 1, (k, len(truth0)))
    Y = np.array([func(X, *t) for t in truth])
    Y += rng.standard_normal(Y.shape) * 0.05 * truth[:, :1]
    return X, Y, truth + 0.5 * spread * rng.uniform(-1, 1, truth.shape)


SPOTS = {
    "elliptic_gaussian": (elliptic_gaussian, [500.0, 4.0, 4.0, 1.3, 1.8, 0.4, 10.0], [50, .5, .5, .1, .1, .1, 2], 9),
    "astigmatic_psf": (astigmatic_psf, [500.0, 5.0, 5.0, 0.0, 10.0], [50, .5, .5, .3, 2], 11),
}


@pytest.mark.parametrize("name", sorted(SPOTS))
def test_users_spot_models_fit_on_the_lanes_like_the_per_fit_engine(name):
    func, truth0, spread, size = SPOTS[name]
    model = lsq.model(func)
    X, Y, p0 = _spots(func, np.array(truth0), np.array(spread), size, 403, seed=len(name))
    a = lsq.curve_fit_batch(model, X, Y, p0=p0, kernel="per-fit")
    b = lsq.curve_fit_batch(model, X, Y, p0=p0)  # 'auto' takes the lanes
    assert model.lanes_kernel(2) is not None
    _assert_same_fits(a, b, min_same_status=0.999)
    assert np.mean(a.nit == b.nit) >= 0.99 and np.mean(a.nfev == b.nfev) >= 0.99
    assert b.success.mean() > 0.99
