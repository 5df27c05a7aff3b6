"""The engine's strategy pieces on their own, against NumPy references: linear algebra, damping rules,
stopping tests and the damped step (descent)."""

import math

import numba
import numpy as np
import pytest

from lsq._kernels.engine import codes as c
from lsq._kernels.engine import descent
from lsq._kernels.engine import layout as slot
from lsq._kernels.engine.damping import (
    LAM_MAX,
    LAM_MIN,
    backtrack_update,
    marquardt_update,
    nielsen_update,
    trust_region_update,
)
from lsq._kernels.engine.linalg import back_substitute, cholesky_factor, cholesky_solve, householder_triangularize
from lsq._kernels.engine.termination import ftol_reached, gtol_reached, step_status, xtol_reached
from lsq._setup.workspace import make_workspace


# The descent's stages have no Python entry of their own (only compiled code calls them): each is called here
# through a compiled function that calls it, as the engine does.
@numba.njit(cache=True)
def factor(w, solver):
    descent.factor(w, solver)


@numba.njit(cache=True)
def solve_damped(w, lam, solver):
    return descent.solve_damped(w, lam, solver)


@numba.njit(cache=True)
def place(w, alpha, bounded):
    descent.place(w, alpha, bounded)


@numba.njit(cache=True)
def quadratic_term(w, solver):
    return descent.quadratic_term(w, solver)


@numba.njit(cache=True)
def trust_region_step(w, solver):
    return descent.trust_region_step(w, solver)

RNG = np.random.default_rng(7)


# ------------------------------------------------------------------------------------------------ linalg
def test_householder_gives_numpys_r_up_to_row_signs():
    A = RNG.standard_normal((9, 4))
    cols = np.ascontiguousarray(A.T.copy())  # stored by columns
    householder_triangularize(cols, 9, 4, 4)
    R = cols.T[:4, :4]
    R_ref = np.linalg.qr(A, mode="r")
    np.testing.assert_allclose(np.abs(R), np.abs(R_ref), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(R.T @ R, A.T @ A, rtol=1e-12)
    assert np.all(cols.T[4:, :] == 0.0)  # below the diagonal is zeroed


def test_householder_applies_q_transpose_to_extra_columns():
    A = RNG.standard_normal((8, 3))
    b = RNG.standard_normal(8)
    cols = np.ascontiguousarray(np.column_stack([A, b]).T)
    householder_triangularize(cols, 8, 3, 4)
    R, qtb = cols.T[:3, :3], cols.T[:3, 3]
    x = np.empty(3)
    assert back_substitute(cols, 3, qtb, x)
    np.testing.assert_allclose(x, np.linalg.lstsq(A, b, rcond=None)[0], rtol=1e-12)
    np.testing.assert_allclose(R.T @ qtb, A.T @ b, rtol=1e-12)


def test_back_substitute_reports_a_zero_pivot():
    cols = np.zeros((2, 2))
    cols[0, 0] = 1.0  # R = [[1, 0], [0, 0]]
    assert not back_substitute(cols, 2, np.ones(2), np.empty(2))


def test_cholesky_solves_and_refuses_an_indefinite_matrix():
    B = RNG.standard_normal((6, 4))
    M = B.T @ B + 0.1 * np.eye(4)
    L = np.zeros((4, 4))
    assert cholesky_factor(M, 4, L)
    np.testing.assert_allclose(np.tril(L), np.linalg.cholesky(M), rtol=1e-12)
    rhs = RNG.standard_normal(4)
    out = np.empty(4)
    cholesky_solve(L, 4, rhs, out)
    np.testing.assert_allclose(out, np.linalg.solve(M, rhs), rtol=1e-11)
    assert not cholesky_factor(np.diag([1.0, -1.0]), 2, np.zeros((2, 2)))
    assert not cholesky_factor(np.ones((2, 2)), 2, np.zeros((2, 2)))  # singular


# ----------------------------------------------------------------------------------------------- damping
def test_nielsen_rule():
    lam, nu = nielsen_update(1.0, 2.0, 1.0, True)  # perfect model: lam / 3
    assert lam == pytest.approx(1 / 3) and nu == 2.0
    lam, nu = nielsen_update(1.0, 2.0, 0.5, True)  # gain 0.5: 1 - 0 = 1
    assert lam == 1.0
    lam, nu = nielsen_update(1.0, 4.0, -1.0, False)
    assert (lam, nu) == (4.0, 8.0)
    assert nielsen_update(LAM_MAX, 2.0, 0.0, False)[0] == LAM_MAX
    assert nielsen_update(LAM_MIN, 2.0, 1.0, True)[0] == LAM_MIN


def test_marquardt_and_backtracking_rules():
    assert marquardt_update(1.0, True) == 0.1 and marquardt_update(1.0, False) == 10.0
    assert backtrack_update(0.25, True) == 1.0 and backtrack_update(0.25, False) == 0.125


def test_trust_region_shrinks_by_the_parabola_through_cost_and_slope():
    # cost along the step: F(t) = F0 + slope t + c t^2 with F(1) = F0 - actual; its minimiser is at
    # t* = -slope / (2 c) = 0.5 slope / (slope + actual), which the rule uses (within [0.1, 0.5])
    slope, actual = -1.0, -0.5
    radius, lam = trust_region_update(2.0, 1.0, -1.0, False, actual, slope, 1.0, 10.0, 10.5)
    t = 0.5 * slope / (slope + actual)
    assert radius == pytest.approx(t * 2.0) and lam == pytest.approx(1.0 / t)  # t * min(radius, 10 |p|)
    # a cost that rose a hundredfold, or is not finite: the smallest factor
    assert trust_region_update(2.0, 1.0, -1.0, False, -1e3, -1.0, 1.0, 1.0, 1e3)[0] == pytest.approx(0.2)
    assert trust_region_update(2.0, 1.0, -1.0, False, -math.inf, -1.0, 1.0, 1.0, math.inf)[0] == pytest.approx(0.2)
    # a poor but positive gain halves; a short step bounds the new radius by ten times its length
    assert trust_region_update(2.0, 1.0, 0.1, True, 0.01, -1.0, 1.0, 1.0, 0.99)[0] == pytest.approx(1.0)
    assert trust_region_update(2.0, 1.0, 0.1, True, 0.01, -1.0, 0.01, 1.0, 0.99)[0] == pytest.approx(0.05)


def test_trust_region_grows_after_a_good_step_and_never_shrinks_then():
    radius, lam = trust_region_update(1.0, 2.0, 0.9, True, 1.0, -1.0, 1.0, 2.0, 1.0)
    assert radius == 2.0 and lam == 1.0  # 2 |p|, lam halved
    radius, _ = trust_region_update(10.0, 0.0, 0.5, True, 1.0, -1.0, 1.0, 2.0, 1.0)
    assert radius == 10.0  # an undamped step shorter than the radius keeps it
    radius, lam = trust_region_update(1.0, 2.0, 0.5, True, 1.0, -1.0, 1.0, 2.0, 1.0)
    assert (radius, lam) == (1.0, 2.0)  # 0.25 < gain < 0.75 with lam > 0: unchanged


# ----------------------------------------------------------------------------------------------- termination
def test_stopping_tests():
    assert gtol_reached(1e-9, 1e-8) and not gtol_reached(1e-8, 1e-8)
    assert ftol_reached(1e-10, 1.0, 0.5, 1e-8)
    assert not ftol_reached(1e-10, 1.0, 0.2, 1e-8)  # the model must have predicted the decrease well
    assert not ftol_reached(-1e-10, 1.0, 0.5, 1e-8)
    assert xtol_reached(1e-9, 1.0, 1e-8) and not xtol_reached(1e-7, 1.0, 1e-8)
    assert step_status(True, True) == c.STATUS_FTOL_XTOL
    assert step_status(True, False) == c.STATUS_FTOL
    assert step_status(False, True) == c.STATUS_XTOL
    assert step_status(False, False) == c.STATUS_NONE


# ----------------------------------------------------------------------------------------------- descent
def _linearised(m, n, solver, free=None):
    J = RNG.standard_normal((m, n)) * np.logspace(0, 2, n)
    f = RNG.standard_normal(m)
    w = make_workspace(m, n, qr=solver == c.SOLVER_QR, history=1, robust=False)
    w.Jt[:] = J.T
    w.fs[:] = f
    w.g[:] = J.T @ f
    w.d[:] = np.sum(J * J, axis=0)
    w.x[:] = RNG.standard_normal(n)
    free = np.arange(n) if free is None else np.asarray(free)
    w.free[: free.size] = free
    w.si[slot.NFREE] = free.size
    factor(w, solver)
    return w, J, f, free


@pytest.mark.parametrize("solver", [c.SOLVER_QR, c.SOLVER_CHOLESKY])
def test_damped_solve_matches_the_normal_equations(solver):
    w, J, f, free = _linearised(12, 4, solver, free=[0, 2, 3])
    lam = 0.3
    assert solve_damped(w, lam, solver)
    JF = J[:, free]
    ref = np.linalg.solve(JF.T @ JF + lam * np.diag(w.d[free]), -JF.T @ f)
    np.testing.assert_allclose(w.delta[: free.size], ref, rtol=1e-10)


@pytest.mark.parametrize("solver", [c.SOLVER_QR, c.SOLVER_CHOLESKY])
def test_quadratic_term_is_jp_squared(solver):
    w, J, f, free = _linearised(10, 3, solver)
    assert solve_damped(w, 0.1, solver)
    place(w, 1.0, False)
    np.testing.assert_allclose(quadratic_term(w, solver), np.sum((J @ w.p) ** 2), rtol=1e-10)
    np.testing.assert_allclose(w.sf[slot.STEP_NORM], np.sqrt(np.sum(w.d * w.p**2)), rtol=1e-12)


@pytest.mark.parametrize("solver", [c.SOLVER_QR, c.SOLVER_CHOLESKY])
@pytest.mark.parametrize("fraction", [0.01, 0.3, 0.9])
def test_trust_region_step_fills_the_radius(solver, fraction):
    w, J, f, _ = _linearised(15, 5, solver)
    gn = np.linalg.lstsq(J, -f, rcond=None)[0]
    gn_norm = np.sqrt(np.sum(w.d * gn**2))
    sf = w.sf
    sf[slot.RADIUS] = fraction * gn_norm
    sf[slot.LAM] = 0.0
    assert trust_region_step(w, solver)
    step_norm = np.sqrt(np.sum(w.d * w.delta[:5] ** 2))
    assert abs(step_norm - sf[slot.RADIUS]) <= 0.1 * sf[slot.RADIUS]  # MINPACK's 10 % tolerance
    lam = sf[slot.TRIAL_LAM]
    assert lam > 0
    ref = np.linalg.solve(J.T @ J + lam * np.diag(w.d), -J.T @ f)
    np.testing.assert_allclose(w.delta[:5], ref, rtol=1e-8)


@pytest.mark.parametrize("solver", [c.SOLVER_QR, c.SOLVER_CHOLESKY])
def test_trust_region_takes_the_gauss_newton_step_when_it_fits(solver):
    w, J, f, _ = _linearised(15, 5, solver)
    gn = np.linalg.lstsq(J, -f, rcond=None)[0]
    w.sf[slot.RADIUS] = 2.0 * np.sqrt(np.sum(w.d * gn**2))
    assert trust_region_step(w, solver)
    assert w.sf[slot.TRIAL_LAM] == 0.0
    np.testing.assert_allclose(w.delta[:5], gn, rtol=1e-9)


def test_place_stops_short_of_a_bound_unless_the_step_overshoots_far():
    w = make_workspace(3, 2, qr=False, history=1, robust=False)
    w.x[:] = [1.0, 1.0]
    w.lb[:] = [0.0, 0.0]
    w.ub[:] = [np.inf, np.inf]
    w.d[:] = 1.0
    w.free[:2] = [0, 1]
    w.si[slot.NFREE] = 2
    w.sf[slot.OPTIMALITY] = 1.0
    w.delta[:2] = [-2.0, -1000.0]  # x0 overshoots its bound by 1, x1 by 999 (> 1 / (1 - 0.995) = 200)
    place(w, 1.0, True)
    assert w.x_new[0] == pytest.approx(0.005) and w.x_new[1] == 0.0


@pytest.mark.parametrize("sizes", [(100, 4, True, 1000, True, True, False), (7, 3, False, 5, False, False, True),
                                   (5, 2, True, 3, True, True, True), (1, 1, True, 1, True, True, False)])
def test_packed_workspace_has_the_layout_of_the_plain_one(sizes):
    from lsq._setup.workspace import make_packed_workspace, workspace_views

    w, packed = make_packed_workspace(*sizes)
    plain = make_workspace(*sizes)
    for name in w._fields:
        a, b = getattr(w, name), getattr(plain, name)
        assert a.shape == b.shape and a.dtype == b.dtype, name
        if name not in ("si", "sf"):
            np.testing.assert_array_equal(a, b)
            if a.dtype == np.float64 and a.size:
                assert np.shares_memory(a, packed.buf), name
    # the compiled views (what advance_packed hands the engine) have the same shapes and the same memory; the
    # probe is compiled without reference counting, as workspace_views requires, and returns only numbers
    @numba.njit(_nrt=False)
    def probe(buf, free, si, sf, dims):
        v = workspace_views(buf, free, si, sf, dims)
        return (v.x.shape[0], v.Jt.shape[0], v.Jt.shape[1], v.hist.shape[0], v.S.shape[1], v.hist[-1, -1], v.d[0],
                v.QJ[-1, -1])

    packed.buf[:] = np.arange(packed.buf.size)
    assert probe(*packed) == (w.x.shape[0], w.Jt.shape[0], w.Jt.shape[1], w.hist.shape[0], w.S.shape[1],
                              w.hist[-1, -1], w.d[0], w.QJ[-1, -1])
    assert w.x[0] == 0 and w.hist[-1, -1] == packed.buf.size - 1


def test_covariance_by_qr_and_jacobi_matches_a_truncated_svd():
    from lsq._kernels.covariance import covariance_from_transposed

    rng = np.random.default_rng(3)
    for _ in range(100):
        n = int(rng.integers(1, 8))
        m = int(rng.integers(n, 60))
        J = rng.standard_normal((m, n)) * 10.0 ** rng.uniform(-3, 3, n)
        _, s, VT = np.linalg.svd(J, full_matrices=False)
        expected = (VT.T / s**2) @ VT
        r = rng.standard_normal(m)
        got, dropped, s_unit, V_unit, rss_linear = covariance_from_transposed(np.ascontiguousarray(J.T), r, True)
        assert not dropped
        # the residuals' part outside the range of J: what least squares on (J, r) leaves
        left = r - J @ np.linalg.lstsq(J, r, rcond=None)[0]
        assert rss_linear == pytest.approx(left @ left, rel=1e-9, abs=1e-20)
        np.testing.assert_array_equal(got, got.T)
        unit = J / np.linalg.norm(J, axis=0)
        np.testing.assert_allclose(np.sort(s_unit)[::-1], np.linalg.svd(unit, compute_uv=False), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(np.abs(V_unit @ V_unit.T), np.eye(n), atol=1e-12)
        # both are backward stable: they agree to the condition number of J^T J times rounding
        tol = 50 * np.finfo(float).eps * (s[0] / s[-1]) ** 2
        assert np.max(np.abs(got - expected)) <= tol * np.max(np.abs(expected))
    # a repeated column: one direction is dropped and the rest is the pseudo-inverse
    J = rng.standard_normal((30, 3))
    J[:, 2] = J[:, 1]
    got, dropped, s_unit, V_unit, _ = covariance_from_transposed(np.ascontiguousarray(J.T), np.zeros(30), True)
    assert dropped
    np.testing.assert_allclose(got, np.linalg.pinv(J.T @ J), rtol=1e-8, atol=1e-12)
    null = V_unit[np.argmin(s_unit)]  # the repeated column: equal and opposite on variables 1 and 2
    np.testing.assert_allclose(np.abs(null), [0, 2**-0.5, 2**-0.5], atol=1e-8)
    J[0, 0] = np.nan
    got, dropped, s_unit, _, rss = covariance_from_transposed(np.ascontiguousarray(J.T), np.zeros(30), True)
    assert dropped and np.isnan(got).all() and np.isnan(s_unit).all() and np.isnan(rss)
