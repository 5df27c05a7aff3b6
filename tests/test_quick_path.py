"""The everyday compiled fit (lsq._python.quick_fit) gives exactly what the general path gives, and hands
every unusual call to it."""

import sys
import warnings

import numpy as np
import pytest
from scipy.optimize import OptimizeWarning

import lsq
from lsq._python import quick_fit as quick

X = np.linspace(-3, 3, 80)
Y = lsq.models.gaussian(X, 2.0, 0.3, 0.7, 0.1) + 0.05 * np.random.default_rng(1).standard_normal(80)
SIGMA = 0.05 + 0.01 * np.abs(X)


@lsq.model
def user_gaussian(x, a, c, s, b):
    return a * np.exp(-0.5 * ((x - c) / s) ** 2) + b


@lsq.model
def plane(xy, a, b, c):
    return a * xy[0] + b * xy[1] + c


def _general(**kw):
    """A keyword the quick path does not take (bounds given as a new tuple) sends the call the general way."""
    return dict(kw, bounds=(-np.inf, np.inf))


@pytest.mark.parametrize("model", [lsq.models.gaussian, user_gaussian], ids=["builtin", "user"])
@pytest.mark.parametrize("sigma", [None, SIGMA], ids=["unweighted", "sigma"])
@pytest.mark.parametrize("absolute_sigma", [False, True])
def test_curve_fit_quick_path_is_the_general_path_bit_for_bit(model, sigma, absolute_sigma, monkeypatch):
    calls = []
    monkeypatch.setattr(sys.modules["lsq.curve_fit"], "quick_curve_fit",
                        lambda *a, **k: calls.append(1) or quick.quick_curve_fit(*a, **k))
    kw = dict(p0=[1.5, 0.0, 1.0, 0.0], sigma=sigma, absolute_sigma=absolute_sigma)
    p_quick, c_quick = lsq.curve_fit(model, X, Y, **kw)
    assert calls == [1]
    p_gen, c_gen = lsq.curve_fit(model, X, Y, **_general(**kw))
    assert calls == [1]
    np.testing.assert_array_equal(p_quick, p_gen)
    np.testing.assert_array_equal(c_quick, c_gen)
    np.testing.assert_allclose(p_quick, [2.0, 0.3, 0.7, 0.1], atol=0.05)


def test_fit_quick_path_is_the_general_path_bit_for_bit():
    for model in (lsq.models.gaussian, user_gaussian):
        q = lsq.fit(model, X, Y, p0=[1.5, 0.0, 1.0, 0.0], sigma=SIGMA)
        g = lsq.fit(model, X, Y, p0=[1.5, 0.0, 1.0, 0.0], sigma=SIGMA, fixed=[])  # general path
        np.testing.assert_array_equal(q.values, g.values)
        np.testing.assert_array_equal(q.cov, g.cov)
        assert (q.nfev, q.nit, q.success, q.message) == (g.nfev, g.nit, g.success, g.message)
        assert q.r_squared == g.r_squared and q.aic == g.aic and q.bic == g.bic
        np.testing.assert_array_equal(q.result.x, g.result.x)
        np.testing.assert_array_equal(q.result.history["cost"], g.result.history["cost"])
        assert q.report() == g.report()


def test_two_dimensional_x_and_a_guess_take_the_quick_path():
    rng = np.random.default_rng(2)
    xy = rng.uniform(-1, 1, (2, 40))
    z = plane.py_func(xy, 1.5, -2.0, 0.3) + 0.01 * rng.standard_normal(40)
    p, c = lsq.curve_fit(plane, xy, z, p0=[1, 1, 1])
    p2, c2 = lsq.curve_fit(plane, xy, z, **_general(p0=[1, 1, 1]))
    np.testing.assert_array_equal(p, p2)
    np.testing.assert_array_equal(c, c2)
    np.testing.assert_allclose(p, [1.5, -2.0, 0.3], atol=0.02)
    r = lsq.fit(lsq.models.gaussian, X, Y)  # starting values from the model's guess
    np.testing.assert_allclose(r.values, [2.0, 0.3, 0.7, 0.1], atol=0.05)


def test_unusual_calls_leave_the_quick_path_with_the_general_messages():
    with pytest.raises(ValueError, match="ydata"):
        lsq.curve_fit(lsq.models.gaussian, X, np.where(X > 0, np.nan, Y), p0=[1.5, 0.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="p0"):
        lsq.curve_fit(lsq.models.gaussian, X, Y, p0=[1.5, 0.0, 1.0])
    with pytest.raises(ValueError, match="p0"):
        lsq.curve_fit(lsq.models.gaussian, X, Y, p0=[1.5, np.nan, 1.0, 0.0])
    with pytest.raises(ValueError, match="sigma"):
        lsq.curve_fit(lsq.models.gaussian, X, Y, p0=[1.5, 0.0, 1.0, 0.0], sigma=np.zeros(80))
    with pytest.raises(ValueError, match="finite"):
        lsq.fit(lsq.models.gaussian, X, np.where(X > 0, np.inf, Y))


def test_a_rank_deficient_fit_warns_as_before():
    # c never enters the model: its Jacobian column is exactly zero on every CPU, so the truncated SVD drops
    # a direction whatever the rounding (a product a*b drops one only if rounding makes the columns equal)
    @lsq.model
    def unused(x, a, k, c):
        return a * np.exp(-k * x) + 0.0 * c

    x = np.linspace(0, 4, 50)
    y = 2.0 * np.exp(-0.7 * x) + 0.01 * np.random.default_rng(0).standard_normal(50)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, pcov = lsq.curve_fit(unused, x, y, p0=[1.0, 1.0, 1.0])
    assert np.isinf(pcov).all()
    assert any(issubclass(w.category, OptimizeWarning) for w in caught)


def test_a_model_of_the_wrong_length_is_an_error_never_a_read_past_its_end():
    @lsq.model
    def short(x, a, b):
        return (a * x + b)[:10]

    @lsq.model
    def line(x, a, b):
        return a * x + b

    @line.analytic_jacobian
    def _(x, a, b):
        return np.stack((x, np.ones_like(x)))  # (2, m): the transpose of what is asked

    x = np.linspace(0, 1, 50)
    for call in (lambda: lsq.curve_fit(short, x, 2 * x + 1, p0=[1, 1]),
                 lambda: lsq.fit(short, x, 2 * x + 1, p0=[1, 1])):
        with pytest.raises(ValueError, match=r"returned shape \(10,\)"):
            call()
    with pytest.raises(ValueError, match=r"Jacobian of model `line` returned shape \(2, 50\)"):
        lsq.curve_fit(line, x, 2 * x + 1, p0=[1, 1])
    # the compiled wrappers themselves give NaN for a wrong length: a batch reports it in the status
    batch = lsq.curve_fit_batch(short, x, np.tile(2 * x + 1, (3, 1)), p0=[1.0, 1.0])
    assert (batch.status < 0).all()


def test_curve_fit_reuses_its_buffers_but_returns_arrays_of_its_own():
    """The quick path runs on the thread's own workspace of the fit's sizes, reused by its next fit: what a fit
    returned stays as it was, and threads fitting at once each get the answer the same fit gives alone."""
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(4)
    data = [lsq.models.gaussian(X, 2.0, c, 0.7, 0.1) + 0.05 * rng.standard_normal(80) for c in np.linspace(-1, 1, 8)]
    p0 = [1.5, 0.0, 1.0, 0.0]
    first, cov = lsq.curve_fit(lsq.models.gaussian, X, data[0], p0=p0)
    kept = first.copy(), cov.copy()
    lsq.curve_fit(lsq.models.gaussian, X, data[1], p0=p0)  # the same sizes: the same buffers
    np.testing.assert_array_equal(first, kept[0])
    np.testing.assert_array_equal(cov, kept[1])
    serial = [lsq.curve_fit(lsq.models.gaussian, X, y, p0=p0) for y in data]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(5):
            threaded = list(pool.map(lambda y: lsq.curve_fit(lsq.models.gaussian, X, y, p0=p0), data))
            for (p, c), (ps, cs) in zip(threaded, serial, strict=True):
                np.testing.assert_array_equal(p, ps)
                np.testing.assert_array_equal(c, cs)
