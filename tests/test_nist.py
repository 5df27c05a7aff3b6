"""NIST StRD: certified parameter values, both starting points, exact and finite-difference Jacobians."""

import functools

import numpy as np
import pytest

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
    """DESIGN.md target: mean LRE >= 9.9 over the 54 runs (optimistix LM 9.75, SciPy trf 9.43, Ceres 9.4)."""
    lre = []
    with np.errstate(all="ignore"):
        for name, start in RUNS:
            p = load_nist(name)
            lre.append(p.lre(fit(p, start, exact=True).x).min())
    assert np.mean(lre) >= 9.9, np.round(lre, 1)


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
    """More LRE >= 4 runs than SciPy (45-46 of 54 in the same benchmark run)."""
    assert default_fd_lre4_count() >= 47


@pytest.mark.xfail(strict=True, reason="known gap: DESIGN.md target is 52/54, lsq reaches 47/54 today")
def test_default_fd_jacobian_target():
    assert default_fd_lre4_count() >= 52


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
