"""``@lsq.model`` compiles ``np.exp``/``math.exp`` in a user's function as lsq's vectorisable exp (within 2 ulp, the
same bits on every CPU) unless ``exact_exp=True``."""

import math
from math import exp as math_exp

import numpy
import numpy as np
import pytest
from numba import njit
from numpy import exp

import lsq
from lsq._kernels.drivers.compiled import call_model
from lsq._kernels.lanes.vexp import exp_into

ARGS = np.concatenate([np.linspace(-745.0, 709.0, 20001), np.linspace(-1.0, 1.0, 1001), [0.0, -0.0]])


def _vector_exp(u):
    out = np.empty_like(u)
    exp_into(np.ascontiguousarray(u), out)
    return out


@njit
def _numba_exp(u):
    return np.exp(u)


def _compiled(model, x, *params):
    """The model as fits evaluate it (its compiled kernel; calling the model runs the Python function)."""
    X = np.ascontiguousarray(x, dtype=float).reshape(1, -1)
    out = np.empty(X.shape[1])
    call_model(model.kernels(1)[0].address, X, np.array(params, dtype=float), out)
    return out


def _ulps(a, b):
    return np.abs(a - b) / np.spacing(np.abs(b))


@lsq.model
def via_np(x, a):
    return np.exp(a * x)


@lsq.model
def via_numpy(x, a):
    return numpy.exp(a * x)


@lsq.model
def via_name(x, a):
    return exp(a * x)


@lsq.model
def via_math(x, a):
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = math.exp(a * x[i])
    return out


@lsq.model
def via_math_name(x, a):
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = math_exp(a * x[i])
    return out


def _in_closure():
    import numpy as np_local

    @lsq.model
    def via_closure(x, a):
        return np_local.exp(a * x)

    return via_closure


@pytest.mark.parametrize("model", [via_np, via_numpy, via_name, via_math, via_math_name, _in_closure()],
                         ids=lambda m: m.name)
def test_every_way_of_writing_exp_gets_the_vector_exp(model):
    got = _compiled(model, ARGS, 1.0)
    np.testing.assert_array_equal(got, _vector_exp(ARGS))
    assert _ulps(got, np.exp(ARGS)).max() <= 3  # NumPy's own exp is within 1 ulp; the vector exp within 2


def test_exact_exp_compiles_the_function_as_written():
    @lsq.model(exact_exp=True)
    def exact(x, a):
        return np.exp(a * x)

    got = _compiled(exact, ARGS, 1.0)
    np.testing.assert_array_equal(got, _numba_exp(ARGS))
    assert exact.exact_exp and not via_np.exact_exp


def test_vector_exp_keeps_the_edges():
    u = np.array([-np.inf, -746.0, -745.2, 709.78, 710.0, np.inf, np.nan])
    got = _compiled(via_np, u, 1.0)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(u))
    np.testing.assert_array_equal(got[:2], [0.0, 0.0])
    assert got[2] == np.exp(-745.2) and got[4] == np.inf and got[5] == np.inf
    assert _ulps(got[3], np.exp(709.78)) <= 2


def test_two_dimensional_arguments_and_scalars():
    @lsq.model
    def surface(x, a, b):
        grid = np.exp(np.outer(np.ones(2), x * a))  # a 2-D array through exp
        return grid[0] + np.exp(b) * grid[1]  # and a scalar

    x = np.linspace(-3, 3, 50)
    e = _vector_exp(0.7 * x)
    np.testing.assert_array_equal(_compiled(surface, x, 0.7, 0.2), e + _vector_exp(np.array([0.2]))[0] * e)


def test_fits_agree_with_the_exact_exp():
    @lsq.model(exact_exp=True)
    def gaussian_exact(x, a, b, c, d):
        return a * np.exp(-0.5 * ((x - b) / c) ** 2) + d

    @lsq.model
    def gaussian_vector(x, a, b, c, d):
        return a * np.exp(-0.5 * ((x - b) / c) ** 2) + d

    x = np.linspace(-5, 5, 100)
    y = lsq.models.gaussian(x, 3.0, 0.4, 1.2, 0.5) + 0.05 * np.random.default_rng(4).standard_normal(100)
    p_exact, c_exact = lsq.curve_fit(gaussian_exact, x, y, p0=[2, 0, 1, 0])
    p_vector, c_vector = lsq.curve_fit(gaussian_vector, x, y, p0=[2, 0, 1, 0])
    np.testing.assert_allclose(p_vector, p_exact, rtol=1e-8)
    # finite-difference Jacobians, so the covariances agree to about sqrt(eps) of their largest entry
    np.testing.assert_allclose(c_vector, c_exact, rtol=1e-5, atol=1e-7 * np.abs(c_exact).max())
