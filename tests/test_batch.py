"""curve_fit_batch: equal to per-fit fits, failures reported per fit, input shapes, the dask back end."""

import numpy as np
import pytest

import lsq
from lsq.datasets import load_nist
from lsq.models import exponential, gaussian, gaussian_2d

XY = np.stack([g.ravel() for g in np.meshgrid(np.arange(5.0), np.arange(5.0))])


def gpufit_like(k, seed=0):
    """Gpufit's benchmark data: 2-D Gaussian on 5x5 pixels, parameters within +-10 %, SNR 10."""
    rng = np.random.default_rng(seed)
    truth = np.array([500.0, 2.0, 2.0, 1.0, 10.0]) * (1 + 0.1 * rng.uniform(-1, 1, (k, 5)))
    clean = np.array([gaussian_2d(XY, *p) for p in truth])
    Y = clean + rng.standard_normal(clean.shape) * truth[:, :1] / 10
    p0 = truth * (1 + 0.1 * rng.uniform(-1, 1, (k, 5)))
    return truth, Y, p0


def test_batch_equals_per_fit_curve_fit():
    truth, Y, p0 = gpufit_like(300)
    r = lsq.curve_fit_batch(gaussian_2d, XY, Y, p0=p0)
    assert r.success.all()
    for i in range(300):
        popt, pcov = lsq.curve_fit(gaussian_2d, XY, Y[i], p0=p0[i])
        np.testing.assert_allclose(r.params[i], popt, rtol=1e-10)
        np.testing.assert_allclose(r.stderr[i], np.sqrt(np.diag(pcov)), rtol=1e-6)


def test_batch_with_guess_and_per_fit_x():
    rng = np.random.default_rng(3)
    x = np.sort(rng.uniform(0, 6, (50, 40)), axis=1)
    amp, tau = rng.uniform(1, 5, 50), rng.uniform(0.5, 2, 50)
    Y = amp[:, None] * np.exp(-x / tau[:, None]) + 0.3 + 0.005 * rng.standard_normal(x.shape)
    r = lsq.curve_fit_batch(exponential, x, Y)
    assert r.success.all()
    np.testing.assert_allclose(r.params[:, 1], tau, rtol=0.05)
    assert r.param_names == ("amplitude", "decay", "offset")


def test_nan_rows_and_hopeless_fits_get_statuses_and_the_rest_succeed():
    truth, Y, p0 = gpufit_like(60, seed=1)
    Y[3, 7] = np.nan
    p0[5, 1] = np.inf
    Y[9] = 0.0  # no signal: width and centre are undetermined, the fit cannot converge normally
    p0[9] = [1.0, 50.0, -50.0, 0.01, 0.0]
    r = lsq.curve_fit_batch(gaussian_2d, XY, Y, p0=p0, max_nfev=50)
    assert r.status[3] == -4 and r.status[5] == -4
    assert np.isnan(r.params[3]).all() and not r.success[3]
    assert not r.success[9] or not np.isclose(r.params[9, 3], 1.0, rtol=0.5)
    ok = np.setdiff1d(np.arange(60), [3, 5, 9])
    assert r.success[ok].all()
    assert "bad input" in r.message(3).lower() or "could not start" in r.message(3).lower()


def test_p0_shapes_shared_and_per_fit():
    truth, Y, p0 = gpufit_like(20, seed=2)
    tight = dict(ftol=1e-14, xtol=1e-14, gtol=1e-14)
    shared = lsq.curve_fit_batch(gaussian_2d, XY, Y, p0=p0.mean(axis=0), **tight)
    per_fit = lsq.curve_fit_batch(gaussian_2d, XY, Y, p0=p0, **tight)
    np.testing.assert_allclose(shared.params, per_fit.params, rtol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(Y=np.zeros(25)), r"`Y` must have shape \(k, m\)"),
        (dict(p0=np.zeros(4)), r"`p0` must have shape \(5,\) or \(10, 5\)"),
        (dict(p0=np.zeros((3, 5))), r"`p0` must have shape"),
        (dict(sigma=np.ones(24)), r"`sigma` must have shape"),
        (dict(x=np.zeros((2, 24))), r"`x`"),
        (dict(method="bfgs"), r"`method` must be one of"),
        (dict(bounds=([0] * 5, [1] * 5)), r"`p0` is outside of the provided `bounds`"),
    ],
)
def test_bad_shapes_give_clear_errors(kwargs, match):
    args = dict(x=XY, Y=np.ones((10, 25)), p0=np.array([500.0, 2, 2, 1, 10]))
    args.update(kwargs)
    x, Y = args.pop("x"), args.pop("Y")
    with pytest.raises(ValueError, match=match):
        lsq.curve_fit_batch(gaussian_2d, x, Y, **args)


def test_model_without_guess_needs_p0():
    @lsq.model
    def line(x, a, b):
        return a * x + b

    with pytest.raises(ValueError, match="`p0` is required"):
        lsq.curve_fit_batch(line, np.arange(5.0), np.ones((3, 5)))
    r = lsq.curve_fit_batch(line, np.arange(5.0), np.arange(15.0).reshape(3, 5), p0=[0.0, 0.0])
    np.testing.assert_allclose(r.params, [[1, 0], [1, 5], [1, 10]], atol=1e-10)


def test_progress_bar_and_chunks_give_same_results():
    truth, Y, p0 = gpufit_like(50, seed=4)
    a = lsq.curve_fit_batch(gaussian_2d, XY, Y, p0=p0, chunk_size=7, progress=True)
    b = lsq.curve_fit_batch(gaussian_2d, XY, Y, p0=p0)
    np.testing.assert_array_equal(a.params, b.params)


def test_dask_array_equals_numpy_on_a_local_cluster():
    da = pytest.importorskip("dask.array")
    distributed = pytest.importorskip("distributed")
    truth, Y, p0 = gpufit_like(400, seed=5)
    expected = lsq.curve_fit_batch(gaussian_2d, XY, Y, p0=p0)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        lazy = lsq.curve_fit_batch(gaussian_2d, XY, da.from_array(Y, chunks=(100, 25)), p0=p0)
        assert hasattr(lazy.params, "compute")
        got = lsq.curve_fit_batch(gaussian_2d, XY, da.from_array(Y, chunks=(100, 25)), p0=p0, compute=True)
    np.testing.assert_array_equal(got.params, expected.params)
    np.testing.assert_array_equal(got.status, expected.status)
    np.testing.assert_array_equal(lazy.params.compute(scheduler="threads"), expected.params)


def test_gaussian_batch_uses_guess_per_fit():
    x = np.linspace(-5, 5, 60)
    rng = np.random.default_rng(9)
    centers = rng.uniform(-2, 2, 30)
    Y = np.array([gaussian(x, 2.0, c, 0.8, 0.1) for c in centers]) + 0.02 * rng.standard_normal((30, 60))
    r = lsq.curve_fit_batch(gaussian, x, Y)
    assert r.success.all()
    np.testing.assert_allclose(r.params[:, 1], centers, atol=0.05)


@lsq.model
def rise(x, a, k):
    return a * (1 - np.exp(-k * x))


def test_batch_undoes_steps_onto_a_plateau_like_a_single_fit():
    """BoxBOD from its first NIST start, four times in one batch: the first steps send k to about 100,
    where exp(-k x) underflows; each fit undoes them as the single (compiled and Python) fits do, and
    reaches the certified values."""
    p = load_nist("BoxBOD")
    r = lsq.curve_fit_batch(rise, p.x, np.tile(p.y, (4, 1)), p0=p.start(1))
    assert r.success.all()
    # like with like: the batch's default linear solver is Cholesky
    compiled = lsq.least_squares(rise.residuals(p.x, p.y), p.start(1), linear_solver="cholesky")
    with np.errstate(all="ignore"):
        python = lsq.least_squares(p.residuals, p.start(1))
    for fit in (*r.params, compiled.x, python.x):
        assert p.lre(fit).min() >= 4, fit
    np.testing.assert_allclose(r.params, np.tile(compiled.x, (4, 1)), rtol=1e-12)


def test_user_model_with_a_python_guess_starts_every_fit_from_it():
    @lsq.model(guess=lambda x, y: [y.max(), 1.0])
    def decay(x, a, k):
        return a * np.exp(-k * x)

    x = np.linspace(0, 4, 20)
    Y = np.array([3 * np.exp(-1.2 * x), 2 * np.exp(-0.7 * x), np.full(20, np.nan)])
    r = lsq.curve_fit_batch(decay, x, Y)
    np.testing.assert_allclose(r.params[:2], [[3, 1.2], [2, 0.7]], rtol=1e-8)
    assert list(r.success) == [True, True, False]


def test_a_worker_lost_mid_batch_loses_no_fit():
    """A distributed worker process dies while the batch runs: the scheduler re-runs its blocks on the other
    worker (and the restarted one), and every fit comes back exactly once, equal to the numpy batch."""
    import os
    import time

    da = pytest.importorskip("dask.array")
    distributed = pytest.importorskip("distributed")
    truth, Y, p0 = gpufit_like(160_000, seed=11)
    expected = lsq.curve_fit_batch(gaussian_2d, XY, Y, p0=p0)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        lazy = lsq.curve_fit_batch(gaussian_2d, XY, da.from_array(Y, chunks=(4000, 25)), p0=p0)
        future = client.compute(lazy.params)
        deadline = time.monotonic() + 60
        while not any(client.processing().values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        victim = sorted(client.scheduler_info()["workers"])[0]
        assert not future.done()
        try:
            client.run(os._exit, 1, workers=[victim])  # the worker process dies without cleaning up
        except Exception:  # noqa: BLE001 - the connection to the dying worker breaks
            pass
        got = future.result(timeout=300)
        assert victim not in client.scheduler_info()["workers"]  # it died (its replacement has a new address)
    np.testing.assert_array_equal(got, expected.params)


def test_batch_stderr_follows_the_rank_test_of_fit():
    """One rank test for every entry point: what fit() reports as undetermined has no finite standard error
    in the batch either, and a well-posed fit's standard errors agree with fit()'s."""
    @lsq.model
    def product_decay(x, a, b, k):
        return a * b * np.exp(-k * x)

    x = np.linspace(0, 4, 50)
    rng = np.random.default_rng(8)
    Y = np.array([2.0 * np.exp(-0.7 * x) + 0.01 * rng.standard_normal(x.size) for _ in range(4)])
    b = lsq.curve_fit_batch(product_decay, x, Y, p0=[1.0, 1.0, 1.0])
    single = lsq.fit(product_decay, x, Y[0], p0=[1.0, 1.0, 1.0])
    assert np.isinf(single.errors[:2]).all() and np.isfinite(single.errors[2])
    assert np.isinf(b.stderr[:, :2]).all() and np.isfinite(b.stderr[:, 2]).all()
    # a well-posed model: the same numbers as fit()
    Y = np.array([lsq.models.exponential(x, 2.0, 1.4, 0.3) + 0.01 * rng.standard_normal(x.size) for _ in range(4)])
    b = lsq.curve_fit_batch(lsq.models.exponential, x, Y, p0=[1.0, 1.0, 0.0], linear_solver="qr")
    for i in range(4):
        r = lsq.fit(lsq.models.exponential, x, Y[i], p0=[1.0, 1.0, 0.0])
        np.testing.assert_allclose(b.stderr[i], r.errors, rtol=1e-6)


@lsq.model
def _spot(xy, a, x0, y0, s, b):
    """A user's 2-D gaussian spot (the model does not declare its number of coordinates)."""
    return a * np.exp(-((xy[0] - x0) ** 2 + (xy[1] - y0) ** 2) / (2 * s * s)) + b


def _spots(k, seed=5):
    ix, iy = np.meshgrid(np.arange(5.0), np.arange(5.0))
    xy = np.vstack([ix.ravel(), iy.ravel()])  # shared points, shape (2, 25)
    rng = np.random.default_rng(seed)
    truth = np.column_stack([rng.uniform(50, 100, k), rng.uniform(1.5, 2.5, k), rng.uniform(1.5, 2.5, k),
                             rng.uniform(0.8, 1.2, k), rng.uniform(5, 10, k)])
    Y = np.array([gaussian_2d(xy, t[0], t[1], t[2], t[3], t[4]) for t in truth])
    return xy, Y + rng.normal(0, 0.5, Y.shape), truth


def test_user_model_of_2d_points_takes_shared_points():
    """A (d, m) x for a user's model is d shared coordinates (d inferred), on the per-fit kernel as on a single
    fit; the built-in of the same spot takes the same x on the lanes."""
    xy, Y, truth = _spots(300)
    p0 = np.array([70.0, 2.0, 2.0, 1.0, 7.0])
    batch = lsq.curve_fit_batch(_spot, xy, Y, p0=p0)
    assert batch.success.all()
    for i in (0, 137, 299):
        popt, _ = lsq.curve_fit(_spot, xy, Y[i], p0=p0)
        np.testing.assert_allclose(batch.params[i], popt, rtol=1e-6, atol=1e-9)
    lanes = lsq.curve_fit_batch(gaussian_2d, xy, Y, p0=p0, kernel="lanes")
    np.testing.assert_allclose(np.median(np.abs(lanes.params - truth), axis=0),
                               np.median(np.abs(batch.params - truth), axis=0), rtol=0.05)


def test_as_many_fits_as_coordinates_give_shared_points_with_a_leading_axis():
    xy, Y, _ = _spots(2)
    p0 = np.array([70.0, 2.0, 2.0, 1.0, 7.0])
    with pytest.raises(TypeError, match="could not be compiled"):
        lsq.curve_fit_batch(_spot, xy, Y, p0=p0)  # (2, 25) with 2 fits: the 1-D points of each fit
    shared = lsq.curve_fit_batch(_spot, xy[None], Y, p0=p0)
    single = lsq.curve_fit(_spot, xy, Y[1], p0=p0)[0]
    np.testing.assert_allclose(shared.params[1], single, rtol=1e-6, atol=1e-9)
