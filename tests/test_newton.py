"""Second-order models in the damped engine: method='newton' (exact Hessian) and hessian='secant' (NL2SOL)."""

import numpy as np
import pytest

import lsq
from lsq.datasets import load_nist


def lre(value, certified):
    return float(np.min(-np.log10(np.abs(value - certified) / np.abs(certified))))


def trivial(x):
    """SciPy's fun_trivial: a residual that stays 5 at its minimum x = 0."""
    return np.array([x[0] ** 2 + 5.0])


def trivial_jac(x):
    return np.array([[2.0 * x[0]]])


def test_newton_solves_a_linear_problem_in_one_iteration():
    rng = np.random.default_rng(0)
    A, b = rng.standard_normal((30, 4)), rng.standard_normal(30)
    exact = np.linalg.lstsq(A, b, rcond=None)[0]
    res = lsq.least_squares(lambda x: A @ x - b, np.zeros(4), method="newton", jac=lambda x: A)
    assert res.nit == 1 and res.success
    np.testing.assert_allclose(res.x, exact, rtol=1e-12, atol=1e-14)
    # the compiled driver: a built-in model with an analytic Jacobian (its differences are exactly zero)
    x = np.linspace(0, 3, 20)
    y = 2.0 * x - 1.0 + 0.1 * rng.standard_normal(20)
    res = lsq.least_squares(lsq.models.linear.residuals(x, y), [0.0, 0.0], method="newton")
    assert res.nit == 1
    np.testing.assert_allclose(res.x, np.polyfit(x, y, 1), rtol=1e-12)


def test_newton_converges_quadratically_where_the_residual_stays_large():
    xs = []
    res = lsq.least_squares(trivial, [2.0], jac=trivial_jac, method="newton", callback=lambda x: xs.append(abs(x[0])))
    assert res.success and abs(res.x[0]) < 1e-12
    # each error is below a constant times the square of the one before, from the moment the model is good
    err = np.array([e for e in xs if e > 0])
    tail = err[np.argmax(err < 0.5):]
    assert len(tail) >= 3
    assert np.all(tail[1:] <= 2.0 * tail[:-1] ** 2)
    # Gauss-Newton's model misses the curvature r * r'' = 10 here: LM needs more iterations
    lm = lsq.least_squares(trivial, [2.0], jac=trivial_jac, method="lm")
    assert lm.nit > res.nit


def test_the_secant_option_learns_the_curvature_from_j_and_r_alone():
    calls, hits = [0], []

    def counted(x):
        calls[0] += 1
        if abs(x[0]) < 1e-4 and not hits:
            hits.append(calls[0])
        return trivial(x)

    res = lsq.least_squares(counted, [2.0], method="lm", hessian="secant")
    assert res.success and hits and hits[0] <= 20
    # no evaluation beyond LM's own: the update needs only J and r
    lm_calls = [0]

    def counted_lm(x):
        lm_calls[0] += 1
        return trivial(x)

    lsq.least_squares(counted_lm, [2.0], method="lm")
    assert calls[0] <= lm_calls[0]


def test_enso_reaches_the_certified_values_where_gauss_newton_stops_early():
    """NIST ENSO (large residuals): LM stops on ftol at LRE ~3.2 with default tolerances."""
    p = load_nist("ENSO")
    jac = lambda b: p.jacobian(p.x, b)  # noqa: E731
    for start in (1, 2):
        lm = lsq.least_squares(lambda b: p.model(p.x, b) - p.y, p.start(start), jac=jac)
        newton = lsq.least_squares(lambda b: p.model(p.x, b) - p.y, p.start(start), jac=jac, method="newton")
        fd = lsq.least_squares(lambda b: p.model(p.x, b) - p.y, p.start(start), method="newton")
        secant = lsq.least_squares(lambda b: p.model(p.x, b) - p.y, p.start(start), hessian="secant")
        assert lre(lm.x, p.certified) < 4
        assert lre(newton.x, p.certified) >= 8
        assert lre(fd.x, p.certified) >= 5  # the Hessian term by second differences of the residuals
        assert lre(secant.x, p.certified) > lre(lm.x, p.certified) + 0.5


def test_a_user_hessian_per_residual_or_summed_gives_the_same_fit():
    p = load_nist("Misra1a")  # y = b1 (1 - exp(-b2 x))

    def f(b):
        return b[0] * (1 - np.exp(-b[1] * p.x)) - p.y

    def jac(b):
        e = np.exp(-b[1] * p.x)
        return np.column_stack([1 - e, b[0] * p.x * e])

    def hess(b):  # per residual: d2 r_i / db db
        e = np.exp(-b[1] * p.x)
        H = np.zeros((p.x.size, 2, 2))
        H[:, 0, 1] = H[:, 1, 0] = p.x * e
        H[:, 1, 1] = -b[0] * p.x**2 * e
        return H

    def summed(b):
        return np.einsum("i,ijk->jk", f(b), hess(b))

    kw = dict(jac=jac, method="newton", ftol=1e-15, xtol=1e-15, gtol=1e-15)
    a = lsq.least_squares(f, p.start(2), hess=hess, **kw)
    b = lsq.least_squares(f, p.start(2), hess=summed, **kw)
    c = lsq.least_squares(f, p.start(2), **kw)  # differences of jac
    for r in (a, b, c):
        assert lre(r.x, p.certified) >= 8
    np.testing.assert_allclose(a.x, b.x, rtol=1e-12)


def test_newton_through_the_compiled_driver_and_with_bounds():
    x = np.linspace(0, 4, 40)
    y = lsq.models.exponential(x, 3.0, 1.2, 0.5)
    for model in (lsq.models.exponential, lsq.model(lambda x, a, t, c: a * np.exp(-x / t) + c)):
        res = lsq.least_squares(model.residuals(x, y), [1.0, 1.0, 0.0], method="newton")
        np.testing.assert_allclose(res.x, [3.0, 1.2, 0.5], rtol=1e-6)
    res = lsq.least_squares(lsq.models.exponential.residuals(x, y), [1.0, 1.0, 0.8], method="newton",
                            bounds=([0, 0, 0.6], [10, 10, 1]))
    assert res.x[2] == pytest.approx(0.6) and res.active_mask[2] == -1
    r = lsq.fit(lsq.models.exponential, x, y + 0.01 * np.sin(7 * x), method="newton")
    assert r.success and r.result.method == "newton"


@pytest.mark.parametrize("kwargs, exc, message", [
    (dict(method="newton", hessian="secant"), ValueError, "method='newton' uses the exact Hessian"),
    (dict(hess=lambda x: np.eye(2)), ValueError, "`hess` is used by method='newton'"),
    (dict(method="newton", hess=np.eye(2)), TypeError, "`hess` must be callable"),
    (dict(method="newton", loss="soft_l1"), ValueError, "linear loss only"),
    (dict(method="newton", linear_solver="qr"), ValueError, "dense Cholesky"),
    (dict(method="newton", damping="trust-region"), ValueError, "positive semi-definite"),
    (dict(method="adam", hessian="secant"), ValueError, "damped methods"),
    (dict(hessian="bfgs"), ValueError, "`hessian`"),
    (dict(method="newton", hess=lambda x: np.ones((3, 3))), ValueError, r"`hess` must return"),
    (dict(method="newton", hess=lambda x: np.full((2, 2), np.nan)), ValueError, "`hess` returned NaN"),
])
def test_second_order_options_are_checked_by_name(kwargs, exc, message):
    with pytest.raises(exc, match=message):
        lsq.least_squares(lambda x: [10 * (x[1] - x[0] ** 2), 1 - x[0]], [-1.2, 1.0], **kwargs)
