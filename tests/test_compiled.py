"""The compiled path: @lsq.model user models, compiled finite differences, NIST compiled == Python."""

import numba
import numpy as np
import pytest

import lsq
from lsq.datasets import load_nist, nist_names
from lsq.model import as_points


@lsq.model(jac="2-point")  # this module tests compiled finite differences; jets: test_jets.py
def decay(x, a, k, c):
    return a * np.exp(-k * x) + c


def decay_jac(x, a, k, c):
    e = np.exp(-k * x)
    return np.stack((e, -a * x * e, np.ones_like(x)), axis=1)


X = np.linspace(0, 5, 40)
Y = decay.py_func(X, 3.0, 1.3, 0.4) + 0.01 * np.random.default_rng(1).standard_normal(X.size)


def test_user_model_names_and_evaluation():
    assert decay.param_names == ("a", "k", "c")
    assert not decay.has_jacobian
    np.testing.assert_allclose(decay(X, 1.0, 2.0, 3.0), np.exp(-2 * X) + 3)


def assert_same_minimum(a, b, fraction=1e-6):
    """Two fits of one data set agree to ``fraction`` of each parameter's standard error: the tolerance that
    follows from the problem when the two fits evaluate the model with different arithmetic (NumPy's SIMD
    kernels against numba's code for the host CPU differ in the last bits, DESIGN.md section 3)."""
    m, n = a.jac.shape
    cov = np.linalg.inv(a.jac.T @ a.jac) * 2 * a.cost / (m - n)
    np.testing.assert_array_less(np.abs(a.x - b.x), fraction * np.sqrt(np.diag(cov)))


@pytest.mark.parametrize("jac", ["2-point", "3-point"])
def test_compiled_finite_differences_match_python_finite_differences(jac):
    # like with like: the Python path evaluates the model with the same compiled kernel
    fun, _ = _python_residuals_with_compiled_arithmetic(decay, X, Y)
    compiled = lsq.least_squares(decay.residuals(X, Y), [1.0, 1.0, 0.0], jac=jac)
    python = lsq.least_squares(fun, [1.0, 1.0, 0.0], jac=jac)
    assert compiled.success
    np.testing.assert_allclose(compiled.x, python.x, rtol=1e-12)
    assert compiled.nfev == python.nfev
    assert compiled.njev == python.njev
    # and the model's own NumPy function reaches the same minimum
    numpy_path = lsq.least_squares(lambda p: decay.py_func(X, *p) - Y, [1.0, 1.0, 0.0], jac=jac)
    assert_same_minimum(compiled, numpy_path)


def test_attached_analytic_jacobian_is_used_and_agrees():
    m = lsq.model(decay.py_func, jac=decay_jac, name="decay_j")
    assert m.has_jacobian
    np.testing.assert_allclose(m.jacobian(X, 3.0, 1.3, 0.4), decay_jac(X, 3.0, 1.3, 0.4))
    a = lsq.least_squares(m.residuals(X, Y), [1.0, 1.0, 0.0])
    b = lsq.least_squares(decay.residuals(X, Y), [1.0, 1.0, 0.0])
    np.testing.assert_allclose(a.x, b.x, rtol=1e-7)
    assert a.ncalls < b.ncalls  # no finite-difference evaluations
    assert a.ncalls == a.nfev


def test_jacobian_decorator_form():
    @lsq.model
    def line(x, slope, icpt):
        return slope * x + icpt

    @line.analytic_jacobian
    def _(x, slope, icpt):
        return np.stack((x, np.ones_like(x)), axis=1)

    r = lsq.least_squares(line.residuals(X, 2 * X + 1), [0.0, 0.0])
    np.testing.assert_allclose(r.x, [2.0, 1.0])
    assert r.njev <= 3


def test_two_dimensional_user_model():
    @lsq.model
    def plane(xy, a, b, c):
        return a * xy[0] + b * xy[1] + c

    xy = np.random.default_rng(0).uniform(size=(2, 30))
    r = lsq.least_squares(plane.residuals(xy, 1.5 * xy[0] - 2 * xy[1] + 0.3), [0.0, 0.0, 0.0])
    np.testing.assert_allclose(r.x, [1.5, -2.0, 0.3], atol=1e-10)


def test_bounds_and_loss_in_compiled_path_match_python():
    fun, _ = _python_residuals_with_compiled_arithmetic(decay, X, Y)
    kw = dict(bounds=([0, 0, 0.5], [10, 10, 10]), loss="soft_l1", f_scale=0.05)
    a = lsq.least_squares(decay.residuals(X, Y), [1.0, 1.0, 1.0], **kw)
    b = lsq.least_squares(fun, [1.0, 1.0, 1.0], **kw)
    np.testing.assert_allclose(a.x, b.x, rtol=1e-12)
    assert a.x[2] == pytest.approx(0.5)
    assert a.active_mask[2] == -1


def test_model_without_parameters_is_rejected_by_name():
    with pytest.raises(TypeError, match="model `flat` must take x and at least one parameter"):
        @lsq.model
        def flat(x):
            return x


def test_star_args_model_is_rejected_by_name():
    with pytest.raises(TypeError, match="model `anything`.*plain positional parameters"):
        @lsq.model
        def anything(x, *p):
            return x


def test_uncompilable_model_gives_clear_error_naming_it():
    @lsq.model
    def needs_python(x, a):
        return np.array([str(v) for v in x]).astype(float) * a  # strings: numba cannot compile this

    with pytest.raises(TypeError, match="model `needs_python` could not be compiled by numba"):
        lsq.least_squares(needs_python.residuals(X, Y), [1.0])


def test_wrong_length_model_output_is_reported():
    @lsq.model
    def short(x, a):
        return a * x[:-1]

    with pytest.raises(ValueError, match="residuals|shape|length"):
        lsq.least_squares(short.residuals(X, Y), [1.0])


def test_callback_falls_back_to_python_path_with_same_answer():
    r = decay.residuals(X, Y)
    seen = []
    a = lsq.least_squares(r, [1.0, 1.0, 0.0], callback=lambda intermediate_result: seen.append(1))
    b = lsq.least_squares(r, [1.0, 1.0, 0.0])
    assert seen
    assert_same_minimum(b, a)  # the Python path evaluates the model's NumPy function


def _compiled_nist(p):
    """A NIST model as an @lsq.model with its exact Jacobian (the numpy functions jitted as they are)."""
    n = p.certified.size
    names = ", ".join(f"b{j}" for j in range(n))
    ns = {"np": np, "_f": numba.njit(p.model), "_j": numba.njit(p.jacobian)}
    exec(f"def f(x, {names}):\n    return _f(x, np.array([{names}]))\n"
         f"def j(x, {names}):\n    return _j(x, np.array([{names}]))\n", ns)
    return lsq.model(ns["f"], jac=ns["j"], name=p.name)


def _python_residuals_with_compiled_arithmetic(m, x, y):
    """Residuals and Jacobian evaluated from Python by the model's compiled kernels, so that the Python
    path and the compiled path see bit-identical model values and differ only in who drives the engine."""
    X = as_points(x)
    f_cf, j_cf, _ = m.kernels(X.shape[0])
    n_points = X.shape[1]
    from lsq._kernels.drivers.compiled import call_jac, call_model

    def fun(b):
        out = np.empty(n_points)
        call_model(f_cf.address, X, np.ascontiguousarray(b), out)
        return out - y

    def jac(b):
        out = np.empty((b.size, n_points))
        call_jac(j_cf.address, X, np.ascontiguousarray(b), out)
        return out.T

    return fun, jac


@pytest.mark.parametrize("name", nist_names())
def test_nist_compiled_equals_python(name):
    p = load_nist(name)
    m = _compiled_nist(p)
    fun, jac = _python_residuals_with_compiled_arithmetic(m, p.x, p.y)
    kw = dict(ftol=1e-15, xtol=1e-15, gtol=1e-15, max_nfev=2000)
    with np.errstate(all="ignore"):
        compiled = lsq.least_squares(m.residuals(p.x, p.y), p.start(2), **kw)
        python = lsq.least_squares(fun, p.start(2), jac=jac, **kw)
        numpy_model = lsq.least_squares(p.residuals, p.start(2), jac=p.residual_jacobian, **kw)
    np.testing.assert_allclose(compiled.x, python.x, rtol=1e-10)
    assert compiled.nfev == python.nfev
    # numba's and numpy's arithmetic differ in the last bits (x**i, exp), which moves the iterates of the
    # ill-conditioned problems (Hahn1, Thurber) by ~1e-9; both still match the certified values
    if numpy_model.success and p.lre(numpy_model.x).min() >= 6:
        assert p.lre(compiled.x).min() >= 6
