"""Two tiers from one source: every entry point answers interpreted (the kernels' own Python code) as it does
compiled, an interpreted first call compiles nothing, and the background compile runs once per environment."""

import os
import subprocess
import sys
import textwrap
import threading
import warnings

import numpy as np
import pytest
from scipy.optimize import least_squares as scipy_least_squares

import lsq
from lsq._tiers import dual, readiness, route
from lsq._tiers.current import COMPILED, INTERPRETED, running, tier
from lsq.datasets import load_nist

RTOL = 1e-8
"""The tiers run the same algorithm; they differ in the last bits of NumPy reductions against numba's loops and
of libm's ``exp`` against the vector one, which a converged fit carries far below this."""

X = np.linspace(-3, 3, 100)
Y = lsq.models.gaussian(X, 2.0, 0.3, 0.7, 0.1) + 0.01 * np.sin(7 * X)


def rosenbrock(p):
    return np.array([10 * (p[1] - p[0] ** 2), 1 - p[0]])


def gauss(x, a, m, s, c):
    return a * np.exp(-0.5 * ((x - m) / s) ** 2) + c


@lsq.model
def user_gauss(x, a, m, s, c):
    return a * np.exp(-0.5 * ((x - m) / s) ** 2) + c


def on_both(call):
    """``call()`` interpreted and compiled; both results, and the tier each says it ran on."""
    with running(INTERPRETED):
        first = call()
    with running(COMPILED):
        second = call()
    return first, second


def close(a, b, rtol=RTOL):
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = np.maximum(np.abs(b), 1e-3 * np.max(np.abs(b)))
    return np.all(np.abs(a - b) <= rtol * scale), np.max(np.abs(a - b) / scale)


LEAST_SQUARES = {
    "lm": dict(),
    "levenberg": dict(method="levenberg"),
    "gn": dict(method="gn"),
    "nielsen": dict(damping="nielsen"),
    "bounds": dict(bounds=([-2, -1], [0.9, 2])),
    "soft_l1": dict(loss="soft_l1"),
    "3-point": dict(jac="3-point"),
    "qr": dict(linear_solver="qr"),
    "secant": dict(hessian="secant"),
    "newton": dict(method="newton"),
}


@pytest.mark.parametrize("case", list(LEAST_SQUARES))
def test_least_squares_agrees_on_both_tiers(case):
    a, b = on_both(lambda: lsq.least_squares(rosenbrock, [-1.2, 1.0], **LEAST_SQUARES[case]))
    assert (a.tier, b.tier) == (INTERPRETED, COMPILED)
    ok, err = close(a.x, b.x)
    assert ok, err
    assert a.status == b.status


def test_first_order_agrees_on_both_tiers():
    a, b = on_both(lambda: lsq.least_squares(lambda p: p - [1.0, 2.0], [0.0, 0.0], method="adam", max_nfev=300,
                                             seed=0))
    assert a.tier == INTERPRETED
    np.testing.assert_allclose(a.x, b.x, rtol=RTOL)


CURVE_FITS = {
    "python": lambda: lsq.curve_fit(gauss, X, Y, p0=[1, 0, 1, 0]),
    "builtin": lambda: lsq.curve_fit(lsq.models.gaussian, X, Y, p0=[1, 0, 1, 0]),
    "user model (jets / dual numbers)": lambda: lsq.curve_fit(user_gauss, X, Y, p0=[1, 0, 1, 0]),
    "builtin, bounds": lambda: lsq.curve_fit(lsq.models.gaussian, X, Y, p0=[1, 0, 1, 0], bounds=(-5, 5)),
}


@pytest.mark.parametrize("case", list(CURVE_FITS))
def test_curve_fit_agrees_on_both_tiers(case):
    (pa, ca), (pb, cb) = on_both(CURVE_FITS[case])
    assert close(pa, pb)[0], close(pa, pb)[1]
    assert close(np.sqrt(np.diag(ca)), np.sqrt(np.diag(cb)), 1e-6)[0]


def doublet_fit():
    g = lsq.models.gaussian
    doublet = g(prefix="p1_") + g(prefix="p2_") + lsq.models.linear()
    rng = np.random.default_rng(1)
    y2 = g(X, 2.0, -1.0, 0.5, 0.0) + g(X, 1.0, 1.2, 0.5, 0.1) + 0.02 * rng.standard_normal(X.size)
    return lsq.fit(doublet, X, y2, tie={"p2_sigma": "p1_sigma"})


def poisson_fit():
    counts = np.random.default_rng(2).poisson(lsq.models.gaussian(X, 20.0, 0.0, 0.7, 2.0))
    return lsq.fit(lsq.models.gaussian, X, counts, estimator="poisson")


@pytest.mark.parametrize("call", [doublet_fit, poisson_fit, lambda: lsq.fit(user_gauss, X, Y)],
                         ids=["composite and tie", "poisson", "user model"])
def test_fit_agrees_on_both_tiers(call):
    a, b = on_both(call)
    assert (a.tier, b.tier) == (INTERPRETED, COMPILED)
    assert "interpreted" in a.report()
    assert close(a.values, b.values)[0], close(a.values, b.values)[1]
    assert close(a.errors, b.errors, 1e-6)[0]


def test_batch_agrees_on_both_tiers():
    centers = np.linspace(-1, 1, 40)
    Yb = np.array([lsq.models.gaussian(X, 2.0, c, 0.7, 0.1) for c in centers])
    Yb[3, 5] = np.nan  # one bad fit is reported in its status, on either tier
    a, b = on_both(lambda: lsq.curve_fit_batch(lsq.models.gaussian, X, Yb, kernel="per-fit"))
    assert (a.tier, b.tier) == (INTERPRETED, COMPILED)
    np.testing.assert_array_equal(a.status, b.status)
    good = a.status > 0
    assert close(a.params[good], b.params[good])[0]


def test_nist_on_the_interpreted_tier_matches_certified_values():
    """Two hard NIST problems with exact Jacobians reach their certified values interpreted (the CI's interpreted
    pass runs the whole NIST file)."""
    for name in ("MGH10", "Eckerle4"):
        p = load_nist(name)
        with running(INTERPRETED), np.errstate(all="ignore"):
            res = lsq.least_squares(p.residuals, p.start(1), jac=p.residual_jacobian, ftol=1e-15, xtol=1e-15,
                                    gtol=1e-15, max_nfev=10000)
        assert res.tier == INTERPRETED
        assert p.lre(res.x).min() >= 6, (name, res.x)


def test_dual_numbers_give_the_builtin_jacobians():
    p = [2.0, 0.3, 0.7, 0.1]
    f, jac, has_jac = user_gauss.python_kernels(1)
    assert has_jac
    out = np.empty((4, X.size))
    jac(X[None, :], np.array(p), out)
    np.testing.assert_allclose(out.T, lsq.models.gaussian.jacobian(X, *p), rtol=1e-13, atol=1e-15)


def test_dual_numbers_cover_the_jets_operations():
    """Every operation against the complex step (exact to rounding for analytic functions)."""

    def f(x, a, b):
        return (np.sin(a * x) + np.cos(b) * np.exp(-x / a) + np.log1p(a * a) * np.sqrt(b + x * x)
                + np.arctan(a * x) / (1 + b ** 2) + np.tanh(b * x) - a ** 3 + np.where(x > 0, a * x, b) + 2 ** a)

    a, b = 1.3, 0.7
    d = f(X, *dual.seeds([a, b]))
    h = 1e-30
    np.testing.assert_allclose(d.d[0], f(X, a + 1j * h, b).imag / h, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(d.d[1], f(X, a, b + 1j * h).imag / h, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(d.v, f(X, a, b), rtol=1e-15)


def test_dual_numbers_refuse_what_they_cannot_carry():
    import math

    @lsq.model
    def erf_model(x, a, b):
        return a * math.erf(b) + x

    f, jac, _ = erf_model.python_kernels(1)
    out = np.empty((2, 5))
    with pytest.warns(lsq.JetFallbackWarning, match="central differences"):
        jac(np.linspace(0, 1, 5)[None, :], np.array([2.0, 0.5]), out)
    np.testing.assert_allclose(out[0], math.erf(0.5), rtol=1e-9)
    np.testing.assert_allclose(out[1], 2.0 * 2 / math.sqrt(math.pi) * math.exp(-0.25), rtol=1e-9)


def test_threads_switching_tiers_give_the_serial_results():
    """Eight threads fit at once, half of them interpreted and half compiled, each on the tier of its own call."""
    ref = lsq.curve_fit(lsq.models.gaussian, X, Y, p0=[1, 0, 1, 0])[0]
    results, errors = {}, []

    def work(i):
        try:
            with running(INTERPRETED if i % 2 else COMPILED):
                for _ in range(5):
                    popt = lsq.curve_fit(lsq.models.gaussian, X, Y, p0=[1, 0, 1, 0])[0]
                    res = lsq.least_squares(rosenbrock, [-1.2, 1.0])
                results[i] = (popt, res.x, res.tier)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for i, (popt, x, which) in results.items():
        assert which == (INTERPRETED if i % 2 else COMPILED)
        assert close(popt, ref)[0]
        np.testing.assert_allclose(x, [1, 1], rtol=1e-7)
    assert tier() == COMPILED  # outside any call


def test_threads_fitting_while_the_path_becomes_ready(monkeypatch, tmp_path):
    """Eight threads fit on the automatic route while another marks the path ready half way: the calls before
    run interpreted, those after compiled, and every answer is the serial one."""
    monkeypatch.setattr(route.SETTINGS, "tier", "auto")
    monkeypatch.setattr(route.SETTINGS, "compile", "never")
    monkeypatch.setenv(readiness.PATHS_DIR_ENV, str(tmp_path))
    monkeypatch.setattr(readiness, "READY", set())
    monkeypatch.setattr(readiness, "LOOK_EVERY", 0.0)
    readiness.directory.cache_clear()
    ref = on_both(lambda: lsq.curve_fit(lsq.models.gaussian, X, Y, p0=[1, 0, 1, 0])[0])[1]
    seen, errors, half = [], [], threading.Barrier(9)

    def work():
        try:
            for k in range(6):
                if k == 3:
                    half.wait()  # the main thread marks the path ready here
                    half.wait()
                out = lsq.curve_fit(lsq.models.gaussian, X, Y, p0=[1, 0, 1, 0], full_output=True)
                seen.append((k >= 3, out[2]["tier"], out[0]))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        half.wait()
        readiness.mark_ready("curve_fit")
        half.wait()
        for t in threads:
            t.join()
    finally:
        readiness.directory.cache_clear()
    assert not errors, errors
    assert {(after, which) for after, which, _ in seen} == {(False, INTERPRETED), (True, COMPILED)}
    for _, _, popt in seen:
        assert close(popt, ref)[0], close(popt, ref)[1]


def test_route_chooses_by_readiness_and_size(monkeypatch, tmp_path):
    monkeypatch.setattr(route.SETTINGS, "tier", "auto")
    monkeypatch.setattr(route.SETTINGS, "compile", "never")
    monkeypatch.setenv(readiness.PATHS_DIR_ENV, str(tmp_path))
    readiness.directory.cache_clear()
    monkeypatch.setattr(readiness, "READY", set())
    try:
        assert route.choose("fit", 1000) == INTERPRETED
        assert route.choose("fit", route.interpret_limit("fit") + 1) == COMPILED  # large work compiles now
        readiness.mark_ready("fit")
        assert (tmp_path / "ready" / "fit").exists()
        assert route.choose("fit", 1000) == COMPILED
        route.configure(tier="interpreted")
        assert route.choose("fit", 10**9) == INTERPRETED
        with pytest.raises(ValueError, match="`tier` must be one of"):
            route.configure(tier="fast")
    finally:
        readiness.directory.cache_clear()


def test_an_unwritable_marker_directory_warns_once_and_interprets(monkeypatch, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    monkeypatch.setattr(route.SETTINGS, "tier", "auto")
    monkeypatch.setattr(route.SETTINGS, "compile", "background")
    monkeypatch.setenv(readiness.PATHS_DIR_ENV, str(blocked / "sub"))
    monkeypatch.setattr(readiness, "READY", set())
    readiness.directory.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="cannot write its compile markers"):
            assert route.choose("least_squares", 100) == INTERPRETED
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert route.choose("least_squares", 100) == INTERPRETED  # no second warning, no error
    finally:
        readiness.directory.cache_clear()


FIRST_CALLS = textwrap.dedent("""
    import numpy as np
    from numba.core import event
    compiled = []
    class Listener(event.Listener):
        def on_start(self, ev):
            compiled.append(str(ev.data.get("dispatcher")))
        def on_end(self, ev):
            pass
    event.register("numba:compile", Listener())
    import lsq
    x = np.linspace(-3, 3, 80)
    y = lsq.models.gaussian(x, 2.0, 0.3, 0.7, 0.1) + 0.05 * np.random.default_rng(0).standard_normal(80)
    tiers = [lsq.least_squares(lambda p: [10 * (p[1] - p[0]**2), 1 - p[0]], [-1.2, 1.0]).tier]
    lsq.curve_fit(lambda x, a, m, s, c: a * np.exp(-0.5 * ((x - m) / s) ** 2) + c, x, y, p0=[1, 0, 1, 0])
    r = lsq.fit(lsq.models.gaussian, x, y)
    tiers.append(r.tier)
    r.report()
    lsq.curve_fit(lsq.models.gaussian, x, y, p0=[1, 0, 1, 0])
    @lsq.model
    def decay(x, a, k, c):
        return a * np.exp(-k * x) + c
    lsq.curve_fit(decay, x, np.exp(-x), p0=[1.0, 1.0, 0.0])
    g = lsq.models.gaussian
    doublet = g(prefix="p1_") + g(prefix="p2_") + lsq.models.linear()
    y2 = g(x, 2.0, -1.0, 0.5, 0.0) + g(x, 1.0, 1.2, 0.5, 0.1)
    tiers.append(lsq.fit(doublet, x, y2, tie={"p2_sigma": "p1_sigma"}).tier)
    tiers.append(lsq.fit(g, x, np.random.default_rng(2).poisson(g(x, 20.0, 0.0, 0.7, 2.0)),
                         estimator="poisson").tier)
    Y = np.array([g(x, 2.0, c, 0.7, 0.1) for c in np.linspace(-1, 1, 50)])
    tiers.append(lsq.curve_fit_batch(g, x, Y).tier)
    tiers.append(lsq.least_squares(lambda p: p - [1.0, 2.0], [0.0, 0.0], method="adam", max_nfev=100).tier)
    print(sorted(set(tiers)), len(compiled), compiled[:3])
""")


def test_a_first_call_in_a_fresh_process_compiles_nothing(tmp_path):
    """Every entry point, in a fresh process with an empty cache and no background compile: interpreted, and numba
    compiles no function at all (a compile would show as an event)."""
    env = dict(os.environ, LSQ_TIER="auto", LSQ_COMPILE="never", NUMBA_CACHE_DIR=str(tmp_path / "cache"),
               **{readiness.PATHS_DIR_ENV: str(tmp_path / "tiers")})
    out = subprocess.run([sys.executable, "-c", FIRST_CALLS], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().startswith("['interpreted'] 0 []"), out.stdout


def test_processes_started_together_compile_once(tmp_path):
    """Eight processes make a first call at once: one background compile runs, for the path all of them asked
    for, and every later call finds it ready."""
    tiers_dir = tmp_path / "tiers"
    env = dict(os.environ, LSQ_TIER="auto", LSQ_COMPILE="background", **{readiness.PATHS_DIR_ENV: str(tiers_dir)})
    src = ("import lsq, numpy as np\n"
           "r = lsq.least_squares(lambda p: p - [1.0, 2.0], [0.0, 0.0], method='adam', max_nfev=50)\n"
           "from lsq._tiers import readiness\nprint(r.tier)\n")
    procs = [subprocess.Popen([sys.executable, "-c", src], env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(8)]
    outs = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert all(o == INTERPRETED for o in outs), outs
    wait = "from lsq._tiers import readiness\nprint(readiness.wait(600))\n"
    assert subprocess.run([sys.executable, "-c", wait], env=env, capture_output=True, text=True,
                          timeout=700).stdout.strip() == "True"
    log = (tiers_dir / "compiled.log").read_text().split()
    assert log.count("first_order") == 1, log
    assert (tiers_dir / "ready" / "first_order").exists()
    status = subprocess.run([sys.executable, "-m", "lsq.compile", "--status"], env=env, capture_output=True,
                            text=True, timeout=120).stdout
    assert "first_order: cached" in status and "batch: missing" in status, status
    again = subprocess.run([sys.executable, "-c", src], env=env, capture_output=True, text=True, timeout=300)
    assert again.stdout.strip() == COMPILED, again.stderr[-2000:]


def test_interpreted_least_squares_matches_scipy():
    with running(INTERPRETED):
        res = lsq.least_squares(rosenbrock, [-1.2, 1.0])
    ref = scipy_least_squares(rosenbrock, [-1.2, 1.0], method="lm")
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-7)


def test_a_twin_reached_first_is_the_one_its_siblings_call():
    """Whichever kernel of a module is twinned first, every twin of that module calls the same twin of it (a
    placeholder left in the module's twin globals would run with no globals at all)."""
    src = ("from lsq._tiers.twin import interpreted\n"
           "from lsq._kernels.drivers import compiled as c\n"
           "r = interpreted(c.residuals_into)\n"
           "t = interpreted(c.trial_residuals_into)\n"
           "print(t.__globals__['residuals_into'] is r and 'ESTIMATOR_POISSON' in r.__globals__)\n")
    out = subprocess.run([sys.executable, "-c", src], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "True", out.stderr[-2000:]
