"""Jets (``jac='auto'``): exact derivatives of a user's ``@lsq.model`` from dual numbers in compiled code.

The references are independent of the jet arithmetic: the built-ins' hand-written Jacobians, the complex-step
derivative of the model's own NumPy function (exact to rounding, no cancellation), closed forms, and NIST's
certified values.
"""

import functools
import math
import warnings

import numpy as np
import pytest

import lsq
from lsq.datasets import load_nist, nist_names
from lsq.ties import tie_model

LN2 = math.log(2.0)


# --- the 14 built-ins, written as a user would --------------------------------------------------------------
def constant(x, c):
    return c + 0.0 * x


def linear(x, slope, intercept):
    return slope * x + intercept


def exponential(x, amplitude, decay, offset):
    return amplitude * np.exp(-x / decay) + offset


def double_exponential(x, a1, tau1, a2, tau2, offset):
    return a1 * np.exp(-x / tau1) + a2 * np.exp(-x / tau2) + offset


def power_law(x, amplitude, exponent):
    return amplitude * x ** exponent


def gaussian(x, amplitude, center, sigma, offset):
    u = (x - center) / sigma
    return amplitude * np.exp(-0.5 * u * u) + offset


def lorentzian(x, amplitude, center, gamma, offset):
    u = (x - center) / gamma
    return amplitude / (1.0 + u * u) + offset


def voigt(x, amplitude, center, fwhm, eta, offset):
    t = (x - center) / fwhm
    g = np.exp(-4.0 * LN2 * t * t)
    lor = 1.0 / (1.0 + 4.0 * t * t)
    return amplitude * (eta * lor + (1.0 - eta) * g) + offset


def logistic(x, amplitude, center, rate, offset):
    return amplitude / (1.0 + np.exp(-rate * (x - center))) + offset


def sine(x, amplitude, omega, phase, offset):
    return amplitude * np.sin(omega * x + phase) + offset


def damped_sine(x, amplitude, decay, omega, phase, offset):
    return amplitude * np.exp(-x / decay) * np.sin(omega * x + phase) + offset


def michaelis_menten(x, vmax, km):
    return vmax * x / (km + x)


def gaussian_2d(x, amplitude, x0, y0, width, offset):
    dx = x[0] - x0
    dy = x[1] - y0
    return amplitude * np.exp(-(dx * dx + dy * dy) * (0.5 / (width * width))) + offset


def polynomial3(x, c0, c1, c2, c3):
    return c0 + c1 * x + c2 * x ** 2 + c3 * x ** 3


X1 = np.linspace(0.05, 4.0, 60)
XY = np.stack(np.meshgrid(np.linspace(-2, 2, 7), np.linspace(-1.5, 2.5, 7))).reshape(2, -1)

BUILTINS = [
    (constant, lsq.models.constant, X1, [1.7]),
    (linear, lsq.models.linear, X1, [0.7, -1.2]),
    (exponential, lsq.models.exponential, X1, [2.5, 1.3, 0.4]),
    (double_exponential, lsq.models.double_exponential, X1, [2.0, 0.4, 1.0, 2.5, 0.1]),
    (power_law, lsq.models.power_law, X1, [1.5, -0.7]),
    (gaussian, lsq.models.gaussian, X1, [2.0, 1.7, 0.6, 0.3]),
    (lorentzian, lsq.models.lorentzian, X1, [2.0, 1.7, 0.6, 0.3]),
    (voigt, lsq.models.voigt, X1, [2.0, 1.7, 0.9, 0.35, 0.3]),
    (logistic, lsq.models.logistic, X1, [3.0, 2.0, 1.7, -0.2]),
    (sine, lsq.models.sine, X1, [1.2, 2.3, 0.4, 0.1]),
    (damped_sine, lsq.models.damped_sine, X1, [1.2, 1.9, 2.3, 0.4, 0.1]),
    (michaelis_menten, lsq.models.michaelis_menten, X1, [3.0, 0.8]),
    (gaussian_2d, lsq.models.gaussian_2d, XY, [2.0, 0.3, 0.5, 0.8, 0.1]),
    (polynomial3, lsq.models.polynomial(3), X1, [0.5, -1.0, 0.3, 0.05]),
]


def column_error(J, ref):
    """The largest difference in each column, relative to the column's largest entry."""
    scale = np.maximum(np.abs(ref).max(axis=0), np.finfo(float).tiny)
    return (np.abs(J - ref).max(axis=0) / scale).max()


def complex_step_jacobian(func, x, p):
    """``d func(x, *p) / d p`` by the complex step on the model's NumPy function: exact to rounding."""
    p = np.asarray(p, dtype=complex)
    h = 1e-30
    cols = []
    for j in range(p.size):
        q = p.copy()
        q[j] += 1j * h
        cols.append(np.broadcast_to(np.asarray(func(x, *q)).imag / h, np.shape(x)[-1:]))
    return np.stack(cols, axis=1)


@pytest.mark.parametrize(("func", "builtin", "x", "p"), BUILTINS, ids=[b[0].__name__ for b in BUILTINS])
def test_jets_equal_the_builtins_hand_written_jacobians(func, builtin, x, p):
    model = lsq.model(func)
    assert model.has_jacobian
    J = model.jacobian(x, *p)
    assert model.has_jacobian  # the function ran on jets: no fallback
    assert column_error(J, builtin.jacobian(x, *p)) <= 1e-13
    np.testing.assert_allclose(model(x, *p), builtin(x, *p), rtol=1e-13, atol=1e-13)


# --- every operation jets support, against the complex step --------------------------------------------------
def _ops_unary(x, a, b, c):
    u = b * x + c
    return (a * np.exp(u) + np.log(u) + np.sqrt(u) + np.sin(u) + np.cos(u) + np.tan(0.3 * u) + np.arctan(u)
            + np.tanh(u) + np.sinh(u) + np.cosh(u) + np.arcsin(0.2 * u) + np.arccos(0.2 * u) + np.expm1(u)
            + np.log1p(u) + np.log10(u) + np.square(u) + np.power(u, a) + np.negative(u) + (+u))


def _ops_binary(x, a, b, c):
    return ((2.0 - a) / x + x ** a + a ** 2 + a ** b + b ** 3 - 1 / (a * x) + 3 * x * b - c / 2 + (x + c) ** -0.5
            + a ** -1.0 + (x + b) ** -2.0 + np.sum(c * x) + np.multiply(x, c) + np.subtract(c, x) + np.add(a, x)
            + np.divide(x, c) + x ** 0.0 + (a * x) ** 1.0)


def _ops_scalar_math(x, a, b, c):
    k = math.exp(a) + math.log(b) + math.sqrt(b) + math.sin(a) + math.cos(a) + math.tan(a) + math.atan(b)
    k = k + math.tanh(a) + math.sinh(a) + math.cosh(a) + math.asin(0.3 * a) + math.acos(0.3 * a)
    k = k + math.expm1(a) + math.log1p(b) + math.log10(b) + math.fabs(a - b) + abs(c)
    return k * x + c


def _ops_scalar_math_reference(x, a, b, c):
    """:func:`_ops_scalar_math` in NumPy functions, which take the complex step (at a < b and c < 0)."""
    k = np.exp(a) + np.log(b) + np.sqrt(b) + np.sin(a) + np.cos(a) + np.tan(a) + np.arctan(b)
    k = k + np.tanh(a) + np.sinh(a) + np.cosh(a) + np.arcsin(0.3 * a) + np.arccos(0.3 * a)
    k = k + np.expm1(a) + np.log1p(b) + np.log10(b) + (b - a) - c
    return k * x + c


def _ops_in_place(x, a, b, c):
    y = a * x
    y += b
    y *= c
    y -= 1.0
    y /= b
    y **= 2
    return y


def _ops_branches(x, a, b, c):
    hinge = np.where(x < c, a * (x - c), b * (x - c))
    if a > b:
        return hinge + a
    return hinge - b


OPS = [(_ops_unary, None, [0.7, 1.1, 0.5]), (_ops_binary, None, [0.7, 1.1, 0.5]),
       (_ops_scalar_math, _ops_scalar_math_reference, [0.7, 1.1, -0.5]), (_ops_in_place, None, [0.7, 1.1, 0.5]),
       (_ops_branches, None, [0.7, 1.1, 1.5])]


@pytest.mark.parametrize(("func", "reference", "p"), OPS, ids=[o[0].__name__ for o in OPS])
def test_every_supported_operation_against_the_complex_step(func, reference, p):
    x = np.linspace(0.3, 3.0, 25)
    model = lsq.model(func)
    J = model.jacobian(x, *p)
    assert model.has_jacobian
    assert column_error(J, complex_step_jacobian(reference or func, x, p)) <= 1e-13


def test_erf_and_abs_on_scalar_jets_follow_their_derivative_rules():
    @lsq.model
    def f(x, a, b):
        return math.erf(a) * x + abs(b) * x ** 2

    x = np.linspace(0, 1, 5)
    J = f.jacobian(x, 0.4, -2.0)
    np.testing.assert_allclose(J[:, 0], 2 / math.sqrt(math.pi) * math.exp(-0.16) * x, rtol=1e-15)
    np.testing.assert_allclose(J[:, 1], -(x ** 2), rtol=1e-15)


def test_a_power_of_x_at_zero_has_a_finite_derivative_in_the_exponent():
    """``d (x ** k) / dk = x ** k log x`` is 0 at ``x = 0`` for ``k > 0`` (as the built-in's Jacobian says),
    not ``0 * -inf``."""
    x = np.linspace(0.0, 2.0, 9)
    J = lsq.model(power_law).jacobian(x, 1.5, 0.7)
    np.testing.assert_array_equal(J[0], [0.0, 0.0])
    np.testing.assert_allclose(J, lsq.models.power_law.jacobian(x, 1.5, 0.7), rtol=1e-13, atol=0)


def test_exact_exp_models_differentiate_with_numbas_exp():
    model = lsq.model(exponential, exact_exp=True)
    p = [2.5, 1.3, 0.4]
    assert column_error(model.jacobian(X1, *p), complex_step_jacobian(exponential, X1, p)) <= 1e-15


# --- fits ---------------------------------------------------------------------------------------------------
def _gauss_data():
    rng = np.random.default_rng(3)
    x = np.linspace(-3, 3, 80)
    return x, gaussian(x, 2.0, 0.3, 0.8, 0.1) + 0.02 * rng.standard_normal(x.size)


def test_a_jet_fit_needs_no_extra_evaluations_and_matches_the_builtin():
    x, y = _gauss_data()
    model = lsq.model(gaussian)
    res = lsq.least_squares(model.residuals(x, y), [1.0, 0.0, 1.0, 0.0])
    ref = lsq.least_squares(lsq.models.gaussian.residuals(x, y), [1.0, 0.0, 1.0, 0.0])
    assert res.success
    assert res.ncalls == res.nfev  # no finite-difference evaluations
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-10)
    popt, pcov = lsq.curve_fit(model, x, y, p0=[1.0, 0.0, 1.0, 0.0])
    popt_b, pcov_b = lsq.curve_fit(lsq.models.gaussian, x, y, p0=[1.0, 0.0, 1.0, 0.0])
    np.testing.assert_allclose(popt, popt_b, rtol=1e-10)
    np.testing.assert_allclose(pcov, pcov_b, rtol=1e-8)


def test_two_point_keeps_finite_differences():
    x, y = _gauss_data()
    model = lsq.model(gaussian, jac="2-point")
    assert not model.has_jacobian
    res = lsq.least_squares(model.residuals(x, y), [1.0, 0.0, 1.0, 0.0])
    assert res.success
    assert res.ncalls > res.nfev


def test_a_function_jets_cannot_run_falls_back_to_differences_with_a_warning():
    @lsq.model
    def loop_model(x, a, b):
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            out[i] = a * x[i] + b
        return out

    x = np.linspace(0, 1, 20)
    said = r"setitem\(array\(float64.*Jet.*line \d+: out\[i\] = a \* x\[i\] \+ b"
    with pytest.warns(lsq.JetFallbackWarning, match=said):
        popt, _ = lsq.curve_fit(loop_model, x, 2 * x + 1, p0=[1.0, 0.0])
    assert not loop_model.has_jacobian
    np.testing.assert_allclose(popt, [2.0, 1.0], rtol=1e-7)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once, when compiled
        lsq.curve_fit(loop_model, x, 2 * x + 1, p0=[1.0, 0.0])


def test_jac_must_be_auto_two_point_or_a_function():
    with pytest.raises(ValueError, match="`jac`"):
        lsq.model(gaussian, jac="3-point")


def test_composites_and_ties_of_user_models_get_exact_derivatives():
    peak = lsq.model(gaussian)
    both = peak(prefix="p1_") + peak(prefix="p2_")
    assert both.has_jacobian
    x = np.linspace(-3, 3, 40)
    p = [2.0, -0.5, 0.6, 0.1, 1.0, 0.8, 0.4, -0.2]
    ref = complex_step_jacobian(lambda x, *q: gaussian(x, *q[:4]) + gaussian(x, *q[4:]), x, p)
    assert column_error(both.jacobian(x, *p), ref) <= 1e-13
    tied, _, _ = tie_model(both, {"p2_sigma": "p1_sigma"})
    assert tied.has_jacobian
    q = [2.0, -0.5, 0.6, 0.1, 1.0, 0.8, -0.2]
    ref = complex_step_jacobian(lambda x, *q: gaussian(x, *q[:4]) + gaussian(x, q[4], q[5], q[2], q[6]), x, q)
    assert column_error(tied.jacobian(x, *q), ref) <= 1e-13


# --- NIST through @lsq.model(jac='auto') ----------------------------------------------------------------
NIST_QUICK = ["Misra1a", "Chwirut2", "Lanczos1", "Gauss1", "DanWood", "Kirby2", "Nelson", "Misra1c",
              "Roszman1", "ENSO", "MGH09", "Rat43", "Bennett5"]
"""Problems whose formulas use every operation the NIST models use (exp, ratios, powers with a constant and
with a parameter exponent, arctan, sin and cos, 2-D x); the other 14 run with ``-m slow``."""


@functools.cache
def _nist_model(formula):
    return lsq.model(formula)


@pytest.mark.parametrize("name", [n if n in NIST_QUICK else pytest.param(n, marks=pytest.mark.slow)
                                  for n in nist_names()])
def test_nist_formulas_on_jets_reach_the_certified_values(name):
    """The problem written as a user would, with no Jacobian: exact derivatives from jets, so both starts
    reach 6 digits with the exact-Jacobian tolerances (the NIST test's), and curve_fit's standard errors the
    certified ones to 4 (Lanczos1's certified values need more than double precision: 3)."""
    p = load_nist(name)
    model = _nist_model(p.formula)
    J = model.jacobian(p.x, *p.certified)
    assert model.has_jacobian
    assert column_error(J, p.jacobian(p.x, p.certified)) <= 1e-12
    for start in (1, 2):
        with np.errstate(all="ignore"):
            res = lsq.least_squares(model.residuals(p.x, p.y), p.start(start), ftol=1e-15, xtol=1e-15,
                                    gtol=1e-15, max_nfev=10000)
        assert res.success
        assert res.ncalls == res.nfev
        assert p.lre(res.x).min() >= 6, (start, res.x, p.certified)
    popt, pcov = lsq.curve_fit(model, p.x, p.y, p0=p.start(2))
    std_lre = -np.log10(np.abs(np.sqrt(np.diag(pcov)) - p.certified_std) / p.certified_std)
    assert std_lre.min() >= (3 if name == "Lanczos1" else 4), std_lre
