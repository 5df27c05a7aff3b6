"""Large-problem solvers: CG, LSMR and Schur against the dense solvers; coloured finite differences;
sparse and LinearOperator Jacobians; bundle adjustment."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import least_squares as scipy_least_squares
from scipy.sparse.linalg import aslinearoperator

import lsq
from lsq._python.problem import PythonProblem
from lsq._python.sparse_fd import GroupedDifferences, check_sparsity
from lsq.datasets import make_bundle_adjustment


def broyden(x):
    """Broyden's tridiagonal function (zero residual at the solution)."""
    f = (3.0 - x) * x + 1.0
    f[1:] -= x[:-1]
    f[:-1] -= 2.0 * x[1:]
    return f


def broyden_jac(x):
    n = x.shape[0]
    return sp.diags([-np.ones(n - 1), 3.0 - 2.0 * x, -2.0 * np.ones(n - 1)], [-1, 0, 1], format="csr")


def broyden_pattern(n):
    return sp.diags([np.ones(n - 1), np.ones(n), np.ones(n - 1)], [-1, 0, 1], format="csr")


def peaks_problem(m=600, k=6, seed=0):
    """A dense, mid-size fit: k separated Gaussian peaks (3k parameters) on noisy data."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 10.0, m)
    amp = rng.uniform(1.0, 2.0, k)
    cen = np.linspace(1.0, 9.0, k)
    wid = rng.uniform(0.2, 0.4, k)
    y = (amp[:, None] * np.exp(-0.5 * ((t - cen[:, None]) / wid[:, None]) ** 2)).sum(0)
    y += 1e-2 * rng.standard_normal(m)

    def fun(p):
        a, c, w = p[:k, None], p[k:2 * k, None], p[2 * k:, None]
        return (a * np.exp(-0.5 * ((t - c) / w) ** 2)).sum(0) - y

    def jac(p):
        a, c, w = p[:k, None], p[k:2 * k, None], p[2 * k:, None]
        u = (t - c) / w
        e = np.exp(-0.5 * u**2)
        return np.hstack([e.T, (a * e * u / w).T, (a * e * u**2 / w).T])

    return fun, jac, np.concatenate([amp * 0.9, cen + 0.05, wid * 1.1])


@pytest.mark.parametrize("solver", ["cg", "lsmr"])
def test_iterative_solvers_match_dense_solvers_on_a_dense_fit(solver):
    fun, jac, x0 = peaks_problem()
    ref = lsq.least_squares(fun, x0, jac=jac, linear_solver="qr", ftol=1e-12, xtol=1e-12, gtol=1e-12)
    chol = lsq.least_squares(fun, x0, jac=jac, linear_solver="cholesky", ftol=1e-12, xtol=1e-12, gtol=1e-12)
    res = lsq.least_squares(fun, x0, jac=jac, linear_solver=solver, ftol=1e-12, xtol=1e-12, gtol=1e-12,
                            max_nfev=5000)
    assert res.success
    np.testing.assert_allclose(res.cost, ref.cost, rtol=1e-9)
    np.testing.assert_allclose(chol.x, ref.x, rtol=1e-6)
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-5)


@pytest.mark.parametrize("solver", ["auto", "cholesky", "cg", "lsmr", "qr"])
def test_sparse_broyden_reaches_the_zero_residual_solution(solver):
    n = 200
    res = lsq.least_squares(broyden, -np.ones(n), jac=broyden_jac, linear_solver=solver, ftol=1e-12,
                            xtol=1e-12, gtol=1e-12)
    assert res.cost < 1e-20
    np.testing.assert_allclose(broyden(res.x), 0.0, atol=1e-10)
    ref = scipy_least_squares(broyden, -np.ones(n), jac=broyden_jac, method="trf", tr_solver="lsmr")
    np.testing.assert_allclose(res.x, ref.x, atol=1e-8)
    if solver != "qr":
        assert sp.issparse(res.jac)


def test_auto_picks_cg_for_a_large_sparse_problem_and_returns_sparse_jac():
    n = 2000
    res = lsq.least_squares(broyden, -np.ones(n), jac_sparsity=broyden_pattern(n))
    assert res.cost < 1e-20
    assert sp.issparse(res.jac) and res.jac.shape == (n, n)
    # only one call of fun per colour group (3 for a tridiagonal pattern) per Jacobian
    assert res.ncalls - res.nfev == res.njev * 3


@pytest.mark.parametrize("jac", ["2-point", "3-point", "cs"])
def test_coloured_differences_equal_dense_differences(jac):
    rng = np.random.default_rng(1)
    n = 30
    x = rng.uniform(-1.0, 1.0, n)
    lb, ub = np.full(n, -np.inf), np.full(n, np.inf)
    lb[3], ub[7] = x[3], x[7]  # steps next to a bound are flipped / one-sided
    dense = PythonProblem(broyden, jac, lb, ub)
    sparse = PythonProblem(broyden, jac, lb, ub)
    f0 = dense.residuals(x.copy())
    sparse.residuals(x.copy())
    sparse.set_sparsity(broyden_pattern(n), n)
    J_dense = dense.jacobian(x.copy(), f0)
    J_sparse = sparse.jacobian(x.copy(), f0, raw=True)
    assert sp.issparse(J_sparse)
    # equal up to the rounding noise of the dense one-sided formula in structurally zero entries
    np.testing.assert_allclose(J_sparse.toarray(), J_dense, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(J_sparse.toarray(), broyden_jac(x).toarray(), atol=1e-5)
    per = 2 if jac == "3-point" else 1
    assert sparse.nfev - 1 == 3 * per  # three colour groups
    assert dense.nfev - 1 == n * per


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 30), st.integers(2, 30), st.floats(0.05, 0.5), st.integers(0, 10_000))
def test_colouring_never_groups_columns_that_share_a_row(m, n, density, seed):
    pattern = sp.random(m, n, density=density, random_state=seed, format="csr")
    grouped = GroupedDifferences(check_sparsity(pattern, m, n))
    dense = pattern.toarray() != 0
    for cols in grouped.members:
        assert dense[:, cols].sum(axis=1).max(initial=0) <= 1
    assert grouped.ngroups <= n
    assert grouped.ngroups >= dense.sum(axis=1).max(initial=0)


def _greedy_colours(dense):
    """Reference: each column takes the smallest colour no column sharing a row has taken."""
    colours = []
    for j in range(dense.shape[1]):
        taken = {colours[i] for i in range(j) if np.any(dense[:, i] & dense[:, j])}
        colours.append(min(set(range(j + 1)) - taken))
    return np.array(colours)


@pytest.mark.parametrize("n, density", [(40, 0.2), (150, 1.0)])  # 150 dense columns need 150 colours (3 words)
def test_colouring_is_the_column_order_greedy(n, density):
    m = 30
    pattern = sp.random(m, n, density=density, random_state=1, format="csr")
    dense = pattern.toarray() != 0
    grouped = GroupedDifferences(check_sparsity(pattern, m, n))
    np.testing.assert_array_equal(grouped.colors, _greedy_colours(dense))


def test_grouped_jacobian_matches_analytic_on_a_random_pattern():
    rng = np.random.default_rng(3)
    m, n = 40, 25
    A = sp.random(m, n, density=0.15, random_state=4, format="csr")

    def fun(x):
        return A @ np.sin(x) + 0.1 * (A @ x) ** 2

    x = rng.uniform(-1, 1, n)
    prob = PythonProblem(fun, "3-point", np.full(n, -np.inf), np.full(n, np.inf))
    f0 = prob.residuals(x)
    prob.set_sparsity(A, m)
    J = prob.jacobian(x, f0, raw=True).toarray()
    exact = A.toarray() * np.cos(x) + 0.2 * (A @ x)[:, None] * A.toarray()
    np.testing.assert_allclose(J, exact, atol=1e-8)


@pytest.mark.parametrize("solver", ["cg", "lsmr"])
def test_linear_operator_jacobian(solver):
    n = 300
    res = lsq.least_squares(broyden, -np.ones(n), jac=lambda x: aslinearoperator(broyden_jac(x)),
                            linear_solver=solver)
    assert res.cost < 1e-16
    assert hasattr(res.jac, "matvec")


@pytest.mark.parametrize("loss", ["soft_l1", "cauchy"])
def test_sparse_paths_agree_with_dense_paths_with_bounds_and_loss(loss):
    n = 60
    x0 = -0.5 * np.ones(n)
    kw = dict(bounds=(-0.6, 0.0), loss=loss, f_scale=0.5, ftol=1e-12, xtol=1e-12, gtol=1e-12)
    dense = lsq.least_squares(broyden, x0, linear_solver="qr", **kw)
    for solver in ("cholesky", "cg", "lsmr"):
        res = lsq.least_squares(broyden, x0, jac_sparsity=broyden_pattern(n), linear_solver=solver,
                                max_nfev=20_000, **kw)
        np.testing.assert_allclose(res.cost, dense.cost, rtol=1e-8)
        np.testing.assert_allclose(res.x, dense.x, atol=1e-5)
        assert np.all(res.x >= -0.6) and np.all(res.x <= 0.0)


def test_schur_equals_cholesky_on_small_bundle_adjustment():
    p = make_bundle_adjustment(n_cameras=5, n_points=40, views=3, seed=2)
    kw = dict(jac_sparsity=p.jac_sparsity, ftol=1e-10, xtol=1e-10, gtol=1e-10)
    ref = lsq.least_squares(p.fun, p.x0, linear_solver="cholesky", **kw)
    res = lsq.least_squares(p.fun, p.x0, linear_solver="schur", schur=p.schur, **kw)
    assert res.success
    np.testing.assert_allclose(res.cost, ref.cost, rtol=1e-9)
    # the cost at the truth is only noise; the fit must get below it
    truth = 0.5 * np.sum(p.fun(p.x_true) ** 2)
    assert res.cost < truth
    # the steps solve the same linear systems: equal costs along the way (up to rounding); the driver-side
    # Schur solver moves lam by Nielsen's rule (lam = 1/radius, as Ceres), so both run that rule
    one = dict(jac_sparsity=p.jac_sparsity, max_nfev=p.x0.shape[0], damping="nielsen")
    a = lsq.least_squares(p.fun, p.x0, linear_solver="schur", schur=p.schur, **one)
    b = lsq.least_squares(p.fun, p.x0, linear_solver="cholesky", **one)
    np.testing.assert_allclose(a.history["cost"][:3], b.history["cost"][:3], rtol=1e-6)


def test_schur_with_bounds_holds_the_bounded_variables():
    p = make_bundle_adjustment(n_cameras=4, n_points=25, views=3, seed=5)
    lb = np.full(p.x0.shape, -np.inf)
    lb[-3:] = p.x0[-3:]  # one point held from below
    lb[6] = p.x0[6]  # one focal length
    kw = dict(jac_sparsity=p.jac_sparsity, bounds=(lb, np.inf), ftol=1e-10, xtol=1e-10)
    ref = lsq.least_squares(p.fun, p.x0, linear_solver="cholesky", **kw)
    res = lsq.least_squares(p.fun, p.x0, linear_solver="schur", schur=p.schur, **kw)
    assert np.all(res.x >= lb)
    np.testing.assert_allclose(res.cost, ref.cost, rtol=1e-7)


def test_bundle_residuals_compiled_equal_numpy():
    p = make_bundle_adjustment(n_cameras=6, n_points=50, views=4, seed=1)
    x = p.x0 + 0.01
    np.testing.assert_allclose(p.fun(x), p.fun_numpy(x), rtol=1e-12, atol=1e-9)
    S = p.jac_sparsity
    assert S.shape == (2 * 50 * 4, 9 * 6 + 3 * 50) and S.nnz == 2 * 50 * 4 * 12



def test_compiled_fit_with_many_residuals_assembles_normal_equations_by_chunks():
    m = 1_100_000  # m * n above the 4 million entries from which J is not held
    rng = np.random.default_rng(0)
    x = np.linspace(-5, 5, m)
    y = lsq.models.gaussian(x, 3.0, 0.4, 1.2, 0.5) + 0.05 * rng.standard_normal(m)
    p0 = np.array([2.0, 0.0, 1.0, 0.0])
    resid = lsq.models.gaussian.residuals(x, y)
    chunked = lsq.least_squares(resid, p0)
    held = lsq.least_squares(resid, p0, linear_solver="qr")
    assert chunked.jac is None and held.jac.shape == (m, 4)
    np.testing.assert_allclose(chunked.x, held.x, rtol=1e-9)
    for jac in ("2-point", "3-point"):  # compiled finite differences by chunks
        fd = lsq.least_squares(lsq.models.gaussian.residuals(x, y), p0, jac=jac, linear_solver="cholesky")
        np.testing.assert_allclose(fd.x, held.x, rtol=1e-7)
    popt, pcov = lsq.curve_fit(lsq.models.gaussian, x, y, p0=p0)
    popt_qr, pcov_qr = lsq.curve_fit(lsq.models.gaussian, x, y, p0=p0, linear_solver="qr")
    np.testing.assert_allclose(pcov, pcov_qr, rtol=1e-8)


def test_auto_keeps_lm_within_a_small_memory_budget():
    m = 500_000
    x = np.linspace(-5, 5, m)
    y = lsq.models.gaussian(x, 3.0, 0.4, 1.2, 0.5)
    budget = int(0.9 * 8 * m * 4)  # the dense Jacobian would not fit; J^T J by chunks does
    res = lsq.least_squares(lsq.models.gaussian.residuals(x, y), [2.0, 0.0, 1.0, 0.0], method="auto",
                            memory_budget=budget)
    assert res.method == "lm" and res.jac is None  # J^T J by chunks
    np.testing.assert_allclose(res.x, [3.0, 0.4, 1.2, 0.5], rtol=1e-8)
    n = 3000
    res = lsq.least_squares(broyden, -np.ones(n), jac_sparsity=broyden_pattern(n), method="auto",
                            memory_budget=8 * n * n // 10)
    assert res.method == "lm" and res.cost < 1e-20


def _rows_problem(m=200_000):
    rng = np.random.default_rng(0)
    t = np.linspace(0, 10, m)
    y = 3.0 * np.exp(-0.4 * t) + 0.5 * np.sin(1.3 * t) + 0.01 * rng.standard_normal(m)

    def rows(p, idx):
        tt = t[idx]
        return p[0] * np.exp(-p[1] * tt) + p[2] * np.sin(p[3] * tt) - y[idx]

    def jac_rows(p, idx):
        tt = t[idx]
        e = np.exp(-p[1] * tt)
        return np.column_stack([e, -p[0] * tt * e, np.sin(p[3] * tt), p[2] * tt * np.cos(p[3] * tt)])

    return rows, jac_rows, np.array([2.5, 0.5, 0.4, 1.25])


@pytest.mark.parametrize("jac", ["2-point", "3-point", "callable"])
def test_python_rows_assemble_normal_equations_by_chunks(jac):
    rows, jac_rows, p0 = _rows_problem()
    seen = []

    def counted(p, idx):
        seen.append(idx)
        return rows(p, idx)

    whole = lsq.least_squares(lambda p: rows(p, slice(None)), p0, ftol=1e-12, xtol=1e-12)
    res = lsq.least_squares(counted, p0, jac=jac_rows if jac == "callable" else jac, minibatch=True, ftol=1e-12,
                            xtol=1e-12)
    assert res.success and res.jac is None
    np.testing.assert_allclose(res.x, whole.x, rtol=1e-9)
    chunks = [s for s in seen if s != slice(None)]
    if jac != "callable":  # differences ask for row chunks only, never the whole data set
        assert chunks and max(s.stop - s.start for s in chunks) <= 2**17 // 4


def test_python_rows_with_loss_and_bounds_match_whole_data():
    rows, _, p0 = _rows_problem(50_000)
    kw = dict(loss="soft_l1", bounds=([0, 0, 0, 0], [10, 10, 10, 1.28]))
    whole = lsq.least_squares(lambda p: rows(p, slice(None)), p0, **kw)
    res = lsq.least_squares(rows, p0, minibatch=True, **kw)
    np.testing.assert_allclose(res.cost, whole.cost, rtol=1e-10)
    np.testing.assert_allclose(res.x, whole.x, rtol=1e-8)
    with pytest.raises(ValueError, match="minibatch=True"):
        lsq.least_squares(rows, p0, minibatch=True, linear_solver="qr")
