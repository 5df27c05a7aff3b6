"""``lsq.curve_fit_batch``: the same compiled model fitted to many small data sets at once."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numba
import numpy as np

from ._kernels.drivers.batch import BatchData, BatchModel, BatchOutputs, BatchSettings, fit_range
from ._kernels.drivers.compiled import driver_address
from ._kernels.drivers.finite_diff import SCHEME_2POINT, SCHEME_3POINT, default_rstep
from ._kernels.drivers.lanes import fit_range_lanes
from ._kernels.engine.codes import (
    EPS,
    ESTIMATOR_LEAST_SQUARES,
    O_RULE,
    O_SOLVER,
    RULE_TRUST_REGION,
    SOLVER_CHOLESKY,
)
from ._setup import options as opt
from ._setup.result import TERMINATION_MESSAGES
from ._setup.validate import check_bounds, check_choice, check_estimator, check_tolerance
from ._setup.workspace import make_packed_workspace, make_scratch
from ._tiers import route
from ._tiers.current import INTERPRETED, tier
from ._tiers.current import kernel as tiered
from .model import Model, as_points

__all__ = ["BatchResult", "curve_fit_batch"]

DEFAULT_CHUNK = 65536
"""Fits per kernel call; bounds the peak memory of the outputs' temporaries and sets the progress step."""


@dataclass
class BatchResult:
    """Results of :func:`curve_fit_batch`, one row (or entry) per fit.

    Attributes
    ----------
    params, stderr : ndarray, shape (k, n)
        Fitted parameters and their standard errors (NaN for fits that could not start).
    cost : ndarray, shape (k,)
        ``0.5 * sum(((f - y) / sigma)**2)`` at the solution (``estimator='poisson'``: half the Poisson
        deviance).
    nit, nfev : ndarray of int, shape (k,)
        Iterations and model evaluations (finite-difference evaluations included).
    status : ndarray of int, shape (k,)
        Termination status as in :func:`lsq.least_squares` (1-4 converged, 0 iteration/evaluation limit,
        -3 non-finite residuals or Jacobian, -4 bad input: NaN data or start, start outside bounds).
    success : ndarray of bool, shape (k,)
        ``status > 0``.
    param_names : tuple of str
    """

    params: np.ndarray
    stderr: np.ndarray
    cost: np.ndarray
    nit: np.ndarray
    nfev: np.ndarray
    status: np.ndarray
    success: np.ndarray
    param_names: tuple = field(default=())
    tier: str = "compiled"
    """The tier the batch ran on: ``'compiled'``, or ``'interpreted'`` (see :mod:`lsq._tiers.route`)."""

    def message(self, i):
        """Termination message of fit ``i``."""
        return TERMINATION_MESSAGES[int(self.status[i])]

    def __len__(self):
        return self.params.shape[0]


def _as_rows(a, name, k, width):
    """``a`` as a C-ordered ``(k or 1, width)`` float array (a 1-D ``a`` of length ``width`` is shared)."""
    a = np.asarray(a, dtype=float)
    if a.ndim == 1 and a.shape[0] == width:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] != width or a.shape[0] not in (1, k):
        raise ValueError(f"`{name}` must have shape ({width},) or ({k}, {width}), got {a.shape}.")
    return np.ascontiguousarray(a)


def _points(model, x, k, m):
    """``x`` as ``(k or 1, d, m)``: shared points ``(m,)``/``(d, m)`` or per-fit ``(k, m)``/``(k, d, m)``.

    A built-in model declares ``d``; for a user's model, a 2-D ``x`` with ``k`` rows holds the 1-D points of
    each fit, and with any other number of rows ``d`` shared coordinates (a batch of ``k == d`` fits of
    ``d``-dimensional shared points gives them as ``(1, d, m)``)."""
    x = np.asarray(x, dtype=float)
    d = model.x_ndim
    per_fit_1d = x.ndim == 2 and x.shape == (k, m) and (d or 1) == 1
    shared_2d = x.ndim == 2 and not per_fit_1d and (x.shape == (d, m) if d else x.shape[-1] == m)
    if x.ndim == 1 or shared_2d:
        X = as_points(x, "x")[None]
    elif per_fit_1d:
        X = x[:, None, :]
    elif x.ndim == 3 and x.shape[0] in (1, k):
        X = x
    else:
        raise ValueError(f"`x` must be shared, shape (m,), (d, m) or (1, d, m), or per fit, (k, m) or (k, d, m), "
                         f"with m = {m} points and k = {k} fits; got {x.shape}.")
    if X.shape[-1] != m:
        raise ValueError(f"`x` has {X.shape[-1]} points per fit but `Y` has {m}.")
    return np.ascontiguousarray(X)


def curve_fit_batch(model, x, Y, p0=None, sigma=None, bounds=None, method="lm", max_nfev=None, tol=None, *,
                    ftol=1e-8, xtol=1e-8, gtol=1e-8, max_iterations=None, absolute_sigma=False, jac=None,
                    damping="trust-region", linear_solver="cholesky", chunk_size=DEFAULT_CHUNK, progress=False,
                    compute=False, estimator="least_squares", kernel="auto"):
    """Fit one compiled model to each row of ``Y``, in parallel, in compiled code.

    Parameters
    ----------
    model : Model
        A built-in (:mod:`lsq.models`) or ``@lsq.model`` model.
    x : array_like
        Points, shared by all fits (``(m,)``, or ``(d, m)`` or ``(1, d, m)`` for multi-dimensional models) or
        per fit (``(k, m)`` or ``(k, d, m)``). A user's ``@lsq.model`` takes ``d`` from a shared ``(d, m)``;
        when ``d`` equals the number of fits ``k``, a ``(k, m)`` ``x`` is read as per-fit 1-D points, so give
        shared points as ``(1, d, m)``.
    Y : array_like or dask array, shape (k, m)
        One data set per row. A dask array (chunked along fits) returns dask arrays computed block by block,
        on whatever scheduler is active (for example a ``distributed`` cluster).
    p0 : array_like, optional
        Starting values, shared ``(n,)`` or per fit ``(k, n)``. Default: the model's ``guess`` per fit.
    sigma : array_like, optional
        Standard deviations of ``Y``, shared ``(m,)`` or per fit ``(k, m)``.
    bounds : 2-tuple, optional
        Lower and upper bounds shared by all fits.
    method : {'lm', 'levenberg', 'gn'}
    max_nfev : int, optional
        Evaluations per fit, finite-difference calls left out as in :func:`lsq.least_squares` (default
        ``100 * n``); ``nfev`` in the result counts the same evaluations.
    tol : float, optional
        Relative cost (chi-square) tolerance: shorthand for ``ftol`` (Gpufit's ``tolerance``).
    ftol, xtol, gtol : float
        Stopping tolerances as in :func:`lsq.least_squares`.
    max_iterations : int, optional
        Accepted iterations per fit (Gpufit's ``max_number_iterations``).
    absolute_sigma : bool
        Standard errors as in :func:`scipy.optimize.curve_fit`.
    jac : {None, '2-point', '3-point'}
        None uses the model's analytic Jacobian when it has one.
    damping, linear_solver : str
        As in :func:`lsq.least_squares`, except that ``linear_solver`` defaults to ``'cholesky'``: on small
        well-posed fits it is about 1.7x faster than QR (a singular system still raises ``lam`` instead of
        failing); pass ``'qr'`` for ill-conditioned models.
    chunk_size : int
        Fits per kernel call. Peak memory beyond the inputs and outputs is one workspace per chunk of the
        kernel's split (about ``8 * (4 m n + 6 m + 4 n**2)`` bytes each, a few per thread), independent of k.
    progress : bool
        Show a tqdm progress bar over chunks (needs ``tqdm``).
    compute : bool
        With a dask ``Y``, compute the result (numpy arrays) instead of returning dask arrays.
    estimator : {'least_squares', 'poisson'}
        ``'poisson'`` fits counts ``Y >= 0`` by Poisson maximum likelihood (see :func:`lsq.fit`); standard
        errors then come from the Fisher information, and a row with a negative count is bad input.
    kernel : {'auto', 'lanes', 'per-fit'}
        ``'lanes'`` runs 8 fits at a time across SIMD lanes (:mod:`lsq._kernels.lanes.engine`: the same
        algorithm, laid out so that the model, ``J^T J`` and the small solves vectorise). It needs a model
        with a lanes kernel (every built-in, or a ``@lsq.model`` function with ``jac='auto'`` that works point
        by point, run on jets over the lanes: :mod:`lsq._kernels.lanes.lane_jets`) and its exact Jacobian,
        ``method='lm'``, ``damping='trust-region'`` and ``linear_solver='cholesky'``; bounds and
        ``estimator='poisson'`` run on the lanes too. A fit that leaves the paths the lanes take is re-run on
        the per-fit engine. ``'per-fit'`` runs each fit on the per-fit engine. ``'auto'`` takes the lanes
        when they apply. Both give the same fits up to rounding (the lanes' ``exp``, ``log``, ``sin`` and
        ``cos`` are within 2 ulp of libm's).

    Returns
    -------
    BatchResult
        Arrays ``params``, ``stderr``, ``cost``, ``nit``, ``nfev``, ``status``, ``success``. A fit that fails
        is reported in ``status``; the batch never raises for one bad fit.

    Examples
    --------
    >>> import numpy as np, lsq
    >>> x = np.linspace(0, 5, 20)
    >>> Y = np.array([a * np.exp(-x / t) + 1 for a, t in [(2, 1), (3, 2), (4, 0.5)]])
    >>> r = lsq.curve_fit_batch(lsq.models.exponential, x, Y, p0=[1, 1, 0])
    >>> np.round(r.params[:, 1], 6)
    array([1. , 2. , 0.5])
    """
    with route.call("batch", np.size(Y) * getattr(model, "n_params", 1) * (getattr(model, "n_params", 1) + 1)):
        out = _curve_fit_batch(model, x, Y, p0, sigma, bounds, method, max_nfev, tol, ftol=ftol, xtol=xtol, gtol=gtol,
                              max_iterations=max_iterations, absolute_sigma=absolute_sigma, jac=jac, damping=damping,
                              linear_solver=linear_solver, chunk_size=chunk_size, progress=progress, compute=compute,
                              estimator=estimator, kernel=kernel)
        if isinstance(out, BatchResult):
            out.tier = tier()
    return out


def _curve_fit_batch(model, x, Y, p0=None, sigma=None, bounds=None, method="lm", max_nfev=None, tol=None, *,
                    ftol=1e-8, xtol=1e-8, gtol=1e-8, max_iterations=None, absolute_sigma=False, jac=None,
                    damping="trust-region", linear_solver="cholesky", chunk_size=DEFAULT_CHUNK, progress=False,
                    compute=False, estimator="least_squares", kernel="auto"):
    """:func:`curve_fit_batch` on the tier its call was routed to."""
    if not isinstance(model, Model):
        raise TypeError(f"`model` must be an lsq.Model (a built-in or @lsq.model), got {type(model).__name__}.")
    if _is_dask(Y):
        from ._dask import curve_fit_batch_dask

        kw = dict(bounds=bounds, method=method, max_nfev=max_nfev, tol=tol, ftol=ftol, xtol=xtol, gtol=gtol,
                  max_iterations=max_iterations, absolute_sigma=absolute_sigma, jac=jac, damping=damping,
                  linear_solver=linear_solver, estimator=estimator, kernel=kernel)
        return curve_fit_batch_dask(model, x, Y, p0, sigma, compute=compute, **kw)
    Y = np.asarray(Y, dtype=float)
    if Y.ndim != 2:
        raise ValueError(f"`Y` must have shape (k, m): one data set per row; got {Y.shape}.")
    k, m = Y.shape
    n = model.n_params
    estimator_code = check_estimator(estimator, sigma)
    X = _points(model, x, k, m)
    wts = np.ones((1, m)) if sigma is None else 1.0 / _as_rows(sigma, "sigma", k, m)
    use_guess = p0 is None
    if use_guess and not model.has_guess:
        raise ValueError(f"`p0` is required: model `{model.name}` has no guess(x, y).")
    P0 = np.zeros((1, n)) if use_guess else _as_rows(p0, "p0", k, n)
    lb, ub = check_bounds(bounds, n)
    if P0.shape[0] == 1 and not use_guess and np.any((P0[0] < lb) | (P0[0] > ub)):
        raise ValueError("`p0` is outside of the provided `bounds`.")
    method = opt.METHOD_ALIASES.get(method, method)
    check_choice("method", method, opt.METHODS)
    check_choice("damping", damping, tuple(opt.DAMPING))
    check_choice("linear_solver", linear_solver, ("auto", "cholesky", "qr"))
    if jac is not None:
        check_choice("jac", jac, ("2-point", "3-point"))
    if tol is not None:
        ftol = tol
    ftol, xtol, gtol = check_tolerance(ftol, xtol, gtol)
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"`chunk_size` must be a positive int, got {chunk_size!r}.")
    f_addr, j_addr, has_jac = model.tier_kernels(X.shape[1])
    g_addr = model.tier_guess() if use_guess else 0
    has_jac = has_jac and jac is None
    if use_guess and not g_addr:  # a user model's guess is Python: starting values here, one row per fit
        P0, use_guess = _python_guesses(model, X, Y, lb, ub), False
    scheme = SCHEME_3POINT if jac == "3-point" else SCHEME_2POINT
    if max_nfev is None:
        max_nfev = 100 * n
    if max_nfev < 1:
        raise ValueError(f"`max_nfev` must be a positive int, got {max_nfev}.")
    max_nit = 2**62 if max_iterations is None else int(max_iterations)
    if max_nit < 1:
        raise ValueError(f"`max_iterations` must be a positive int, got {max_iterations}.")
    solver, solver_code = opt.resolve_linear_solver(linear_solver, n)
    bounded = bool(np.any(np.isfinite(lb)) or np.any(np.isfinite(ub)))
    x_scale = "jac" if method == "lm" else 1.0
    opts_f, opts_i = opt.EngineOptions(method, damping, "linear", x_scale == "jac", bounded, ftol, xtol, gtol, 1.0,
                                       int(max_nfev), max_nit=max_nit).for_jacobian(
        not has_jac and estimator_code == ESTIMATOR_LEAST_SQUARES).lower(solver_code)
    settings = BatchSettings(opts_f, opts_i, scheme, float(tiered(default_rstep)(scheme, EPS)), True,
                             opt.needs_qr_buffers(solver), absolute_sigma, estimator_code)
    kernel_model = BatchModel(f_addr, j_addr if has_jac else 0, has_jac, g_addr if use_guess else 0, use_guess)
    check_choice("kernel", kernel, ("auto", "lanes", "per-fit"))
    lanes = None  # interpreted, the lanes' vector types have no Python body: every fit on the per-fit engine
    if tier() != INTERPRETED:
        lanes = _lanes_kernel(kernel, model, X.shape[1], has_jac, method, opts_i)
    out = BatchResult(np.empty((k, n)), np.empty((k, n)), np.empty(k), np.empty(k, dtype=np.int64),
                      np.empty(k, dtype=np.int64), np.empty(k, dtype=np.int64), np.empty(k, dtype=bool),
                      model.param_names)
    inputs = BatchData(X, Y, wts, P0, lb, ub, np.ones(n))
    _run_chunks(kernel_model, lanes, inputs, settings, out, chunk_size, progress, model.name)
    out.success[:] = out.status > 0
    return out


MIN_FITS_PER_TASK = 32
"""A batch is split into ranges of at least this many fits (a task on the pool costs tens of microseconds)."""
_POOL = {}


def _in_threads(fit_range_of, k, n_tasks):
    """``fit_range_of(start, stop)`` over ``range(k)`` split into up to ``n_tasks`` ranges, on as many threads as
    numba is set to use (``numba.set_num_threads``); the kernels release the GIL, so the ranges run in
    parallel."""
    if k == 0:
        return
    per = -(-k // max(1, min(n_tasks, k // MIN_FITS_PER_TASK)))
    ranges = [(a, min(k, a + per)) for a in range(0, k, per)]
    threads = numba.get_num_threads()
    if threads == 1 or len(ranges) == 1:
        for a, b in ranges:
            fit_range_of(a, b)
        return
    pool = _POOL.get(threads)
    if pool is None:
        pool = _POOL[threads] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="lsq-batch")
    for task in [pool.submit(fit_range_of, a, b) for a, b in ranges]:
        task.result()


def _buffers(data, outputs, settings):
    """A workspace and scratch set for one range of fits (the batch fits use the linear loss)."""
    m, n = data.Y.shape[1], outputs.params.shape[1]
    _, packed = make_packed_workspace(m, n, settings.qr, 0, True, True, False)
    return (*packed, make_scratch(m, n))


def fit_batch(kernel_model, data, settings, outputs, n_tasks):
    """Fit every row of ``data.Y`` on the per-fit kernel (:func:`lsq._kernels.drivers.batch.fit_range`); the
    interpreted kernel holds the GIL, so it runs the whole range on this thread."""
    run = tiered(fit_range)  # resolved on this thread: the pool's threads are outside the call's tier
    if tier() == INTERPRETED:
        run(driver_address(), kernel_model, data, settings, outputs, 0, data.Y.shape[0],
            *_buffers(data, outputs, settings))
        return

    driver = driver_address()

    def fit(a, b):
        run(driver, kernel_model, data, settings, outputs, a, b, *_buffers(data, outputs, settings))

    _in_threads(fit, data.Y.shape[0], n_tasks)


def fit_batch_lanes(lanes_addr, kernel_model, data, settings, outputs, n_tasks):
    """Fit every row of ``data.Y`` on the lanes kernel (:func:`lsq._kernels.drivers.lanes.fit_range_lanes`)."""

    driver = driver_address()

    def fit(a, b):
        fit_range_lanes(lanes_addr, driver, kernel_model, data, settings, outputs, a, b)

    _in_threads(fit, data.Y.shape[0], n_tasks)


def _run_chunks(kernel_model, lanes, inputs, settings, out, chunk_size, progress, name):
    """Fit ``inputs`` (:class:`BatchData` over all fits) chunk by chunk into ``out``, on the lanes kernel when
    ``lanes`` is a model's lanes kernel, else on the per-fit kernel."""
    X, Y, wts, P0, lb, ub, d0 = inputs
    k = Y.shape[0]
    n_chunks_kernel = 8 * numba.get_num_threads()
    starts = range(0, k, chunk_size)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, total=len(starts), unit="chunk", desc=f"fitting {k} x {name}")
    for a in starts:
        b = min(k, a + chunk_size)
        data = BatchData(X if X.shape[0] == 1 else X[a:b], Y[a:b], wts if wts.shape[0] == 1 else wts[a:b],
                         P0 if P0.shape[0] == 1 else P0[a:b], lb, ub, d0)
        outputs = BatchOutputs(out.params[a:b], out.stderr[a:b], out.cost[a:b], out.nit[a:b], out.nfev[a:b],
                               out.status[a:b])
        if lanes is None:
            fit_batch(kernel_model, data, settings, outputs, min(n_chunks_kernel, b - a))
        else:
            fit_batch_lanes(lanes.address, kernel_model, data, settings, outputs, min(n_chunks_kernel, b - a))


def _lanes_kernel(kernel, model, x_dims, has_jac, method, opts_i):
    """The model's lanes kernel when ``kernel`` asks for it (or, with ``'auto'``, when the fit qualifies), else
    None; ``kernel='lanes'`` on a fit the lanes cannot run raises, naming what stands in the way."""
    check_choice("kernel", kernel, ("auto", "lanes", "per-fit"))
    if kernel == "per-fit":
        return None
    reasons = []
    if not has_jac:
        reasons.append("finite differences (jac='2-point'/'3-point')")
    if method != "lm" or opts_i[O_RULE] != RULE_TRUST_REGION:
        reasons.append("a method or damping other than method='lm', damping='trust-region'")
    if opts_i[O_SOLVER] != SOLVER_CHOLESKY:
        reasons.append("linear_solver other than 'cholesky'")
    lanes = None
    if not reasons or kernel == "lanes":  # a user's model compiles its lanes kernel only when it can run
        lanes = model.lanes_kernel(x_dims)
        if lanes is None:
            why = f" ({model.lanes_failure})" if model.lanes_failure else ""
            reasons.insert(0, f"model `{model.name}` has no lanes kernel{why}")
    if not reasons:
        return lanes
    if kernel == "lanes":
        raise ValueError("kernel='lanes' cannot run this batch: " + "; ".join(reasons) + ". Use kernel='auto'.")
    return None


def _python_guesses(model, X, Y, lb, ub):
    """Starting values from a model's Python ``guess(x, y)`` for every fit, clipped into the bounds (as the
    compiled guess rules are); NaN for a fit whose data are not finite (it is then reported as bad input)."""
    P0 = np.full((Y.shape[0], model.n_params), np.nan)
    for i in range(Y.shape[0]):
        Xi = X[i] if X.shape[0] > 1 else X[0]
        if np.all(np.isfinite(Y[i])):
            P0[i] = np.clip(model.guess(Xi[0] if Xi.shape[0] == 1 else Xi, Y[i]), lb, ub)
    return P0


def _is_dask(a):
    return type(a).__module__.split(".")[0] == "dask"

