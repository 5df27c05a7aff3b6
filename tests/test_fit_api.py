"""lsq.fit / FitResult / curve_fit uncertainties (NIST certified standard deviations), bands, report, plot, CLI."""

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import lsq
from lsq.cli import main as cli_main
from lsq.datasets import load_nist, nist_names

DATA = Path(__file__).parent / "data" / "peak.csv"


def lre(value, certified):
    with np.errstate(divide="ignore"):
        return np.minimum(-np.log10(np.abs(value - certified) / np.abs(certified)), 15.0)


# Lanczos1's certified residual sum of squares is 1.4e-25: its residuals (~1e-13 of the data) are at the
# rounding level of double precision, so the RSS, and with it every standard deviation, can only be
# reproduced to ~3 digits (SciPy's trf and lm give the same ratio, 0.9991, in the same test).
STD_GAPS = {"Lanczos1"}


@pytest.mark.parametrize("name", nist_names())
def test_nist_parameters_and_standard_errors_match_certified_values(name, request):
    if name in STD_GAPS:
        request.applymarker(pytest.mark.xfail(strict=True, reason="RSS below double-precision rounding"))
    p = load_nist(name)

    def f(x, *b):
        return p.model(x, np.asarray(b))

    def jac(x, *b):
        return p.jacobian(x, np.asarray(b))

    with np.errstate(all="ignore"):
        popt, pcov = lsq.curve_fit(f, p.x, p.y, p0=p.start(2), jac=jac, ftol=1e-15, xtol=1e-15, gtol=1e-15,
                                   max_nfev=5000)
    assert lre(popt, p.certified).min() >= 6
    assert lre(np.sqrt(np.diag(pcov)), p.certified_std).min() >= 4


@pytest.mark.parametrize("name", nist_names())
def test_nist_standard_errors_with_default_settings(name):
    """The everyday call, ``curve_fit(f, x, y, p0)`` with forward differences, from start 2: the benchmark's
    target is LRE >= 4 (>= 3 on Lanczos1, whose residuals sit at rounding); here with a margin for other
    CPUs' arithmetic. The Jacobian is the one at the returned point, and the chi-square the linearised
    minimum's, without which Lanczos1 gives 2.4 and MGH09, Thurber, Bennett5 3.9."""
    p = load_nist(name)

    def f(x, *b):
        return p.model(x, np.asarray(b))

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        popt, pcov = lsq.curve_fit(f, p.x, p.y, p0=p.start(2))
    assert lre(np.sqrt(np.diag(pcov)), p.certified_std).min() >= (2.9 if name == "Lanczos1" else 3.5)


def test_the_returned_jacobian_belongs_to_the_returned_point():
    x = np.linspace(0, 4, 40)
    y = 3 * np.exp(-x / 1.5) + 1 + 0.01 * np.random.default_rng(2).standard_normal(x.size)
    res = lsq.least_squares(lsq.models.exponential.residuals(x, y), [1.0, 1.0, 0.0])
    np.testing.assert_array_equal(res.jac, lsq.models.exponential.jacobian(x, *res.x))
    # (at a minimum g is a sum that cancels: equal up to rounding of |J| |f|)
    np.testing.assert_allclose(res.grad, res.jac.T @ res.fun, rtol=0,
                               atol=1e-14 * np.linalg.norm(res.jac) * np.linalg.norm(res.fun))


def _exponential_data():
    x = np.linspace(0, 4, 40)
    return x, 3 * np.exp(-x / 1.5) + 1 + 0.01 * np.random.default_rng(2).standard_normal(x.size)


def _fresh_forward_differences(fun, x):
    """A forward-difference Jacobian at ``x`` with MINPACK's step (the one the fit uses)."""
    f0 = fun(x)
    h = np.sqrt(np.finfo(float).eps) * np.where(x != 0, np.abs(x), 1.0)
    return np.column_stack([(fun(x + h[j] * np.eye(x.size)[j]) - f0) / h[j] for j in range(x.size)])


def test_finite_difference_jacobian_at_the_returned_point_costs_no_evaluations():
    """With forward differences the Jacobian at the point of the final step is the last one updated along
    it (Broyden): as good as differences taken there (their own error is ~1e-8 of J), for no calls of f."""
    x = np.linspace(-5, 5, 100)
    y = lsq.models.gaussian(x, 3.0, 0.4, 1.2, 0.5) + 0.05 * np.random.default_rng(0).standard_normal(x.size)

    def fun(p):
        return p[0] * np.exp(-0.5 * ((x - p[1]) / p[2]) ** 2) + p[3] - y

    res = lsq.least_squares(fun, [2.0, 0.0, 1.0, 0.0])
    assert res.success
    assert res.cost < res.history["cost"][-1]  # a final step was kept: x is past the last linearisation
    assert res.njev == len(res.history["cost"])  # J evaluated at each linearisation, not at x
    assert res.ncalls == res.nfev + res.x.size * res.njev
    fresh = _fresh_forward_differences(fun, res.x)
    np.testing.assert_allclose(res.jac, fresh, rtol=0, atol=1e-6 * np.abs(fresh).max())
    exact = lsq.models.gaussian.jacobian(x, *res.x)
    np.testing.assert_allclose(res.jac, exact, rtol=0, atol=1e-6 * np.abs(exact).max())
    np.testing.assert_allclose(res.grad, res.jac.T @ res.fun, rtol=0,
                               atol=1e-14 * np.linalg.norm(res.jac) * np.linalg.norm(res.fun))


def test_compiled_model_without_jacobian_gives_the_same_covariance_as_python():
    """A compiled model without a Jacobian takes the same finite differences and final update as the Python
    driver: the curve_fit covariances of the two agree to the differences' accuracy."""
    x, y = _exponential_data()

    @lsq.model
    def decay(x, a, tau, c):
        return a * np.exp(-x / tau) + c

    popt_c, pcov_c = lsq.curve_fit(decay, x, y, p0=[1.0, 1.0, 0.0])
    popt_p, pcov_p = lsq.curve_fit(decay.py_func, x, y, p0=[1.0, 1.0, 0.0])
    popt_a, pcov_a = lsq.curve_fit(lsq.models.exponential, x, y, p0=[1.0, 1.0, 0.0])  # analytic J
    # numba's exp and NumPy's differ in the last bits, so the two fits stop apart by their tolerances (1e-8)
    np.testing.assert_allclose(popt_c, popt_p, rtol=1e-7)
    np.testing.assert_allclose(pcov_c, pcov_p, rtol=1e-5)
    np.testing.assert_allclose(pcov_c, pcov_a, rtol=1e-5)


def gaussian_data(seed, sigma=0.05):
    rng = np.random.default_rng(seed)
    x = np.linspace(-3, 3, 40)
    truth = np.array([2.0, 0.3, 0.8, 0.2])
    return x, truth, lsq.models.gaussian(x, *truth) + sigma * rng.standard_normal(x.size)


def test_confidence_band_coverage_is_near_nominal():
    xs = np.linspace(-3, 3, 50)
    covered = []
    for seed in range(300):
        x, truth, y = gaussian_data(seed)
        r = lsq.fit(lsq.models.gaussian, x, y)
        lo, hi = r.confidence_band(xs, 0.95)
        true_curve = lsq.models.gaussian(xs, *truth)
        covered.append(np.mean((lo <= true_curve) & (true_curve <= hi)))
    assert 0.90 <= np.mean(covered) <= 0.99


def test_fit_result_statistics_agree_with_curve_fit():
    x, truth, y = gaussian_data(1)
    sigma = np.full(x.size, 0.05)
    tight = dict(ftol=1e-14, xtol=1e-14, gtol=1e-14)
    r = lsq.fit(lsq.models.gaussian, x, y, sigma=sigma, **tight)
    popt, pcov = lsq.curve_fit(lsq.models.gaussian, x, y, p0=r.values, sigma=sigma, **tight)
    np.testing.assert_allclose(r.values, popt, rtol=1e-7)
    np.testing.assert_allclose(r.cov, pcov, rtol=1e-5)
    resid = (y - lsq.models.gaussian(x, *r.values)) / sigma
    assert r.chisqr == pytest.approx(np.sum(resid**2))
    assert r.redchi == pytest.approx(r.chisqr / (x.size - 4))
    assert 0.99 < r.r_squared <= 1
    assert r.aic == pytest.approx(x.size * np.log(r.chisqr / x.size) + 8)
    assert r.bic == pytest.approx(x.size * np.log(r.chisqr / x.size) + 4 * np.log(x.size))
    np.testing.assert_allclose(np.diag(r.corr), 1.0)
    assert set(r.params) == {"amplitude", "center", "sigma", "offset"}


def test_absolute_sigma_matches_scipy_semantics():
    x, truth, y = gaussian_data(2)
    sigma = np.full(x.size, 0.5)
    rel = lsq.fit(lsq.models.gaussian, x, y, sigma=sigma)
    ab = lsq.fit(lsq.models.gaussian, x, y, sigma=sigma, absolute_sigma=True)
    np.testing.assert_allclose(rel.cov, ab.cov * rel.redchi, rtol=1e-10)


def test_report_lists_every_parameter_value_and_stderr():
    x, truth, y = gaussian_data(3)
    r = lsq.fit(lsq.models.gaussian, x, y)
    text = r.report(min_correl=0.0)
    for name, value in r.params.items():
        assert name in text
        assert f"{value:.8g}" in text
        assert f"{r.stderr[name]:.8g}" in text
    assert "[[Correlations]]" in text and "C(" in text


def test_fixed_parameters_dict_p0_and_named_bounds():
    x, truth, y = gaussian_data(4)
    r = lsq.fit(lsq.models.gaussian, x, y, p0={"amplitude": 1.5}, fixed={"offset": 0.2},
                bounds={"sigma": (0.1, 0.7)})
    assert r.params["offset"] == 0.2 and r.stderr["offset"] == 0.0
    assert r.params["sigma"] == pytest.approx(0.7)
    assert r.n_free == 3
    assert "(fixed)" in r.report()
    with pytest.raises(ValueError, match="unknown parameters"):
        lsq.fit(lsq.models.gaussian, x, y, fixed={"width": 1.0})
    with pytest.raises(ValueError, match="`p0` is outside of `bounds`"):
        lsq.fit(lsq.models.gaussian, x, y, p0=[2, 0, 5, 0], bounds={"sigma": (0.1, 0.7)})


def test_plain_python_model_and_predict():
    x = np.linspace(0, 2, 30)

    def line(x, slope, intercept):
        return slope * x + intercept

    r = lsq.fit(line, x, 3 * x - 1)
    assert r.params == pytest.approx({"slope": 3.0, "intercept": -1.0})
    np.testing.assert_allclose(r.predict([0.0, 1.0]), [-1.0, 2.0])


def test_plot_writes_a_png(tmp_path):
    x, truth, y = gaussian_data(5)
    fig = lsq.fit(lsq.models.gaussian, x, y, sigma=np.full(x.size, 0.05)).plot()
    out = tmp_path / "fit.png"
    fig.savefig(out)
    assert out.stat().st_size > 10_000
    assert len(fig.axes) == 2


def test_cli_fits_a_csv_and_writes_the_plot(tmp_path, capsys):
    out = tmp_path / "fit.png"
    rc = cli_main(["fit", str(DATA), "--model", "gaussian", "--x", "time", "--y", "signal", "--sigma", "err",
                   "--p0", "amplitude=2,center=1", "--plot", str(out)])
    text = capsys.readouterr().out
    assert rc == 0
    for name in ("amplitude", "center", "sigma", "offset"):
        assert name in text
    assert out.stat().st_size > 10_000


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fit", "missing.csv", "--model", "gaussian"], "cannot read data file"),
        (["fit", str(DATA), "--model", "gauss"], "unknown model 'gauss'"),
        (["fit", str(DATA), "--model", "gaussian", "--y", "nope"], "unknown y column 'nope'"),
        (["fit", str(DATA), "--model", "gaussian", "--x", "7"], "x column index 7 out of range"),
        (["fit", str(DATA), "--model", "gaussian", "--p0", "width=1"], "unknown parameter 'width'"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(argv, message, capsys):
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_console_script_runs_end_to_end():
    proc = subprocess.run([sys.executable, "-m", "lsq.cli", "fit", str(DATA), "--model", "gaussian", "--x", "0",
                           "--y", "1"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "[[Variables]]" in proc.stdout


X_DECAY = np.linspace(0, 4, 50)
Y_DECAY = 2.0 * np.exp(-0.7 * X_DECAY) + 0.01 * np.random.default_rng(0).standard_normal(50)


@lsq.model
def _product(x, a, b, k):
    return a * b * np.exp(-k * x)


@lsq.model
def _sum_offset(x, a, k, c1, c2):
    return a * np.exp(-k * x) + c1 + c2


@lsq.model
def _unused(x, a, k, c):
    return a * np.exp(-k * x) + 0.0 * c


def _two_rates_jacobian(x, a, k1, k2):
    e = np.exp(-(k1 + k2) * x)
    return np.stack((e, -a * x * e, -a * x * e), axis=1)


# With finite differences the fit drifts along the flat direction k1 - k2 (to k1 = 440, k2 = -439.6 with the
# vectorisable exp, where k1 + k2 = 0.7 is a difference of large numbers), and the differences of the two
# columns then differ by 3e-6 of their size: above the rank threshold, so the two rates get large finite error
# bars (307, for values of 440) instead of none. The analytic Jacobian states what the model is.
@lsq.model(jac=_two_rates_jacobian)
def _two_rates(x, a, k1, k2):
    return a * np.exp(-(k1 + k2) * x)


@pytest.mark.parametrize("model, p0, lost, kept", [
    (_product, [1.0, 1.0, 1.0], {"a", "b"}, {"k"}),
    (_sum_offset, [1.0, 1.0, 0.0, 0.0], {"c1", "c2"}, {"a", "k"}),
    (_unused, [1.0, 1.0, 0.5], {"c"}, {"a", "k"}),
    (_two_rates, [1.0, 0.3, 0.3], {"k1", "k2"}, {"a"}),
], ids=["product", "sum", "unused", "sum-in-exponent"])
def test_no_error_bar_for_what_the_data_cannot_determine(model, p0, lost, kept):
    r = lsq.fit(model, X_DECAY, Y_DECAY, p0=p0)
    assert r.success
    for name in lost:
        assert r.stderr[name] == np.inf
        assert name in " ".join(r.diagnostics)
    for name in kept:
        assert np.isfinite(r.stderr[name]) and r.stderr[name] < 0.1
    assert r.condition_number > 1e6
    assert "[[Diagnostics]]" in r.report() and "not identifiable" in r.report()
    # the same model and data through curve_fit: SciPy's rule (inf or a huge pseudo-inverse), never a tight bar
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, pcov = lsq.curve_fit(model, X_DECAY, Y_DECAY, p0=p0)
    names = list(model.param_names)
    assert all(not np.sqrt(pcov[names.index(nm), names.index(nm)]) < 1.0 for nm in lost)


@lsq.model
def _bennett5(x, b1, b2, b3):
    return b1 * (b2 + x) ** (-1 / b3)


def test_a_well_posed_fit_has_no_diagnostics_and_nist_stays_far_from_the_threshold():
    x = np.linspace(-3, 3, 80)
    y = lsq.models.gaussian(x, 2.0, 0.3, 0.7, 0.1) + 0.05 * np.random.default_rng(1).standard_normal(80)
    r = lsq.fit(lsq.models.gaussian, x, y, p0=[1.5, 0.0, 1.0, 0.0])
    assert r.diagnostics == [] and r.condition_number < 100
    p = load_nist("Bennett5")  # the largest scaled condition number of the 27 at its certified values (6e4)
    r = lsq.fit(_bennett5, p.x, p.y, p0=p.start(2))
    assert np.isfinite(r.errors).all() and not any("not identifiable" in d for d in r.diagnostics)
    assert any("nearly interchangeable (correlation -0.99" in d for d in r.diagnostics)  # certified: -0.9999
    assert not any("ill-conditioned" in d for d in r.diagnostics)
    np.testing.assert_allclose(r.errors, p.certified_std, rtol=1e-3)


def test_an_ill_conditioned_but_determined_fit_says_so():
    # two exponentials with close rates: determined, but a scaled condition number of 6e5
    @lsq.model
    def two_decays(x, a1, k1, a2, k2):
        return a1 * np.exp(-k1 * x) + a2 * np.exp(-k2 * x)

    x = np.linspace(0, 4, 200)
    y = two_decays(x, 1.0, 1.0, 1.0, 1.05)
    r = lsq.fit(two_decays, x, y, p0=[1.1, 0.9, 0.9, 1.1])
    assert np.isfinite(r.errors).all()
    assert 1e5 <= r.condition_number < 1e6
    assert any(d.startswith("The fit is ill-conditioned (scaled condition number") for d in r.diagnostics)


def test_profile_of_a_linear_model_is_the_standard_error_interval():
    from scipy import stats

    rng = np.random.default_rng(0)
    x = np.linspace(0, 1, 40)
    y = 2 * x + 1 + 0.1 * rng.standard_normal(40)
    r = lsq.fit(lsq.models.linear, x, y, p0=[1, 0], sigma=np.full(40, 0.1), absolute_sigma=True)
    p = r.profile("slope", level=0.6827)
    q = stats.norm.ppf(0.5 + 0.6827 / 2)
    np.testing.assert_allclose(p.interval, [r.values[0] - q * r.errors[0], r.values[0] + q * r.errors[0]], rtol=1e-9)
    r = lsq.fit(lsq.models.linear, x, y, p0=[1, 0])  # sigma unknown: the F(1, dof) threshold, Student's t
    p = r.profile("intercept")
    t = stats.t.ppf(0.975, r.dof)
    np.testing.assert_allclose(p.interval, [r.values[1] - t * r.errors[1], r.values[1] + t * r.errors[1]], rtol=1e-9)


def test_profile_of_a_nonlinear_model_is_asymmetric_and_plots():
    rng = np.random.default_rng(0)
    x = np.linspace(0, 5, 30)
    y = 3 * np.exp(-x / 1.5) + 0.05 * rng.standard_normal(30)
    r = lsq.fit(lsq.models.exponential, x, y, p0=[1, 1, 0])
    p = r.profile(r.names[1], n_points=15)
    lower, upper = p.interval
    assert lower < p.best < upper
    assert upper - p.best > 1.05 * (p.best - lower)  # the decay time's profile rises more slowly upwards
    assert np.all(p.delta >= 0) and p.delta[len(p.delta) // 2] < 1e-6  # the middle point is the best fit
    fig = p.plot()
    assert [line.get_ydata()[0] for line in fig.axes[0].lines if line.get_linestyle() == "--"] == [p.threshold]
    with pytest.raises(ValueError, match="name"):
        r.profile("nope")
    fixed = lsq.fit(lsq.models.exponential, x, y, p0=[1, 1, 0], fixed={"offset": 0.0})
    with pytest.raises(ValueError, match="fixed"):
        fixed.profile("offset")


def test_fit_result_shows_itself_as_an_html_table():
    x = np.linspace(0, 4, 50)
    y = 2.0 * np.exp(-0.7 * x) + 0.01 * np.random.default_rng(0).standard_normal(50)
    r = lsq.fit(lsq.models.exponential, x, y, p0=[1, 1, 0], bounds={"offset": (-1, 1)})
    page = r._repr_html_()
    for name in r.names:
        assert f"<td>{name}</td>" in page
    assert "[-1, 1]" in page and "<th>stderr</th>" in page
    bad = lsq.fit(_product, X_DECAY, Y_DECAY, p0=[1.0, 1.0, 1.0])
    assert "Diagnostics" in bad._repr_html_() and "not identifiable" in bad._repr_html_()
