"""Property-based fuzzing of the public API (run by ``test_fuzz.py`` in a child process, so that a crash of
compiled code fails a test instead of killing pytest).

The invariant for every input: a ``ValueError``/``TypeError`` (or SciPy's ``OptimizeWarning``/``RuntimeError``
where SciPy's API has them), or a result of the right sizes with a status; never a crash, never a result of
the wrong size, never a mutated input array.
"""

import warnings

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from scipy.optimize import OptimizeWarning

import lsq

EXAMPLES = 600
CLEAR = (ValueError, TypeError)
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

finite = st.floats(-1e3, 1e3, allow_nan=False)
special = st.sampled_from([np.nan, np.inf, -np.inf, 1e300, -1e-300, 0.0])
# mostly valid values, so that most examples reach a fit; the rest probe the validation
any_float = st.one_of(finite, finite, finite, finite, finite, special)
dtypes = st.sampled_from([np.float64] * 8 + [np.float32, np.int64, np.complex128, object, str])


def as_array(values, dtype):
    try:
        return np.asarray(values, dtype=dtype)
    except (TypeError, ValueError, OverflowError):
        return np.asarray(values, dtype=object)


@st.composite
def vectors(draw, min_size=0, max_size=8, size=None):
    """Three in four: a clean float64 vector (of ``size`` when given); else any values, length and dtype."""
    if draw(st.integers(0, 3)):
        n = size if size is not None else draw(st.integers(max(min_size, 1), max(max_size, 1)))
        return np.asarray(draw(st.lists(finite, min_size=n, max_size=n)), dtype=float)
    values = draw(st.lists(any_float, min_size=min_size, max_size=max_size))
    return as_array(values, draw(dtypes))


def assert_unchanged(a, copy):
    """The same dtype, shape and bytes (for object arrays: the same element objects), NaN included."""
    assert a.dtype == copy.dtype and a.shape == copy.shape and a.tobytes() == copy.tobytes()


def check_result(res, n):
    assert res.x.shape == (n,)
    assert res.status in (-4, -3, -2, 0, 1, 2, 3, 4)
    assert res.fun.ndim == 1


@SETTINGS
@given(x0=vectors(), m=st.integers(0, 6),
       bad=st.sampled_from(["none", "none", "none", "nan", "short", "2d", "str", "raise"]),
       bounds=st.one_of(st.none(), st.none(), st.tuples(vectors(max_size=4), vectors(max_size=4))),
       method=st.sampled_from(["lm", "levenberg", "gn", "trf", "adam"]))
def test_least_squares_with_any_input(x0, m, bad, bounds, method):
    x0_copy = x0.copy()
    calls = [0]

    def fun(x):
        calls[0] += 1
        r = np.arange(1.0, m + 1.0) * np.tanh(np.sum(x)) - 1.0
        if bad == "nan" and calls[0] > 2:
            r[:1] = np.nan
        elif bad == "short" and calls[0] > 2:
            r = r[:-1]
        elif bad == "2d":
            r = r.reshape(1, -1)
        elif bad == "str":
            return "a"
        elif bad == "raise" and calls[0] > 3:
            raise ArithmeticError("user error")
        return r

    kw = {} if bounds is None else {"bounds": bounds}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = lsq.least_squares(fun, x0, method=method, max_nfev=30, **kw)
    except CLEAR as exc:
        event(f"clear error: {type(exc).__name__}")
    except ArithmeticError as exc:
        assert bad == "raise" and "user error" in str(exc)
        event("the user's exception")
    else:
        check_result(res, np.atleast_1d(x0).size)
        event(f"a result, status {res.status}")
    assert_unchanged(x0, x0_copy)


MODELS = {"gaussian": (lsq.models.gaussian, 4), "exponential": (lsq.models.exponential, 3),
          "python": (lambda x, a, b: a * np.exp(-b * x**2), 2)}


@SETTINGS
@given(data=st.data(), model=st.sampled_from(sorted(MODELS)),
       m=st.one_of(st.integers(6, 12), st.integers(6, 12), st.integers(0, 12)),
       ylen=st.sampled_from([0, 0, 0, -2, -1, 1, 2]), ydtype=dtypes,
       nan_policy=st.sampled_from([None, "omit", "raise"]))
def test_curve_fit_with_any_input(data, model, m, ylen, ydtype, nan_policy):
    f, n = MODELS[model]
    p0 = data.draw(st.one_of(st.none(), vectors(size=n), vectors(size=n), vectors()), label="p0")
    sigma = data.draw(st.one_of(st.none(), st.none(), vectors(size=m), vectors(max_size=14)), label="sigma")
    x = np.linspace(-2.0, 2.0, m)
    y = np.exp(-x**2)[: max(0, m + ylen)] if ylen <= 0 else np.r_[np.exp(-x**2), np.ones(ylen)]
    y = y if data.draw(st.integers(0, 3), label="clean y") else as_array(y, ydtype)
    copies = [None if a is None else a.copy() for a in (p0, y, sigma)]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            popt, pcov = lsq.curve_fit(f, x, y, p0=p0, sigma=sigma, nan_policy=nan_policy, maxfev=50)
    except (*CLEAR, RuntimeError, OptimizeWarning) as exc:
        event(f"error: {type(exc).__name__}")
    else:
        event("a fit")
        assert popt.shape == (n,) and pcov.shape == (n, n)
    for a, c in zip((p0, y, sigma), copies, strict=True):
        if a is not None:
            assert_unchanged(a, c)


@SETTINGS
@given(k=st.integers(0, 5), m=st.integers(0, 10), p0=st.one_of(st.none(), vectors(max_size=6)),
       nan_rows=st.lists(st.integers(0, 4), max_size=3), bounds=st.one_of(st.none(), st.just(([0, -5, 0.1, -5],
                                                                                             [10, 5, 5, 5]))))
def test_curve_fit_batch_with_any_input(k, m, p0, nan_rows, bounds):
    x = np.linspace(-2.0, 2.0, m)
    Y = np.array([lsq.models.gaussian(x, 1.0 + i, 0.1 * i, 0.7, 0.0) for i in range(k)]).reshape(k, m)
    for i in nan_rows:
        if i < k and m:
            Y[i, 0] = np.nan
    Y_copy = Y.copy()
    try:
        r = lsq.curve_fit_batch(lsq.models.gaussian, x, Y, p0=p0, bounds=bounds, max_nfev=40)
    except CLEAR as exc:
        event(f"clear error: {type(exc).__name__}")
    else:
        event("a batch")
        assert r.params.shape == (k, 4) and r.status.shape == (k,)
        for i in set(nan_rows):
            if i < k and m:
                assert not r.success[i]  # a bad row is a status, never an exception for the batch
    assert_unchanged(Y, Y_copy)


@SETTINGS
@given(p=st.lists(any_float, min_size=0, max_size=7), x=vectors(max_size=10))
def test_model_evaluation_with_any_parameters(p, x):
    for model in (lsq.models.gaussian, lsq.models.exponential):
        for call in (model, model.jacobian):
            try:
                out = np.asarray(call(x, *p))
            except CLEAR:
                continue
            assert out.shape[0] == np.atleast_1d(x).shape[-1]
