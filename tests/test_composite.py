"""Composite models: sums and products of models as one compiled model with an analytic Jacobian."""

import pickle

import numpy as np
import pytest

import lsq
from lsq.model import central_difference_jacobian

g = lsq.models.gaussian
SPECTRUM = g(prefix="p1_") + g(prefix="p2_") + g(prefix="p3_") + lsq.models.linear()
TRUTH = {"p1_amplitude": 5.0, "p1_center": 4.0, "p1_sigma": 0.8, "p2_amplitude": 3.0, "p2_center": 9.0,
         "p2_sigma": 1.2, "p3_amplitude": 4.0, "p3_center": 14.5, "p3_sigma": 0.6, "slope": 0.05, "intercept": 1.0}
X = np.linspace(0, 20, 400)


def test_a_sum_has_the_union_of_parameters_and_one_baseline():
    assert SPECTRUM.n_params == 11  # three peaks without their offsets, and the background
    assert SPECTRUM.param_names == tuple(TRUTH)
    assert SPECTRUM.has_jacobian
    # without a background the first part keeps its offset, the others lose theirs
    two = g(prefix="a_") + lsq.models.lorentzian(prefix="b_")
    assert two.param_names == ("a_amplitude", "a_center", "a_sigma", "a_offset", "b_amplitude", "b_center", "b_gamma")
    # a product keeps every parameter of its factors
    assert (g * lsq.models.exponential(prefix="e_")).n_params == 7
    assert lsq.models.linear() is lsq.models.linear


def test_composite_values_and_jacobian_follow_the_sum_and_product_rules():
    p = np.array(list(TRUTH.values()))
    parts = [g(X, 5.0, 4.0, 0.8, 0.0), g(X, 3.0, 9.0, 1.2, 0.0), g(X, 4.0, 14.5, 0.6, 0.0), 0.05 * X + 1.0]
    np.testing.assert_allclose(SPECTRUM(X, *p), np.sum(parts, axis=0), rtol=1e-15, atol=1e-15)
    J = SPECTRUM.jacobian(X, *p)
    np.testing.assert_allclose(J[:, 0:3], g.jacobian(X, 5.0, 4.0, 0.8, 0.0)[:, :3], rtol=1e-15)
    np.testing.assert_allclose(J, central_difference_jacobian(SPECTRUM, X, p), atol=1e-7)
    product = (g + lsq.models.linear(prefix="bg_")) * lsq.models.exponential(prefix="e_")
    q = np.array([2.0, 5.0, 1.5, 0.1, 1.0, 1.2, 10.0, 0.5])
    assert product.param_names[-3:] == ("e_amplitude", "e_decay", "e_offset")
    inner = g(X, 2.0, 5.0, 1.5, 0.0) + 0.1 * X + 1.0  # the peak's offset gives way to the background's
    np.testing.assert_allclose(product(X, *q), inner * lsq.models.exponential(X, 1.2, 10.0, 0.5), rtol=1e-14)
    np.testing.assert_allclose(product.jacobian(X, *q), central_difference_jacobian(product, X, q), atol=1e-7)


def test_three_gaussians_and_a_background_fit_a_spectrum_to_the_known_parameters():
    p = np.array(list(TRUTH.values()))
    exact = SPECTRUM(X, *p)
    # noise-free: the known parameters to the last digits, from the composite's own guess
    r = lsq.fit(SPECTRUM, X, exact)
    assert r.success and not r.diagnostics
    by_center = sorted(range(3), key=lambda k: r.values[3 * k + 1])
    found = np.concatenate([r.values[3 * k:3 * k + 3] for k in by_center] + [r.values[9:]])
    expected = np.array([5.0, 4.0, 0.8, 3.0, 9.0, 1.2, 4.0, 14.5, 0.6, 0.05, 1.0])
    np.testing.assert_allclose(found, expected, rtol=1e-8)
    # noisy: within 5 standard errors, from a start the user gives by name
    y = exact + np.random.default_rng(0).normal(0, 0.05, X.size)
    start = {k: v * 1.1 for k, v in TRUTH.items()}
    r = lsq.fit(SPECTRUM, X, y, p0=start)
    assert r.success
    assert np.all(np.abs(r.values - p) < 5 * r.errors)


def test_user_models_compose_with_and_without_an_analytic_jacobian():
    @lsq.model(jac="2-point")
    def decay(x, a, tau):
        return a * np.exp(-x / tau)

    @lsq.model(jac=lambda x, k, c: np.stack((x, np.ones_like(x)), axis=1))
    def ramp(x, k, c):
        return k * x + c

    both = decay + ramp
    assert not both.has_jacobian and both.param_names == ("a", "tau", "k", "c")
    assert (lsq.model(decay.py_func) + ramp).has_jacobian  # jac='auto': exact derivatives by jets
    x = np.linspace(0, 5, 80)
    y = decay(x, 3.0, 1.3) + ramp(x, 0.2, 0.5)
    r = lsq.fit(both, x, y, p0=[2, 1, 0, 0])
    np.testing.assert_allclose(r.values, [3.0, 1.3, 0.2, 0.5], rtol=1e-6)
    scaled = ramp(prefix="r_") * lsq.models.constant
    assert scaled.has_jacobian
    np.testing.assert_allclose(scaled.jacobian(x, 0.2, 0.5, 2.0),
                               central_difference_jacobian(scaled, x, [0.2, 0.5, 2.0]), atol=1e-8)


def test_clashing_names_and_mismatched_dimensions_are_clear_errors():
    with pytest.raises(ValueError, match=r"\['amplitude', 'center', 'sigma'\] appear in more than one part.*prefix"):
        g + g
    with pytest.raises(ValueError, match="cannot combine models of x with"):
        g + lsq.models.gaussian_2d
    with pytest.raises(TypeError, match="assembles its Jacobian"):
        SPECTRUM.analytic_jacobian(lambda x, *p: None)
    with pytest.raises(TypeError, match="either"):
        g(X, prefix="a_")


def test_composites_fit_in_batches_and_travel_by_pickle():
    model = g(prefix="a_") + lsq.models.constant
    centers = np.array([3.0, 4.0, 5.5])
    Y = np.array([g(X[:200], 2.0, c, 0.7, 0.0) + 0.4 for c in centers])
    b = lsq.curve_fit_batch(model, X[:200], Y)
    assert b.success.all()
    np.testing.assert_allclose(b.params[:, 1], centers, rtol=1e-8)
    back = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(back(X, 2.0, 4.0, 0.7, 0.4), model(X, 2.0, 4.0, 0.7, 0.4))
    # the parts of a fit, for plotting the components
    parts = model.parts(X, 2.0, 4.0, 0.7, 0.4)
    np.testing.assert_allclose(parts["a_gaussian"], g(X, 2.0, 4.0, 0.7, 0.0))


# --- composites on the lanes kernel -----------------------------------------------------------------------
def _envelope(x, tau):
    return np.exp(-x / tau)


def _bump(x, h, x0, w):
    return h / (1 + ((x - x0) / w) ** 2)


@pytest.mark.parametrize(("build", "true"), [
    # a sum: the gaussian's offset is dropped
    (lambda: lsq.models.gaussian(prefix="g_") + lsq.models.linear(), [3.0, 5.0, 0.8, 0.05, 1.0]),
    (lambda: lsq.model(_envelope) * lsq.models.sine(), [4.0, 1.0, 1.3, 0.2, 0.1]),  # a product
    # a user's part, on lane jets
    (lambda: lsq.model(_bump) + lsq.models.gaussian(prefix="g_"), [2.0, 3.0, 0.7, 3.0, 7.0, 0.9, 0.2]),
], ids=["sum", "product", "user_part"])
def test_composites_run_on_the_lanes_like_the_per_fit_engine(build, true):
    model = build()
    assert model.lanes_kernel() is not None
    rng = np.random.default_rng(5)
    x = np.linspace(0.0, 10.0, 60)
    k = 120
    truth = np.array(true) * (1 + 0.1 * rng.uniform(-1, 1, (k, len(true))))
    Y = np.array([model(x, *t) for t in truth]) + 0.01 * rng.standard_normal((k, x.size))
    p0 = truth * (1 + 0.05 * rng.uniform(-1, 1, truth.shape))
    a = lsq.curve_fit_batch(model, x, Y, p0=p0, kernel="per-fit")
    b = lsq.curve_fit_batch(model, x, Y, p0=p0, kernel="lanes")
    np.testing.assert_array_equal(a.success, b.success)
    assert np.mean(a.status == b.status) >= 0.95  # a converged status may sit at a rounding edge
    both = a.success & b.success
    assert both.mean() > 0.9
    np.testing.assert_allclose(b.cost[both], a.cost[both], rtol=1e-8)
    np.testing.assert_array_less(np.abs(a.params[both] - b.params[both]), 1e-6 * (1 + np.abs(a.params[both])))
    np.testing.assert_allclose(b.stderr[both], a.stderr[both], rtol=1e-5)


def test_a_composite_with_a_part_off_the_lanes_names_it():
    model = lsq.model(lambda x, a, b: a * x / np.sum(x) + b) + lsq.models.gaussian(prefix="g_")
    assert model.lanes_kernel() is None
    assert "<lambda>" in model.lanes_failure and "no lanes kernel" in model.lanes_failure
