"""NIST StRD: certified parameter values, both starting points, exact and finite-difference Jacobians."""

import functools

import numpy as np
import pytest
from scipy.optimize import least_squares as scipy_least_squares

import lsq
from lsq.datasets import load_nist, nist_names

RUNS = [(name, start) for name in nist_names() for start in (1, 2)]


def fit(p, start, exact, **kw):
    if exact:
        kw.update(jac=p.residual_jacobian, ftol=1e-15, xtol=1e-15, gtol=1e-15, max_nfev=10000)
    return lsq.least_squares(p.residuals, p.start(start), **kw)


@pytest.mark.parametrize(("name", "start"), RUNS)
def test_exact_jacobian_reaches_six_digits(name, start):
    p = load_nist(name)
    with np.errstate(all="ignore"):
        res = fit(p, start, exact=True)
    assert res.success
    assert p.lre(res.x).min() >= 6, (res.x, p.certified)


def test_exact_jacobian_mean_lre():
    """Mean LRE over the 54 runs above SciPy trf's in the same run, and >= 9.5 (the DESIGN.md target, 9.9,
    is a benchmark figure: the last digits differ between CPUs, so the unit test keeps a margin)."""
    lre, ref = [], []
    with np.errstate(all="ignore"):
        for name, start in RUNS:
            p = load_nist(name)
            lre.append(p.lre(fit(p, start, exact=True).x).min())
            kw = dict(jac=p.residual_jacobian, ftol=1e-15, xtol=1e-15, gtol=1e-15, max_nfev=10000, method="trf")
            ref.append(p.lre(scipy_least_squares(p.residuals, p.start(start), **kw).x).min())
    assert np.mean(lre) >= 9.5, np.round(lre, 1)
    assert np.mean(lre) > np.mean(ref), (np.mean(lre), np.mean(ref))


@functools.cache
def default_fd_lre4_count():
    """Runs (of 54) reaching LRE >= 4 with the default 2-point Jacobian and default tolerances."""
    good = 0
    with np.errstate(all="ignore"):
        for name, start in RUNS:
            p = load_nist(name)
            good += p.lre(fit(p, start, exact=False).x).min() >= 4
    return good


def test_default_fd_jacobian_count():
    """More LRE >= 4 runs than SciPy's lm in the same run (45 of 54), and >= 48 (the DESIGN.md target, 50,
    is a benchmark figure; the unit test keeps a margin of two runs for rounding between CPUs)."""
    ref = 0
    with np.errstate(all="ignore"):
        for name, start in RUNS:
            p = load_nist(name)
            ref += p.lre(scipy_least_squares(p.residuals, p.start(start), method="lm").x).min() >= 4
    assert default_fd_lre4_count() >= 48
    assert default_fd_lre4_count() > ref


@pytest.mark.parametrize("name", nist_names())
def test_exact_jacobians_match_finite_differences(name):
    p = load_nist(name)
    b = p.certified
    J = p.residual_jacobian(b)
    Jc = np.empty_like(J)
    h = 1e-30  # complex step: exact to rounding, no cancellation
    for j in range(b.size):
        e = np.zeros(b.size, dtype=complex)
        e[j] = 1j * h
        Jc[:, j] = p.residuals(b + e).imag / h
    np.testing.assert_allclose(J, Jc, rtol=1e-9, atol=1e-12 * np.abs(J).max())


@pytest.mark.parametrize("name", nist_names())
def test_certified_rss(name):
    p = load_nist(name)
    rss = float(np.sum(p.residuals(p.certified) ** 2))
    if name == "Lanczos1":  # needs extended precision, see the data README
        assert rss < 1e-19
    else:
        np.testing.assert_allclose(rss, p.certified_rss, rtol=1e-6)


def test_load_nist_errors():
    with pytest.raises(ValueError, match="`name`"):
        load_nist("Nope")
    assert len(nist_names()) == 27
    assert load_nist("misra1a").name == "Misra1a"
