"""Parameter ties in ``lsq.fit``: expressions applied in compiled code, derived standard errors, clear errors."""

import numpy as np
import pytest

import lsq
from lsq.ties import TiedModel

g = lsq.models.gaussian
DOUBLET = g(prefix="p1_") + g(prefix="p2_") + lsq.models.constant
X = np.linspace(0, 10, 300)
TRUTH = np.array([3.0, 4.0, 0.6, 2.0, 5.5, 0.6, 0.5])
Y = DOUBLET(X, *TRUTH) + np.random.default_rng(1).normal(0, 0.03, X.size)
TIE = {"p2_sigma": "p1_sigma", "p2_center": "p1_center + 1.5"}
START = {"p1_amplitude": 2.0, "p1_center": 3.8, "p1_sigma": 0.5, "p2_amplitude": 1.5, "c": 0.4}


@lsq.model
def doublet_by_hand(x, a1, c1, s1, a2, c):
    return a1 * np.exp(-0.5 * ((x - c1) / s1) ** 2) + a2 * np.exp(-0.5 * ((x - c1 - 1.5) / s1) ** 2) + c


def test_a_tied_fit_is_the_fit_of_the_constrained_model_with_derived_errors():
    r = lsq.fit(DOUBLET, X, Y, p0=START, tie=TIE)
    hand = lsq.fit(doublet_by_hand, X, Y, p0=list(START.values()))
    assert r.success and r.n_free == 5 and r.dof == X.size - 5
    free = [0, 1, 2, 3, 6]
    np.testing.assert_allclose(r.values[free], hand.values, rtol=1e-7)
    np.testing.assert_allclose(r.errors[free], hand.errors, rtol=1e-5)
    # tied parameters: their expressions' values, and the standard errors they inherit
    assert r.params["p2_center"] == pytest.approx(r.params["p1_center"] + 1.5, rel=1e-15)
    assert r.params["p2_sigma"] == r.params["p1_sigma"]
    assert r.stderr["p2_center"] == pytest.approx(r.stderr["p1_center"], rel=1e-12)
    assert r.corr[2, 5] == pytest.approx(1.0)
    assert "(tied: p1_center + 1.5)" in r.report()
    assert "p1_center + 1.5" in r._repr_html_()
    # a plain Python model takes the same ties (expanded in Python): the same fit
    def doublet(x, a1, c1, s1, a2, c2, s2, c):
        return a1 * np.exp(-0.5 * ((x - c1) / s1) ** 2) + a2 * np.exp(-0.5 * ((x - c2) / s2) ** 2) + c

    rp = lsq.fit(doublet, X, Y, p0=[2.0, 3.8, 0.5, 1.5, 5.0, 0.5, 0.4], tie={"s2": "s1", "c2": "c1 + 1.5"})
    np.testing.assert_allclose(rp.values, r.values, rtol=1e-7)
    np.testing.assert_allclose(rp.errors, r.errors, rtol=1e-5)


def test_a_scaled_tie_scales_the_standard_error_and_the_jacobian_is_exact():
    r = lsq.fit(DOUBLET, X, Y, p0=START, tie={"p2_sigma": "1.0 * p1_sigma", "p2_center": "p1_center + 1.5",
                                               "p2_amplitude": "2 * p1_amplitude / 3"})
    assert r.stderr["p2_amplitude"] == pytest.approx(2 / 3 * r.stderr["p1_amplitude"], rel=1e-12)
    tied = TiedModel(lsq.models.exponential, {"decay": "sqrt(exp(log(amplitude) * 2) + sin(offset) ** 2) / "
                                                       "(1 + arctan(offset) - cos(offset) + tan(0.1 * offset))"})
    q = np.array([1.7, 0.4])
    h = 1e-6
    fd = np.column_stack([(tied.expand(q + h * e) - tied.expand(q - h * e)) / (2 * h) for e in np.eye(2)])
    np.testing.assert_allclose(tied.expand_jacobian(q), fd, rtol=1e-8, atol=1e-10)
    x = np.linspace(0, 3, 20)
    Jfd = np.column_stack([(tied(x, *(q + h * e)) - tied(x, *(q - h * e))) / (2 * h) for e in np.eye(2)])
    np.testing.assert_allclose(tied.jacobian(x, *q), Jfd, rtol=1e-7, atol=1e-9)


def test_ties_combine_with_fixed_parameters_bounds_poisson_and_profiles():
    rng = np.random.default_rng(4)
    counts = rng.poisson(DOUBLET(X, 30.0, 4.0, 0.6, 20.0, 5.5, 0.6, 2.0)).astype(float)
    start = {"p1_amplitude": 25.0, "p1_center": 3.9, "p1_sigma": 0.5, "p2_amplitude": 15.0, "c": 1.5}
    r = lsq.fit(DOUBLET, X, counts, p0=start, tie=TIE, estimator="poisson", fixed={"c": 2.0},
                bounds={"p1_sigma": (0.1, 2.0)})
    assert r.success and r.n_free == 4 and r.params["c"] == 2.0
    assert r.params["p2_sigma"] == r.params["p1_sigma"]
    profile = r.profile("p1_sigma", n_points=9)
    lo, hi = profile.interval
    assert lo < r.params["p1_sigma"] < hi
    with pytest.raises(ValueError, match="is tied"):
        r.profile("p2_sigma")


@pytest.mark.parametrize("kwargs, message", [
    (dict(tie={"p2_sigma": "p9_sigma"}), "'p9_sigma' is not a parameter of the model"),
    (dict(tie={"width": "p1_sigma"}), r"`tie` names unknown parameters \['width'\]"),
    (dict(tie={"p2_sigma": "p2_center / 9", "p2_center": "p2_sigma * 9"}),
     "`tie` is circular: p2_sigma -> p2_center -> p2_sigma"),
    (dict(tie={"p2_sigma": "__import__('os')"}), "only .* of one argument may be called"),
    (dict(tie={"p2_sigma": "p1_sigma if c else 1"}), "IfExp is not allowed"),
    (dict(tie={"p2_sigma": "p1_sigma +"}), "cannot parse"),
    (dict(tie=TIE, bounds={"p2_sigma": (0, 1)}), r"`bounds` names tied parameters \['p2_sigma'\]"),
    (dict(tie=TIE, fixed=["p2_center"]), r"`fixed` names tied parameters \['p2_center'\]"),
])
def test_bad_ties_are_errors_that_name_them(kwargs, message):
    with pytest.raises(ValueError, match=message):
        lsq.fit(DOUBLET, X, Y, p0=TRUTH, **kwargs)


def test_a_tie_chain_resolves_in_order():
    r = lsq.fit(DOUBLET, X, Y, p0=START, tie={"p2_center": "p2_sigma + 4.9", "p2_sigma": "p1_sigma"})
    assert r.params["p2_center"] == pytest.approx(r.params["p1_sigma"] + 4.9, rel=1e-15)
    assert r.success
