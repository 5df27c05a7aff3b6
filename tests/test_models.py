"""Built-in models: analytic Jacobians, data-driven guesses, compiled fits equal to Python fits."""

import numpy as np
import pytest

import lsq
from lsq import models

GRID = np.linspace(0.0, 10.0, 120)
XY = np.stack([g.ravel() for g in np.meshgrid(np.arange(7.0), np.arange(7.0))])

# model -> (x, true parameters, noise level); realistic shapes a user would fit
CASES = {
    "constant": (GRID, [2.5], 0.05),
    "linear": (GRID, [0.7, -1.2], 0.05),
    "exponential": (GRID, [4.0, 2.2, 0.5], 0.03),
    "double_exponential": (GRID, [3.0, 0.5, 2.0, 4.0, 0.3], 0.01),
    "power_law": (GRID + 0.5, [2.0, 1.3], 0.05),
    "gaussian": (GRID, [3.0, 4.2, 1.1, 0.4], 0.05),
    "lorentzian": (GRID, [2.0, 5.5, 0.8, 0.2], 0.03),
    "voigt": (GRID, [2.5, 5.0, 1.5, 0.4, 0.1], 0.02),
    "logistic": (GRID, [3.0, 4.5, 1.7, 0.5], 0.05),
    "sine": (GRID, [1.5, 2.3, 0.7, 0.2], 0.05),
    "damped_sine": (GRID, [2.0, 4.0, 3.1, 0.4, 0.1], 0.03),
    "michaelis_menten": (GRID + 0.1, [5.0, 1.5], 0.05),
    "gaussian_2d": (XY, [200.0, 3.2, 2.7, 1.2, 10.0], 2.0),
}
ALL = {**{name: models.BUILTIN[name] for name in CASES}, "polynomial3": models.polynomial(3)}
CASES["polynomial3"] = (GRID, [1.0, -0.5, 0.2, -0.01], 0.05)


def noisy(name, seed=0):
    x, p, noise = CASES[name]
    rng = np.random.default_rng(seed)
    y = ALL[name](x, *p)
    return x, np.asarray(p, float), y + noise * rng.standard_normal(y.shape)


@pytest.mark.parametrize("name", sorted(ALL))
def test_analytic_jacobian_matches_central_differences(name):
    model = ALL[name]
    x, p, _ = noisy(name)
    p = p * 1.03 + 0.01  # off the truth, where every derivative is generic
    J = model.jacobian(x, *p)
    Jfd = np.empty_like(J)
    for j in range(p.size):
        h = 1e-6 * max(1.0, abs(p[j]))
        hi, lo = p.copy(), p.copy()
        hi[j] += h
        lo[j] -= h
        Jfd[:, j] = (model(x, *hi) - model(x, *lo)) / (2 * h)
    scale = np.abs(Jfd).max(axis=0) + 1e-12
    assert np.all(np.abs(J - Jfd) / scale <= 1e-7), name


@pytest.mark.parametrize("name", sorted(ALL))
def test_fit_from_guess_recovers_true_parameters(name):
    model = ALL[name]
    for seed in range(3):
        x, p_true, y = noisy(name, seed)
        r = lsq.fit(model, x, y)  # p0 from model.guess
        assert r.success, (name, seed, r.message)
        err = np.abs(r.values - p_true)
        # within 6 standard errors of the truth: the fit found the right basin
        assert np.all(err <= 6 * r.errors + 1e-9), (name, seed, r.values, p_true, r.errors)


@pytest.mark.parametrize("name", sorted(ALL))
def test_compiled_and_python_paths_agree(name):
    model = ALL[name]
    x, p_true, y = noisy(name)
    p0 = model.guess(x, y)
    resid = model.residuals(x, y)
    compiled = lsq.least_squares(resid, p0, ftol=1e-12, xtol=1e-12, gtol=1e-12)
    python = lsq.least_squares(lambda p: resid(p), p0, jac=resid.jacobian, ftol=1e-12, xtol=1e-12, gtol=1e-12)
    assert compiled.success and python.success
    np.testing.assert_allclose(compiled.x, python.x, rtol=1e-10, atol=1e-12)
    assert compiled.nfev == python.nfev


def test_polynomial_models_are_cached_by_degree_and_validated():
    assert models.polynomial(2) is models.polynomial(2)
    assert models.polynomial(4).param_names == ("c0", "c1", "c2", "c3", "c4")
    with pytest.raises(ValueError, match="deg"):
        models.polynomial(-1)


def test_gaussian_2d_needs_two_coordinate_rows():
    with pytest.raises(ValueError, match=r"expects x of shape \(2, m\)"):
        models.gaussian_2d(GRID, 1, 1, 1, 1, 1)


def test_builtin_models_pickle_and_keep_working():
    import pickle

    m = pickle.loads(pickle.dumps(models.gaussian))
    np.testing.assert_array_equal(m(GRID, 1, 2, 3, 4), models.gaussian(GRID, 1, 2, 3, 4))
