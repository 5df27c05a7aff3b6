"""Bad input gets a clear error that names the argument."""

import numpy as np
import pytest
import scipy.sparse as sp
from problems import rosenbrock
from scipy.sparse.linalg import aslinearoperator

import lsq


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (dict(x0=[[1.0, 2.0]]), ValueError, "`x0`"),
        (dict(x0=[np.nan, 1.0]), ValueError, "`x0`"),
        (dict(x0=[1.0 + 1j, 1.0]), ValueError, "`x0`"),
        (dict(method="bfgs"), ValueError, "`method`"),
        (dict(loss="hinge"), ValueError, "`loss`"),
        (dict(jac="5-point"), ValueError, "`jac`"),
        (dict(damping="fast"), ValueError, "`damping`"),
        (dict(linear_solver="lu"), ValueError, "`linear_solver`"),
        (dict(max_nfev=0), ValueError, "`max_nfev`"),
        (dict(max_nfev=-3), ValueError, "`max_nfev`"),
        (dict(bounds=(3.0, 4.0)), ValueError, "`x0` is outside"),
        (dict(bounds=(1.0, 0.0)), ValueError, "`bounds`"),
        (dict(bounds=([0.0], [1.0, 2.0])), ValueError, "`bounds`"),
        (dict(bounds=(1.0, 2.0, 3.0)), ValueError, "`bounds`"),
        (dict(x_scale=-1.0), ValueError, "`x_scale`"),
        (dict(x_scale=[1.0, 2.0, 3.0]), ValueError, "`x_scale`"),
        (dict(f_scale=0.0), ValueError, "`f_scale`"),
        (dict(verbose=3), ValueError, "`verbose`"),
        (dict(ftol=None, xtol=None, gtol=None), ValueError, "tolerances"),
        (dict(jac_sparsity=np.ones((3, 2))), ValueError, "`jac_sparsity` has wrong shape"),
        (dict(linear_solver="schur"), ValueError, r"`schur=\(n_keep, block\)`"),
        (dict(linear_solver="schur", schur=(1, 3)), ValueError, "`schur` must be"),
        (dict(tr_options={"tol": 1e-3}), TypeError, "`tr_options`"),
    ],
)
def test_argument_errors(kwargs, exc, match):
    args = dict(fun=rosenbrock, x0=[-1.2, 1.0])
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        lsq.least_squares(**args)


def test_fun_returning_nan_at_x0():
    with pytest.raises(ValueError, match="not finite in the initial point"):
        lsq.least_squares(lambda x: np.array([np.nan, x[0]]), [1.0])


def test_fun_returning_2d():
    with pytest.raises(ValueError, match="`fun` must return at most 1-d"):
        lsq.least_squares(lambda x: np.ones((2, 2)) * x[0], [1.0])


def test_fun_changing_length_mid_fit():
    def f(x):
        return np.ones(3) * x[0] if x[0] == 1.0 else np.ones(4) * x[0]

    with pytest.raises(ValueError, match="`fun` returned 4 residuals"):
        lsq.least_squares(f, [1.0])


def test_jac_wrong_shape():
    with pytest.raises(ValueError, match="`jac` has wrong shape"):
        lsq.least_squares(rosenbrock, [1.0, 2.0], jac=lambda x: np.ones((3, 2)))


@pytest.mark.parametrize("solver", ["cholesky", "qr", "schur"])
def test_jac_linear_operator_with_a_matrix_solver_is_a_clear_error(solver):
    J = np.array([[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="LinearOperator"):
        lsq.least_squares(lambda x: x, [1.0, 2.0], jac=lambda x: aslinearoperator(J), linear_solver=solver,
                          schur=(0, 1))


def test_jac_linear_operator_with_x_scale_jac_is_a_clear_error():
    J = np.eye(2)
    with pytest.raises(ValueError, match="x_scale='jac'"):
        lsq.least_squares(lambda x: x, [1.0, 2.0], jac=lambda x: aslinearoperator(J), x_scale="jac")


def test_schur_blocks_that_couple_are_a_clear_error():
    def fun(x):  # the residual x[1] * x[2] couples the two "point" blocks of size 1
        return np.array([x[0] - 1.0, x[1] - 2.0, x[1] * x[2] - 3.0])

    with pytest.raises(ValueError, match="`schur`"):
        lsq.least_squares(fun, [0.5, 1.0, 1.0], linear_solver="schur", schur=(1, 1))


def test_sparse_jac_with_qr_is_densified():
    res = lsq.least_squares(lambda x: x - 3.0, [1.0, 2.0], jac=lambda x: sp.identity(2, format="csr"),
                            linear_solver="qr")
    np.testing.assert_allclose(res.x, [3.0, 3.0])


def test_unknown_keyword_is_type_error():
    with pytest.raises(TypeError):
        lsq.least_squares(rosenbrock, [1.0, 2.0], options={"a": 1})


# ------------------------------------------------------------------------------------------------------------
# Inputs that once reached compiled code unchecked (a heap corruption or a segfault later in the process).

_BAD_CALLS = {
    "short p0 for a built-in": ("lsq.curve_fit(lsq.models.gaussian, x, y, p0=[1, 2])", ValueError, "`p0` must have 4"),
    "long p0 for a built-in": ("lsq.curve_fit(lsq.models.gaussian, x, y, p0=list(range(1, 9)))", ValueError,
                               "`p0` must have 4"),
    "short x0 for model residuals": ("lsq.least_squares(lsq.models.gaussian.residuals(x, y), [1.0, 2.0])",
                                     ValueError, "`x0` must have 4"),
    "short x0, Python path": ("lsq.least_squares(lsq.models.gaussian.residuals(x, y), [1.0, 2.0], "
                              "callback=lambda r: None)", ValueError, "`x0` must have 4"),
    "short bounds": ("lsq.curve_fit(lsq.models.gaussian, x, y, p0=[1, 0, 1, 0], bounds=([0, 0], [10, 10]))",
                     ValueError, "lower `bounds` have shape"),
    "ydata one short": ("lsq.curve_fit(lambda x, a, b: a * x + b, x, y[:-1])", ValueError, "`ydata`"),
    "model output (m, 1)": ("lsq.curve_fit(lambda x, a, b: (a * x + b)[:, None], x, y)", ValueError, "`ydata`"),
    "fun returns a string": ("lsq.least_squares(lambda p: 'a', [1.0])", TypeError, "`fun` must return numbers"),
    "built-in jacobian, short p": ("lsq.models.gaussian.jacobian(x, 1.0, 2.0)", TypeError, "takes 4 parameters"),
    "built-in call, array p": ("lsq.models.gaussian(x, 1.0, 2.0, 3.0, [1.0, 2.0])", TypeError, "one scalar"),
}


@pytest.mark.parametrize("case", sorted(_BAD_CALLS))
def test_bad_call_is_a_clear_error(case):
    x = np.linspace(-3, 3, 80)
    y = lsq.models.gaussian(x, 2.0, 0.3, 0.7, 0.1)
    src, exc, match = _BAD_CALLS[case]
    with pytest.raises(exc, match=match):
        eval(src, {"lsq": lsq, "x": x, "y": y})


def test_bad_calls_leave_the_process_working():
    """Each bad call 100 times in one process, then a normal fit: a crash (abort, segfault) fails the test
    instead of killing pytest, because it runs in a child process."""
    import subprocess
    import sys

    script = f"""
import numpy as np, lsq
x = np.linspace(-3, 3, 80)
y = lsq.models.gaussian(x, 2.0, 0.3, 0.7, 0.1)
for src in {[v[0] for v in _BAD_CALLS.values()]!r}:
    for _ in range(100):
        try:
            eval(src)
        except (TypeError, ValueError):
            pass
        else:
            raise SystemExit('no error from ' + src)
popt, _ = lsq.curve_fit(lsq.models.gaussian, x, y, p0=[1.5, 0.0, 1.0, 0.0])
assert np.allclose(popt, [2.0, 0.3, 0.7, 0.1], atol=1e-8), popt
print('ok')
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")


# ------------------------------------------------------------------------------------------------------------
# Faults in the middle of a fit.

def test_fun_that_raises_mid_fit_propagates_its_exception():
    calls = []

    def fun(x):
        calls.append(1)
        if len(calls) > 4:
            raise ArithmeticError("model blew up")
        return rosenbrock(x)

    with pytest.raises(ArithmeticError, match="model blew up"):
        lsq.least_squares(fun, [-1.2, 1.0])
    calls.clear()

    def model(x, a, b):
        fun(np.array([a, b]))  # counts the call and raises from the fifth on
        return a * np.exp(-b * x)

    with pytest.raises(ArithmeticError, match="model blew up"):
        lsq.curve_fit(model, np.arange(5.0), 2 * np.exp(-0.5 * np.arange(5.0)))


def test_callback_that_raises_propagates_and_the_next_fit_works():
    def cb(intermediate_result):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        lsq.least_squares(rosenbrock, [-1.2, 1.0], callback=cb)
    assert lsq.least_squares(rosenbrock, [-1.2, 1.0]).success


@pytest.mark.parametrize("kernel, entry", [("per-fit", "fit_batch"), ("lanes", "fit_batch_lanes")])
def test_keyboard_interrupt_in_a_long_batch_propagates_cleanly(monkeypatch, kernel, entry):
    """The batch runs chunk by chunk from Python: an interrupt between chunks leaves the process working."""
    import lsq.batch as batch

    x = np.linspace(-3, 3, 30)
    Y = np.array([lsq.models.gaussian(x, 2.0, c, 0.7, 0.1) for c in np.linspace(-1, 1, 50)])
    real, seen = getattr(batch, entry), []

    def interrupted(*args):
        seen.append(1)
        if len(seen) == 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(batch, entry, interrupted)
    with pytest.raises(KeyboardInterrupt):
        lsq.curve_fit_batch(lsq.models.gaussian, x, Y, p0=[1.5, 0.0, 1.0, 0.0], chunk_size=10, kernel=kernel)
    monkeypatch.setattr(batch, entry, real)
    r = lsq.curve_fit_batch(lsq.models.gaussian, x, Y, p0=[1.5, 0.0, 1.0, 0.0], chunk_size=10, kernel=kernel)
    assert r.success.all()
    np.testing.assert_allclose(r.params[:, 1], np.linspace(-1, 1, 50), atol=1e-8)
