"""Property tests (hypothesis) on random well-posed problems with known solutions."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import lsq

# derandomized, as the API fuzzing: CI runs the same examples every time, so a failure is a change in lsq,
# not a draw (a random draw found the case below, which fails in about 3 runs out of 100)
SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(3, 30), n=st.integers(1, 3), method=st.sampled_from(
    ["lm", "levenberg", "gn"]))
def test_linear_least_squares_solution(seed, m, n, method):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) + 3 * np.eye(m, n)
    b = rng.standard_normal(m)
    res = lsq.least_squares(lambda x: A @ x - b, np.zeros(n), jac=lambda x: A, method=method)
    ref = np.linalg.lstsq(A, b, rcond=None)[0]
    np.testing.assert_allclose(res.x, ref, rtol=1e-6, atol=1e-8)


@SETTINGS
@given(a=st.floats(0.5, 5.0), k=st.floats(0.2, 2.0), c=st.floats(-1.0, 1.0))
def test_noiseless_exponential_recovers_parameters(a, k, c):
    t = np.linspace(0, 5, 30)
    y = a * np.exp(-k * t) + c
    res = lsq.least_squares(lambda p: p[0] * np.exp(-p[1] * t) + p[2] - y, [1.0, 1.0, 0.0])
    np.testing.assert_allclose(res.x, [a, k, c], rtol=1e-5, atol=1e-6)


@pytest.mark.xfail(strict=True, reason="known limitation, shared with SciPy's MINPACK lm (trf recovers it): the "
                   "first Gauss-Newton step from (1, 1, 0) turns k negative, and the fit then follows the valley "
                   "a -> -inf, k -> 0-, c -> +inf until max_nfev")
@pytest.mark.parametrize("a, k, c", [(1.5, 0.3125, 1.0), (1.75, 0.21875, 1.0)])
def test_noiseless_exponential_known_failure(a, k, c):
    t = np.linspace(0, 5, 30)
    y = a * np.exp(-k * t) + c
    res = lsq.least_squares(lambda p: p[0] * np.exp(-p[1] * t) + p[2] - y, [1.0, 1.0, 0.0])
    np.testing.assert_allclose(res.x, [a, k, c], rtol=1e-5, atol=1e-6)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), lo=st.floats(-2.0, 0.5), width=st.floats(0.1, 3.0))
@example(seed=1053665, lo=-1.6455714639885604, width=1.875)  # term-by-term decrease, summed cost up an ulp
def test_bounded_result_is_feasible_and_cost_monotone(seed, lo, width):
    rng = np.random.default_rng(seed)
    target = rng.uniform(-3, 3, size=2)
    lb, ub = np.array([lo, lo]), np.array([lo + width, lo + width])
    x0 = lb + rng.uniform(0, 1, size=2) * (ub - lb)
    res = lsq.least_squares(lambda x: np.array([x[0] - target[0], 2 * (x[1] - target[1]), x[0] * x[1]]), x0,
                            bounds=(lb, ub))
    assert np.all(res.x >= lb) and np.all(res.x <= ub)
    assert np.all(np.diff(res.history["cost"]) <= 0)
