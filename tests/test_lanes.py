"""The lanes batch kernel (8 fits across SIMD lanes) against the per-fit engine, and its vector arithmetic."""

import math

import numpy as np
import pytest
from numba import njit

import lsq
from lsq._kernels.lanes import simd
from lsq._kernels.lanes.vexp import exp_into

EXP_MAX_ULP = 2


@njit
def _libm_exp(x, out):
    for i in range(x.shape[0]):
        out[i] = math.exp(x[i])


@njit
def _vector_exp(x, out):
    for k in range(0, x.shape[0] - 7, 8):
        simd.store(out[k:k + 8], simd.exp(simd.load(x[k:k + 8])))


def _ulps(a, b):
    """Distance in units in the last place between float64 arrays of the same sign (0 for equal NaNs)."""
    d = np.abs(a.view(np.int64) - b.view(np.int64)).astype(np.float64)
    d[np.isnan(a) & np.isnan(b)] = 0.0
    return d


def _correctly_rounded_exp(x):
    """``exp`` in 80-bit extended precision rounded to double: the correctly rounded value but for ties."""
    return np.exp(x.astype(np.longdouble)).astype(np.float64)


@pytest.mark.skipif(np.finfo(np.longdouble).nmant < 63, reason="needs x87 extended precision as a reference")
def test_exp_within_two_ulp_on_ten_million_arguments():
    rng = np.random.default_rng(7)
    x = np.concatenate([
        rng.uniform(-745.0, 709.7, 4_000_000),  # the whole finite range, subnormal results included
        rng.normal(0.0, 1.0, 3_000_000),  # where fit models live
        rng.uniform(-1e-8, 1e-8, 1_000_000),  # near 0, where exp(x) ~ 1 + x
        rng.uniform(-745.2, -708.0, 2_000_000),  # gradual underflow
    ])
    ours = np.empty_like(x)
    exp_into(x, ours)
    ulps = _ulps(ours, _correctly_rounded_exp(x))
    assert ulps.max() <= EXP_MAX_ULP
    assert np.mean(ulps == 0) > 0.85  # mostly correctly rounded


def test_exp_edges_match_libm():
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 5e-324, -5e-324, 1e-300, 709.78, 709.7827128933841,
                  709.79, 710.0, 1e308, -745.13, -745.1332191019411, -745.14, -746.0, -1e308, -708.4, -720.0,
                  1.0, -1.0, 0.5 * math.log(2.0), -0.5 * math.log(2.0)])
    ours = np.empty_like(x)
    exp_into(x, ours)
    libm = np.empty_like(x)
    _libm_exp(x, libm)
    assert np.array_equal(np.isnan(ours), np.isnan(x))
    finite = ~np.isnan(x)
    assert np.all((ours[finite] == 0.0) == (libm[finite] == 0.0))
    assert np.all(np.isinf(ours[finite]) == np.isinf(libm[finite]))
    assert _ulps(ours[finite], libm[finite]).max() <= 1


def test_vector_exp_has_the_scalar_bits():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(-750.0, 720.0, 80_000), rng.normal(0.0, 5.0, 80_000),
                        [np.nan, np.inf, -np.inf, 0.0, -0.0, 709.79, -745.14, -746.0]])
    scalar = np.empty_like(x)
    exp_into(x, scalar)
    vector = np.full_like(x, 42.0)
    _vector_exp(x, vector)
    assert np.array_equal(scalar.view(np.int64), vector.view(np.int64))


@njit
def _vector_ops(a, b, out):
    va, vb = simd.load(a), simd.load(b)
    simd.store(out[0], va + vb)
    simd.store(out[1], va - 2.0 * vb)
    simd.store(out[2], va * vb / 3.0)
    simd.store(out[3], simd.sqrt(simd.abs(va)))
    simd.store(out[4], simd.select(simd.gt(va, vb), va, -vb))
    simd.store(out[5], max(va, vb))
    simd.store(out[6], simd.finite(va) * simd.ge(va, vb) + simd.lt(va, vb))
    out[7, 0] = simd.lane(va, 5)


@njit
def _vector_log_sin_cos(x, out):
    for k in range(0, x.shape[0] - 7, 8):
        v = simd.load(x[k:k + 8])
        simd.store(out[0, k:k + 8], simd.log(v))
        s, c = simd.sincos(v)
        simd.store(out[1, k:k + 8], s)
        simd.store(out[2, k:k + 8], c)
        simd.store(out[3, k:k + 8], simd.sin(v) - s + simd.cos(v) - c)


@pytest.mark.skipif(np.finfo(np.longdouble).nmant < 63, reason="needs x87 extended precision as a reference")
def test_vector_log_sin_cos_within_two_ulp():
    rng = np.random.default_rng(17)
    x = np.concatenate([
        10.0 ** rng.uniform(-323, 308, 1_000_000),  # log: the whole range, subnormals included
        rng.uniform(0.5, 2.0, 500_000),  # around 1, where log cancels
        rng.uniform(-20.0, 20.0, 1_000_000),  # sin/cos where models use them
        rng.uniform(-1e5, 1e5, 500_000),  # up to the reduction's limit
        np.arange(-200, 201) * (np.pi / 2),  # near the zeros of sin and cos
        [0.0, -0.0, np.nan, np.inf, -np.inf, 5e-324, 1.0, 2e5, -3e7, 1e300, -1e-300],
    ])
    x = np.concatenate([x, np.ones(-x.size % 8)])
    out = np.empty((4, x.size))
    _vector_log_sin_cos(x, out)
    with np.errstate(divide="ignore", invalid="ignore"):
        ref_log = np.log(x.astype(np.longdouble)).astype(float)
    assert _ulps(out[0], ref_log).max() <= 1
    for row, f in ((1, np.sin), (2, np.cos)):
        ref = f(x.astype(np.longdouble)).astype(float)
        big = np.abs(ref) > 1e-3
        assert _ulps(out[row][big], ref[big]).max() <= EXP_MAX_ULP
        assert np.nanmax(np.abs(out[row] - ref)[~big]) <= 1e-18  # near a zero: absolute error
        np.testing.assert_array_equal(np.isnan(out[row]), np.isnan(ref))
    assert np.all(out[3][np.isfinite(x)] == 0.0)  # sin and cos alone are sincos's


def test_vector_operations_match_numpy():
    a = np.array([1.0, -4.0, 9.0, np.inf, 0.0, -1.5, 2.0, np.nan])
    b = np.array([2.0, -5.0, 9.0, 1.0, -0.0, 3.0, -2.0, 1.0])
    out = np.zeros((8, 8))
    _vector_ops(a, b, out)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(out[0], a + b)
        np.testing.assert_array_equal(out[1], a - 2.0 * b)
        np.testing.assert_array_equal(out[2], a * b / 3.0)
        np.testing.assert_array_equal(out[3], np.sqrt(np.abs(a)))
        np.testing.assert_array_equal(out[4], np.where(a > b, a, -b))
        np.testing.assert_array_equal(out[5], np.where(b > a, b, a))
        np.testing.assert_array_equal(out[6], np.isfinite(a) * (a >= b) + (a < b))
    assert out[7, 0] == a[5]


# ----------------------------------------------------------------------------------------- fits in lanes
PIXELS = np.stack([g.ravel() for g in np.meshgrid(np.arange(5.0), np.arange(5.0))])


def _gpufit_like(k, seed):
    rng = np.random.default_rng(seed)
    truth = np.array([500.0, 2.0, 2.0, 1.0, 10.0]) * (1 + 0.1 * rng.uniform(-1, 1, (k, 5)))
    a, x0, y0, w, b = (truth[:, j:j + 1] for j in range(5))
    clean = a * np.exp(-((PIXELS[0] - x0) ** 2 + (PIXELS[1] - y0) ** 2) / (2 * w**2)) + b
    Y = clean + rng.standard_normal(clean.shape) * truth[:, :1] / 10
    p0 = truth * (1 + 0.1 * rng.uniform(-1, 1, (k, 5)))
    return Y, p0


def _assert_same_fits(a, b, min_same_status=0.99):
    """The lanes kernel's fits (``b``) against the per-fit engine's (``a``): status on nearly every fit and
    ``|dx| <= 1e-6 (1 + |x|)`` where both converged (the two differ in the last bits of ``exp``), with the
    same standard errors."""
    same = a.status == b.status
    assert np.mean(same) >= min_same_status
    both = a.success & b.success
    assert both.sum() > 0
    np.testing.assert_array_less(np.abs(a.params[both] - b.params[both]), 1e-6 * (1 + np.abs(a.params[both])))
    # a fit that matches its data exactly (cost ~ 0) has error bars proportional to where it stopped, which
    # the last bits decide: compare the others
    noisy = both & (a.cost > 1e-12 * np.nanmedian(a.cost))
    np.testing.assert_allclose(b.stderr[noisy], a.stderr[noisy], rtol=1e-5)
    np.testing.assert_array_equal(np.isnan(a.params), np.isnan(b.params))


@pytest.mark.parametrize("settings", [{}, {"tol": 1e-4, "max_iterations": 10}])
def test_lanes_agree_with_the_per_fit_engine_on_gpufit_spots(settings):
    Y, p0 = _gpufit_like(403, seed=11)  # not a multiple of 8: lanes go idle at the end
    a = lsq.curve_fit_batch(lsq.models.gaussian_2d, PIXELS, Y, p0=p0, kernel="per-fit", **settings)
    b = lsq.curve_fit_batch(lsq.models.gaussian_2d, PIXELS, Y, p0=p0, kernel="lanes", **settings)
    _assert_same_fits(a, b)
    assert np.mean(a.nit == b.nit) >= 0.99 and np.mean(a.nfev == b.nfev) >= 0.99
    assert b.success.mean() > 0.99


def test_lanes_agree_with_sigma_per_fit_points_and_guesses():
    rng = np.random.default_rng(5)
    k, m = 150, 100
    x = np.linspace(-5, 5, m)
    X = x + rng.uniform(-0.05, 0.05, (k, m))  # per-fit points
    truth = np.column_stack([rng.uniform(1, 5, k), rng.uniform(-1, 1, k), rng.uniform(0.5, 2, k),
                             rng.uniform(-1, 1, k)])
    sigma = rng.uniform(0.05, 0.2, (k, m))
    amp, mu, sd, c = (truth[:, j:j + 1] for j in range(4))
    Y = amp * np.exp(-0.5 * ((X - mu) / sd) ** 2) + c + sigma * rng.standard_normal((k, m))
    a = lsq.curve_fit_batch(lsq.models.gaussian, X, Y, sigma=sigma, kernel="per-fit")  # the model's guesses
    b = lsq.curve_fit_batch(lsq.models.gaussian, X, Y, sigma=sigma, kernel="lanes")
    _assert_same_fits(a, b)
    np.testing.assert_allclose(np.median(np.abs(b.params - truth), axis=0),
                               np.median(np.abs(a.params - truth), axis=0), rtol=1e-6)


def test_lanes_report_bad_rows_and_hard_fits_like_the_per_fit_engine():
    rng = np.random.default_rng(9)
    x = np.linspace(0, 5, 30)
    k = 64
    tau = rng.uniform(0.2, 3, k)
    Y = 3 * np.exp(-x / tau[:, None]) + 1 + 0.01 * rng.standard_normal((k, 30))
    Y[3, 7] = np.nan  # bad data
    Y[10] = 2.0  # all equal: the decay is undetermined
    p0 = np.column_stack([np.full(k, 1.0), 10 ** rng.uniform(-2, 1.5, k), np.zeros(k)])  # far-off decays
    p0[20, 1] = np.inf  # bad start
    a = lsq.curve_fit_batch(lsq.models.exponential, x, Y, p0=p0, kernel="per-fit")
    b = lsq.curve_fit_batch(lsq.models.exponential, x, Y, p0=p0, kernel="lanes")
    np.testing.assert_array_equal(a.status, b.status)
    assert a.status[3] == a.status[20] == -4
    _assert_same_fits(a, b, min_same_status=1.0)


def test_kernel_lanes_names_what_it_cannot_run():
    x = np.linspace(0, 1, 10)
    Y = np.ones((2, 10))
    with pytest.raises(ValueError, match="a method or damping"):
        lsq.curve_fit_batch(lsq.models.exponential, x, Y, p0=[1, 1, 0], method="gn", kernel="lanes")
    with pytest.raises(ValueError, match="no lanes kernel"):
        lsq.curve_fit_batch(lsq.model(lambda x, a, b: a * x / np.sum(x) + b), x, Y, p0=[1, 0], kernel="lanes")
    with pytest.raises(ValueError, match="finite differences"):
        lsq.curve_fit_batch(lsq.models.exponential, x, Y, p0=[1, 1, 0], jac="2-point", kernel="lanes")
    with pytest.raises(ValueError, match="linear_solver"):
        lsq.curve_fit_batch(lsq.models.exponential, x, Y, p0=[1, 1, 0], linear_solver="qr", kernel="lanes")
    with pytest.raises(ValueError, match="`kernel`"):
        lsq.curve_fit_batch(lsq.models.exponential, x, Y, p0=[1, 1, 0], kernel="simd")


def test_bounded_fits_on_the_lanes_agree_with_the_per_fit_engine():
    """Bounds that bind on many fits (the width at its lower bound, the background at its upper one) and
    bounds that never do: the active set and the step-back rule as the per-fit engine's."""
    Y, p0 = _gpufit_like(403, seed=13)
    lb = [0.0, 1.0, 1.0, 0.97, 0.0]
    ub = [np.inf, 3.0, 3.0, 5.0, 10.2]
    p0 = np.clip(p0, np.array(lb) + 0.01, np.array(ub) - 0.01)
    a = lsq.curve_fit_batch(lsq.models.gaussian_2d, PIXELS, Y, p0=p0, bounds=(lb, ub), kernel="per-fit")
    b = lsq.curve_fit_batch(lsq.models.gaussian_2d, PIXELS, Y, p0=p0, bounds=(lb, ub))  # 'auto': the lanes
    at_bound = np.isclose(a.params[:, 3], 0.97) | np.isclose(a.params[:, 4], 10.2)
    assert 0.1 < at_bound.mean() < 0.9
    _assert_same_fits(a, b, min_same_status=0.99)
    assert np.mean(a.nit == b.nit) >= 0.99
    assert np.all((b.params >= lb) & (b.params <= ub))

    x = np.linspace(0, 5, 20)
    Y = np.array([2 * np.exp(-x / t) + 1 for t in (0.5, 1.0, 2.0)])
    c = lsq.curve_fit_batch(lsq.models.exponential, x, Y, p0=[1, 1, 0], bounds=([0, 0.1, -5], [10, 10, 5]))
    np.testing.assert_allclose(c.params[:, 1], [0.5, 1.0, 2.0], rtol=1e-7)


CURVES = {
    "constant": (lambda x, c: np.full_like(x, c), [2.0]),
    "linear": (lambda x, s, b: s * x + b, [1.5, -0.5]),
    "polynomial": (lambda x, c0, c1, c2, c3: c0 + x * (c1 + x * (c2 + x * c3)), [1.0, -2.0, 0.5, 0.25]),
    "exponential": (lambda x, a, t, c: a * np.exp(-x / t) + c, [3.0, 1.2, 0.5]),
    "double_exponential": (lambda x, a1, t1, a2, t2, c: a1 * np.exp(-x / t1) + a2 * np.exp(-x / t2) + c,
                           [3.0, 0.4, 1.0, 3.0, 0.2]),
    "gaussian": (lambda x, a, mu, s, c: a * np.exp(-0.5 * ((x - mu) / s) ** 2) + c, [4.0, 2.5, 0.7, 0.3]),
    "lorentzian": (lambda x, a, mu, g, c: a / (1 + ((x - mu) / g) ** 2) + c, [4.0, 2.5, 0.5, 0.3]),
    "logistic": (lambda x, a, x0, k, c: a / (1 + np.exp(-k * (x - x0))) + c, [3.0, 2.5, 2.0, 0.5]),
    "michaelis_menten": (lambda x, vmax, km: vmax * x / (km + x), [2.0, 0.8]),
    "power_law": (lambda x, a, b: a * x ** b, [2.0, -0.7]),
    "voigt": (lambda x, a, mu, w, eta, c: a * (eta / (1 + 4 * ((x - mu) / w) ** 2)
                                              + (1 - eta) * np.exp(-4 * np.log(2) * ((x - mu) / w) ** 2)) + c,
              [4.0, 2.5, 0.9, 0.4, 0.3]),
    "sine": (lambda x, a, w, ph, c: a * np.sin(w * x + ph) + c, [2.0, 2.2, 0.4, 0.3]),
    "damped_sine": (lambda x, a, t, w, ph, c: a * np.exp(-x / t) * np.sin(w * x + ph) + c,
                    [2.0, 2.5, 2.2, 0.4, 0.3]),
}


@pytest.mark.parametrize("name", sorted(CURVES))
def test_every_lanes_model_fits_like_the_per_fit_engine(name):
    f, true = CURVES[name]
    model = lsq.models.polynomial(3) if name == "polynomial" else getattr(lsq.models, name)
    assert model.lanes_kernel() is not None
    rng = np.random.default_rng(len(name))
    x = np.linspace(0.05, 5.0, 40)
    k = 45
    truth = np.array(true) * (1 + 0.1 * rng.uniform(-1, 1, (k, len(true))))
    Y = np.array([f(x, *t) for t in truth]) + 0.01 * rng.standard_normal((k, x.size))
    p0 = truth * (1 + 0.2 * rng.uniform(-1, 1, truth.shape))
    a = lsq.curve_fit_batch(model, x, Y, p0=p0, kernel="per-fit")
    b = lsq.curve_fit_batch(model, x, Y, p0=p0, kernel="lanes")
    # at a converged point the test that stops a fit (gtol, ftol, xtol) can sit at a rounding edge, and the
    # lanes' Jacobians differ from the per-fit ones in the last bits: a converged status may differ, the
    # outcome may not
    np.testing.assert_array_equal(a.success, b.success)
    _assert_same_fits(a, b, min_same_status=0.95)
    assert b.success.mean() > 0.9
    np.testing.assert_allclose(np.median(b.params, axis=0), np.median(truth, axis=0), rtol=0.2, atol=0.05)


# ----------------------------------------------------------------------------- Poisson maximum likelihood
def _gpufit_counts(k, seed):
    """Photon counts of Gpufit-like spots (Poisson noise on the spot), starts +-10 % off."""
    rng = np.random.default_rng(seed)
    truth = np.array([500.0, 2.0, 2.0, 1.0, 10.0]) * (1 + 0.1 * rng.uniform(-1, 1, (k, 5)))
    clean = np.array([lsq.models.gaussian_2d(PIXELS, *t) for t in truth])
    return rng.poisson(clean).astype(float), truth * (1 + 0.1 * rng.uniform(-1, 1, (k, 5)))


def test_poisson_on_the_lanes_agrees_with_the_per_fit_engine():
    """Gpufit's microscopy case (counts, bright spots) and dim decays full of zero counts, where the deviance
    residuals take every form: near (``mu ~ y``), far, and ``y = 0``. (Data whose likelihood is largest where a
    mean reaches 0 are left out: the fits then crawl along that edge, where the deviance is singular, and
    stop where the last bits take them, on either engine.)"""
    counts, p0 = _gpufit_counts(203, seed=21)
    a = lsq.curve_fit_batch(lsq.models.gaussian_2d, PIXELS, counts, p0=p0, estimator="poisson", kernel="per-fit")
    b = lsq.curve_fit_batch(lsq.models.gaussian_2d, PIXELS, counts, p0=p0, estimator="poisson", kernel="lanes")
    _assert_same_fits(a, b, min_same_status=0.99)
    np.testing.assert_allclose(b.stderr[a.success & b.success], a.stderr[a.success & b.success], rtol=1e-8)
    assert b.success.mean() > 0.99

    rng = np.random.default_rng(8)
    x = np.linspace(0, 10, 40)
    tau = rng.uniform(1.0, 4.0, 64)
    counts = rng.poisson(3.0 * np.exp(-x / tau[:, None]) + 0.5).astype(float)  # a background the MLE keeps > 0
    assert np.mean(counts == 0) > 0.3
    p0 = np.column_stack([np.full(64, 2.0), np.full(64, 2.0), np.full(64, 0.3)])
    a = lsq.curve_fit_batch(lsq.models.exponential, x, counts, p0=p0, estimator="poisson", kernel="per-fit")
    b = lsq.curve_fit_batch(lsq.models.exponential, x, counts, p0=p0, estimator="poisson")  # 'auto': the lanes
    np.testing.assert_array_equal(a.success, b.success)
    _assert_same_fits(a, b, min_same_status=0.95)


def test_poisson_on_the_lanes_reports_bad_rows_like_the_per_fit_engine():
    counts, p0 = _gpufit_counts(24, seed=5)
    counts[3, 4] = -1.0  # not a count
    counts[7] = 0.0  # nothing to fit: the mean goes to zero
    a = lsq.curve_fit_batch(lsq.models.gaussian_2d, PIXELS, counts, p0=p0, estimator="poisson", kernel="per-fit")
    b = lsq.curve_fit_batch(lsq.models.gaussian_2d, PIXELS, counts, p0=p0, estimator="poisson", kernel="lanes")
    np.testing.assert_array_equal(a.status, b.status)
    assert b.status[3] == -4
