"""``lsq.least_squares``: SciPy's signature and result, served by one damped-step engine.

The entry checks its arguments once (:mod:`lsq._setup.validate`) into a description of the fit (:class:`Fit`, with
the frozen options of :class:`lsq._setup.options.EngineOptions`), routes the call to its tier
(:mod:`lsq._tiers.route`: compiled kernels, or their interpreted twins while numba compiles) and hands it to its
path (:func:`_run`): a compiled model's fit runs whole in the engine (:func:`_solve_compiled`), anything that
needs Python during the fit goes through the Python driver (:func:`_solve_python`), first-order methods to
:mod:`lsq.first_order`.
"""

from collections import namedtuple

import numpy as np

from ._kernels.engine import layout as slot
from ._kernels.engine.codes import (
    ESTIMATOR_LEAST_SQUARES,
    PHASE_RESET,
    SOLVER_AUTO,
    SOLVER_CHOLESKY,
    SOLVER_EXTERNAL,
    SOLVER_NORMAL,
    SOLVER_QR,
    STATUS_BAD_INPUT,
    STATUS_NONFINITE,
)
from ._large.held_jacobian import HeldJacobian, jacobian_kind
from ._large.row_chunks import RowChunkedJacobian
from ._large.solvers import ConjugateGradient, Lsmr, Schur
from ._python.driver import run_python
from ._python.model_problem import ModelResiduals
from ._python.problem import FD_SCHEMES, Mapper, PythonProblem
from ._python.second_order import SecondOrder
from ._setup import options as opt
from ._setup.result import build_result
from ._setup.validate import (
    check_bounds,
    check_hessian,
    check_max_nfev,
    check_options,
    check_tolerance,
    check_x0,
    check_x0_in_bounds,
    check_x_scale,
    has_bounds,
)
from ._setup.workspace import make_packed_workspace
from ._tiers import route
from ._tiers.current import tier
from .first_order import FIRST_ORDER, solve_first_order

__all__ = ["least_squares"]

_NONFINITE_X0 = "Residuals are not finite in the initial point `x0`: `fun(x0)` returned NaN or inf."


def least_squares(
    fun, x0, jac="2-point", bounds=(-np.inf, np.inf), method="lm", ftol=1e-8, xtol=1e-8, gtol=1e-8,
    x_scale=None, loss="linear", f_scale=1.0, diff_step=None, tr_solver=None, tr_options=None,
    jac_sparsity=None, max_nfev=None, verbose=0, args=(), kwargs=None, callback=None, workers=None,
    *, damping=None, linear_solver="auto", history=1000, memory_budget=2**30, lr=None, beta1=0.9,
    beta2=0.999, eps=1e-8, momentum=0.9, batch_size=None, epochs=None, seed=None, schedule=None, minibatch=False,
    grad=None, schur=None, factor=100.0, hessian=None, hess=None, validation_data=None, patience=None,
):
    """Solve a nonlinear least-squares problem with bounds and a robust loss.

    Minimise ``F(x) = 0.5 * sum(rho(f_i(x)**2))`` subject to ``lb <= x <= ub`` by a damped Gauss-Newton
    iteration ``(J^T J + lam*D) dx = -J^T f`` (see :mod:`lsq._kernels.engine.loop`). Arguments, defaults and
    result fields follow :func:`scipy.optimize.least_squares`.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args, **kwargs) -> array_like, shape (m,)``: the residuals. The residuals of a compiled
        model, ``model.residuals(xdata, ydata, sigma)`` (see :func:`lsq.model`), run the whole fit in
        compiled code (unless a callback, a callable loss or ``jac='cs'`` needs Python); their
        ``jac='2-point'`` default then means the model's analytic Jacobian when it has one.
    x0 : array_like, shape (n,) or float
        Starting point; must be finite and inside ``bounds``.
    jac : {'2-point', '3-point', 'cs'} or callable
        Finite-difference scheme (SciPy's step rules; ``'cs'`` is the complex step) or
        ``jac(x, *args, **kwargs) -> (m, n)`` (a dense array or a scipy.sparse matrix).
    bounds : 2-tuple of array_like or `scipy.optimize.Bounds`
        Lower and upper bounds; every method honours them (steps are projected onto the box and the
        variables held at a bound by the gradient are fixed for the step).
    method : {'lm', 'levenberg', 'gn', 'newton', 'gd', 'sgd', 'momentum', 'nesterov', 'rmsprop', 'adam', 'auto'}
        Levenberg-Marquardt (``D`` = running max of ``diag(J^T J)``, Moré's scaling), Levenberg
        (``D = I``), Gauss-Newton with a backtracking line search, or Newton: LM's damping and scaling on the
        exact Hessian ``J^T J + sum f_i grad^2 f_i`` (``hessian='exact'``), which converges quadratically
        where the residuals stay large at the solution. ``'trf'`` and ``'dogbox'`` are
        accepted as aliases of ``'lm'``. The first-order methods (see :mod:`lsq.first_order`) take one
        gradient ``J^T f`` per step. ``'auto'`` is ``'lm'`` when its Jacobian fits in
        ``memory_budget`` bytes (dense; sparse by ``jac_sparsity``; or, for a compiled model, ``J^T J``
        assembled by chunks, about 24 bytes per residual), else ``'adam'`` on minibatches that do;
        ``result.method`` says which ran.
    ftol, xtol, gtol : float or None
        Stop when ``dF < ftol * F`` (with gain ratio > 0.25), when ``||dx_s|| < xtol * (xtol + ||x_s||)`` in
        the scaled variables, or when ``||g * v||_inf < gtol`` (``v`` the Coleman-Li scaling, 1 without
        bounds). ``None`` disables a test; at least one must exceed machine epsilon.
    x_scale : None, array_like, 'jac' or 'jac-restart'
        Characteristic scale of the variables. ``'jac'``: Moré's scaling, the running maximum of the column
        norms of ``J`` (MINPACK's and SciPy's ``lm``); ``'jac-restart'``: the same, taken again from the
        current column norms (with the trust-region radius) after every ``100 * (n + 1)`` evaluations without
        convergence, so that scales from a far start do not hold the fit to a crawl (``result.restarts``
        counts them; a restart needs ``max_nfev`` above ``100 * (n + 1)``). ``None`` is ``'jac-restart'`` for
        ``lm`` and ``newton`` and 1 otherwise; see ``docs/methods.md`` for the measurement behind the choice.
    loss : {'linear', 'soft_l1', 'huber', 'cauchy', 'arctan'} or callable
        Robust loss ``rho(z)`` of ``z = (f / f_scale)**2``; a callable returns ``(3, m)`` values and first
        and second derivatives, as in SciPy.
    f_scale : float
        Soft margin between inlier and outlier residuals.
    diff_step : None or array_like
        Relative finite-difference step. By default, 2-point differences step ``sqrt(eps) * |x_j|``
        (``sqrt(eps)`` where ``x_j = 0``), MINPACK's rule, which SciPy's ``method='lm'`` and ``curve_fit``
        use; 3-point and complex steps follow SciPy's ``least_squares`` (relative to ``max(1, |x_j|)``).
    tr_solver, tr_options : optional
        SciPy's names: ``tr_solver='lsmr'`` makes ``linear_solver='auto'`` use LSMR for a sparse or
        ``LinearOperator`` Jacobian; ``tr_options={'maxiter': k}`` caps the inner iterations of
        ``'cg'``/``'lsmr'`` (default ``min(n, 500)``).
    jac_sparsity : None, array_like or sparse matrix, shape (m, n)
        Pattern of the Jacobian (non-zero where ``f_i`` depends on ``x_j``): finite differences then perturb
        groups of columns that share no row (greedy colouring, compiled assembly) and return a CSR
        matrix, so a Jacobian costs one call of ``fun`` per group. Ignored when ``jac`` is callable.
    max_nfev : None or int
        Budget of evaluations of ``fun``, leaving out those spent on finite differences (SciPy's meaning
        since 1.16); default ``100 * n``. The Jacobian at the last accepted point is always evaluated.
    verbose : {0, 1, 2}
        1 prints a summary, 2 also the iteration table.
    args, kwargs : tuple, dict
        Extra arguments of ``fun`` and ``jac``.
    callback : callable, optional
        ``callback(intermediate_result)`` or ``callback(x)`` after every iteration; returning True or
        raising StopIteration stops the fit with status -2.
    workers : int or map-like callable, optional
        Evaluate finite-difference points in parallel (``workers(fun, points)``, or a process pool).
    damping : {None, 'nielsen', 'marquardt', 'trust-region'}
        Rule moving ``lam`` for ``lm``, ``levenberg`` and ``newton``: Nielsen's gain-ratio rule, Marquardt's
        x10 / /10, or Moré's trust region (MINPACK's ``lmder``: a radius on the scaled step moved by the gain
        ratio, ``lam`` solved so that the step fills it; with ``'cg'``, ``'lsmr'`` and ``'schur'``
        ``lam = 1/radius`` moved by Nielsen's rule, as Ceres does). None: ``'trust-region'``, except
        ``'nielsen'`` with the exact Hessian, which may be indefinite where Moré's step assumes ``J^T J``.
    linear_solver : {'auto', 'qr', 'cholesky', 'cg', 'lsmr', 'schur'}
        ``'auto'``: for a dense ``J`` up to 64 parameters, Cholesky while the column-scaled ``J^T J`` passes a
        condition test (its condition number below ``eps**-0.5``), QR for the rest of the fit from the first
        linearisation where it does not. QR on ``[J; sqrt(lam D)]`` (never forms ``J^T J``),
        Cholesky on ``J^T J + lam D`` (dense ``J`` above 64 parameters; sparse ``J`` up to 300), Jacobi-
        preconditioned conjugate gradients using only ``J v`` and ``J^T u`` (sparse ``J`` above 300
        parameters and ``LinearOperator`` Jacobians), SciPy's LSMR on the damped least-squares form, or the
        Schur complement given by ``schur``. CG and LSMR solve inexactly, to a relative tolerance that
        shrinks with the gradient. A singular system never crashes: ``lam`` is raised until it solves.
    schur : (int, int), optional
        ``(n_keep, block)`` for ``linear_solver='schur'``: the variables after the first ``n_keep`` come in
        independent blocks of ``block`` (no residual touches two of them, as the 3-D points of bundle
        adjustment); they are eliminated block by block and the reduced ``n_keep x n_keep`` system is
        solved by Cholesky.
    history : int
        Number of iterations recorded in ``result.history``.
    memory_budget : int
        Bytes the dense Jacobian may take for ``method='auto'`` to choose LM (default 1 GiB).
    lr, beta1, beta2, eps, momentum : float
        First-order hyper-parameters: learning rate (default: ``1 / ||J(x0)||_F**2`` for gd, sgd, momentum
        and nesterov, ``0.01 * max(1, max|x0|)`` for rmsprop and adam), Adam's moment decays, the
        denominator guard, and the momentum of ``momentum``/``nesterov``.
    batch_size, epochs, seed : int, optional
        Minibatch size (``sgd`` default 32, others full batch), epoch limit, and the seed of the shuffles.
    schedule : str, Schedule or callable, optional
        Learning rate per epoch: ``'constant'``, ``'inverse_time'``, ``'step'``, ``'exponential'``,
        ``'inverse_sqrt'`` (with ``lr`` as the initial rate) or a :mod:`lsq.schedules` object.
    minibatch : bool
        If True, ``fun(x, idx)`` (and a callable ``jac(x, idx)``) return only the residuals (rows) ``idx``:
        an index array for a minibatch, ``slice(None)`` for all (the cost at the end of each epoch). With
        ``'lm'``, ``'levenberg'`` or ``'gn'``, ``idx`` is a slice of about 1 MB of ``J`` and ``J^T J`` is
        assembled chunk by chunk, so the whole Jacobian is never held; ``ncalls`` then counts finite
        differences in whole-data evaluations and ``result.jac`` is None.
    grad : callable, optional
        ``grad(x) -> (n,)``, the gradient of the cost, used by the first-order methods instead of ``J^T f``.
    factor : float
        ``damping='trust-region'``: the initial radius is ``factor * |D x0|`` (``factor`` if that is 0), with
        ``D`` the scaling (MINPACK's ``factor``, default 100).
    hessian : {None, 'gn', 'exact', 'secant'}
        The curvature of the damped methods' model: ``'gn'`` (``J^T J``, the default except for Newton),
        ``'exact'`` (plus ``S = sum f_i grad^2 f_i`` from ``hess``, or by differences of ``jac`` or second
        differences of ``fun``, with every Jacobian), or ``'secant'`` (``S`` from ``J`` and ``f`` alone by
        NL2SOL's structured secant update, used while it predicts better than ``J^T J``; no extra
        evaluations). A second-order term needs the linear loss and the dense Cholesky solve.
    hess : callable, optional
        ``hess(x, *args, **kwargs)``: the residuals' Hessians, shape ``(m, n, n)``, or the summed term
        ``S``, shape ``(n, n)``, for ``hessian='exact'``.
    validation_data : callable or (x_val, y_val), optional
        First-order methods: the residuals of held-out data, ``fun_val(x) -> (m_val,)`` (or, when ``fun`` is
        a compiled model's residuals, the held-out points and data), whose cost is recorded after every
        epoch in ``history['val_cost']`` (row 0: the start); ``result.best_epoch`` is the epoch of the lowest.
        See :func:`lsq.plot.learning_curves`.
    patience : int, optional
        With ``validation_data``: stop once the validation cost has not improved for ``patience`` epochs
        (status 5) and return the parameters of the best epoch.

    Returns
    -------
    OptimizeResult
        ``x, cost, fun, jac, grad, optimality, active_mask, nfev, njev, status, message, success`` as in
        SciPy (``nfev`` leaves finite-difference calls out), plus ``ncalls`` (every call of ``fun``), ``nit``,
        ``tier`` (``'compiled'``, or ``'interpreted'`` while numba has not compiled the kernels yet), ``method``
        and ``history`` (dict of arrays ``cost, lam, step_norm, optimality, nfev, ncalls``; row 0
        is the starting point). When a damped fit stops, ``x`` (with ``fun`` and ``cost``) may be one final
        Gauss-Newton step past the last linearisation, kept only if the cost did not rise above its
        rounding level, and not counted in ``nit`` or ``history``. ``jac`` and ``grad`` belong to the
        returned ``x``: ``jac`` is evaluated there, or, with finite differences (and the linear loss), is
        the last one updated along the final step by Broyden's rule, as accurate as differences taken there
        and for no more calls of ``fun`` (:mod:`lsq._kernels.engine.jacobian_update`). ``optimality`` is
        the last linearisation's.

    Examples
    --------
    >>> import numpy as np, lsq
    >>> res = lsq.least_squares(lambda x: [10 * (x[1] - x[0]**2), 1 - x[0]], [-1.2, 1.0])
    >>> np.allclose(res.x, [1, 1])
    True
    """
    method = opt.METHOD_ALIASES.get(method, method)
    hessian = check_hessian(method, hessian, hess, loss, linear_solver, tr_solver, jac_sparsity, minibatch, FIRST_ORDER)
    if damping is None:
        damping = "nielsen" if hessian == "exact" else "trust-region"
    elif damping == "trust-region" and hessian == "exact":
        raise ValueError("damping='trust-region' cannot take the exact Hessian: Moré's step assumes a positive "
                         "semi-definite J^T J, and J^T J + S may be indefinite; use 'nielsen' or 'marquardt'.")
    method = check_options(method, damping, linear_solver, jac, loss, verbose, tr_solver, tr_options, schur,
                           f_scale, factor, history, FIRST_ORDER)
    if hessian != "gn":
        linear_solver = "cholesky"
    max_nfev = check_max_nfev(max_nfev)
    x0 = check_x0(x0)
    if isinstance(fun, ModelResiduals):
        fun.check_params(x0)
    n = x0.shape[0]
    lb, ub = check_bounds(bounds, n)
    bounded = has_bounds(lb, ub)
    if bounded:
        check_x0_in_bounds(x0, lb, ub)
    x_scale_given = x_scale is not None
    x_scale = check_x_scale(("jac-restart" if method in ("lm", "newton") else 1.0) if x_scale is None else x_scale, n)
    ftol, xtol, gtol = check_tolerance(ftol, xtol, gtol)
    force_chunks, probe_calls = False, 0
    if method == "auto":
        method, batch_size, chunked, probe_calls = _choose_method(fun, x0, args, kwargs, memory_budget, batch_size,
                                                                  jac_sparsity, minibatch)
        if chunked and linear_solver == "auto":
            linear_solver, force_chunks = "cholesky", True
    if isinstance(validation_data, tuple | list) and isinstance(fun, ModelResiduals):
        validation_data = fun.model.residuals(*validation_data)
    if method not in FIRST_ORDER and (validation_data is not None or patience is not None):
        raise ValueError(f"`validation_data` and `patience` go with the first-order methods {tuple(FIRST_ORDER)}; "
                         f"method {method!r} converges to the training minimum (compare held-out costs with "
                         "lsq.selection.cross_validate).")
    fit = Fit(
        method, Start(x0, lb, ub, x_scale, x_scale_given),
        Evaluation(fun, jac, args, kwargs, diff_step, workers, minibatch, jac_sparsity, hess),
        None if method in FIRST_ORDER else opt.engine_options(
            method, damping, loss, isinstance(x_scale, str), bounded, ftol, xtol, gtol, float(f_scale),
            max_nfev or 100 * n, float(factor), hessian=hessian,
            restart_scaling=isinstance(x_scale, str) and x_scale == "jac-restart"),
        LinearSolve(linear_solver, force_chunks, tr_solver, tr_options, schur),
        Driving(history, callback, verbose),
        None if method not in FIRST_ORDER else dict(
            loss=loss, f_scale=float(f_scale), ftol=ftol, gtol=gtol, max_nfev=max_nfev or max(10_000, 1000 * n),
            lr=lr, beta1=beta1, beta2=beta2, eps=eps, momentum=momentum, batch_size=batch_size, epochs=epochs,
            seed=seed, schedule=schedule, grad=grad, validation_data=validation_data, patience=patience))
    with route.call(_path_of(fun, method), _work_of(fun, n)):
        result = _counted(_run(fit), probe_calls)
        result.tier = tier()
    return result


Start = namedtuple("Start", ["x0", "lb", "ub", "x_scale", "x_scale_given"])
"""The validated starting point, bounds and scaling of a fit."""
Evaluation = namedtuple("Evaluation", ["fun", "jac", "args", "kwargs", "diff_step", "workers", "minibatch",
                                       "jac_sparsity", "hess"])
"""How the residuals, their Jacobian (and the exact Hessian term) are evaluated."""
LinearSolve = namedtuple("LinearSolve", ["name", "force_chunks", "tr_solver", "tr_options", "schur"])
"""The linear solver asked for, and SciPy's trust-region solver options."""
Driving = namedtuple("Driving", ["history", "callback", "verbose"])
"""What the fit records and reports while it runs."""
Fit = namedtuple("Fit", ["method", "start", "evaluation", "options", "solve", "driving", "first_order"])
"""A validated ``least_squares`` call: everything :func:`_run` needs, checked once (``options``: the engine's
frozen options, None for a first-order method; ``first_order``: that method's settings)."""


def _run(fit):
    """Hand a described fit to its path: a first-order method, the whole fit in compiled code (a compiled model's
    residuals and nothing that needs Python during the fit), or the engine driven from Python."""
    ev, start = fit.evaluation, fit.start
    if fit.method in FIRST_ORDER:
        fo = dict(fit.first_order)
        loss, f_scale, ftol, gtol, max_nfev = (fo.pop(k) for k in ("loss", "f_scale", "ftol", "gtol", "max_nfev"))
        return solve_first_order(ev.fun, ev.jac, start.x0, start.lb, start.ub, fit.method, loss, f_scale, ftol, gtol,
                                 max_nfev, fit.driving.callback, fit.driving.history, ev.args, ev.kwargs,
                                 ev.diff_step, minibatch=ev.minibatch, **fo)
    if (_runs_compiled(ev.fun, ev.jac, fit.options.loss, fit.driving.callback, ev.workers) and not ev.args
            and not ev.kwargs and ev.jac_sparsity is None and fit.solve.name in ("auto", "qr", "cholesky")
            and not ev.minibatch and ev.hess is None):
        w, jac_out = _solve_compiled(fit)
    else:
        w, jac_out = _solve_python(fit)
    result = build_result(w, fit.method, jac=jac_out)
    if fit.driving.verbose >= 1:
        print(result.message)
        print(f"Function evaluations {result.nfev} ({result.ncalls} calls of fun with finite differences), "
              f"initial cost {w.hist[0, 0]:.4e}, final cost {result.cost:.4e}, first-order optimality "
              f"{result.optimality:.2e}.")
    return result


def _path_of(fun, method):
    """The compile path (:data:`lsq.compile.PATHS`) a call of ``fun`` by ``method`` runs on."""
    if method in FIRST_ORDER:
        return "first_order"
    if isinstance(fun, ModelResiduals):
        return fun.model.compile_path
    return "least_squares"


def _work_of(fun, n):
    """The work ``m n (n + 1)`` of a fit, when known before ``fun`` is called (a compiled model's residuals)."""
    if isinstance(fun, ModelResiduals):
        return fun.y.shape[0] * n * (n + 1)
    return None


def _counted(result, probe_calls):
    """Add the evaluation ``method='auto'`` made to size the problem to ``nfev`` and ``ncalls``."""
    if probe_calls:
        result.nfev += probe_calls
        result.ncalls += probe_calls
    return result


def _solve_compiled(fit):
    """The whole fit of a compiled model in numba; returns the finished state and no held Jacobian."""
    start, fun, jac, options = fit.start, fit.evaluation.fun, fit.evaluation.jac, fit.options
    x0 = start.x0
    n = x0.shape[0]
    fun.check_shape(x0)
    solver, solver_code = opt.resolve_linear_solver(fit.solve.name, n, fun.y.shape[0])
    if fit.solve.force_chunks:
        solver_code = SOLVER_NORMAL
    differences = not (jac == "2-point" and fun.has_jacobian) and fun.estimator == ESTIMATOR_LEAST_SQUARES
    opts_f, opts_i = options.for_jacobian(differences).lower(solver_code)
    chunk = max(256, opt.CHUNK_ENTRIES // n) if solver_code == SOLVER_NORMAL else 0
    w = fun.solve(x0, start.lb, start.ub, _initial_scaling(start.x_scale, n), opts_f, opts_i, FD_SCHEMES[jac],
                  fit.evaluation.diff_step, opt.needs_qr_buffers(solver), fit.driving.history,
                  analytic=jac == "2-point", chunk=chunk)
    status = w.si[slot.STATUS]
    if status == STATUS_BAD_INPUT:
        raise ValueError("The residuals' data are not usable: x and y must be finite, and the weights 1/sigma "
                         "finite and positive (a sigma below about 1e-308 makes its weight infinite).")
    if status == STATUS_NONFINITE and w.si[slot.NFEV] == 1:
        raise ValueError(_NONFINITE_X0)
    return w, None


def _solve_python(fit):
    """A fit driven from Python (user functions, or a compiled model when the fit needs Python); returns the
    finished workspace and the Jacobian the driver kept (None when the engine held it)."""
    start, options, history, callback, verbose = fit.start, fit.options, *fit.driving
    fun, jac, args, kwargs, diff_step, workers, minibatch, jac_sparsity, hess = fit.evaluation
    linear_solver, _, tr_solver, tr_options, schur = fit.solve
    x0, n = start.x0, start.x0.shape[0]
    if isinstance(fun, ModelResiduals) and fun.has_jacobian and jac == "2-point":
        jac = fun.jacobian
    mapper = Mapper(workers)
    try:
        rows = None
        if minibatch:
            fun, jac, rows = _row_interface(fun, jac, args, kwargs, jac_sparsity, linear_solver)
            args, kwargs = (), None
        problem = PythonProblem(fun, jac, start.lb, start.ub, args, kwargs, diff_step, mapper, minpack_step=True)
        f0 = problem.residuals(x0.copy())
        if not np.isfinite(f0).all():
            raise ValueError(_NONFINITE_X0)
        m = f0.shape[0]
        route.decide(m * n * (n + 1))
        kind, J0 = _first_jacobian(problem, jac, x0, f0, rows, jac_sparsity, tr_solver)
        x_scale = _operator_scaling(start, kind)
        solver, solver_code = opt.resolve_linear_solver(linear_solver, n, m, kind, tr_solver)
        if rows is not None:
            solver, solver_code = "cholesky", SOLVER_NORMAL
        differences = (problem.jac_callable is None and jac != "cs"
                       and getattr(fun, "estimator", ESTIMATOR_LEAST_SQUARES) == ESTIMATOR_LEAST_SQUARES)
        opts_f, opts_i = options.for_jacobian(differences).lower(solver_code)
        in_engine = solver_code in (SOLVER_QR, SOLVER_CHOLESKY, SOLVER_AUTO)
        if in_engine and J0 is not None:
            J0 = problem.as_dense(J0, m, n)
        held = None if in_engine else HeldJacobian(m, n)
        if rows is not None:
            held = RowChunkedJacobian(rows[0], rows[1], problem, m, max(256, opt.CHUNK_ENTRIES // n))
        exact = options.hessian == "exact"
        w, packed = make_packed_workspace(m, n, qr=opt.needs_qr_buffers(solver), history=history,
                                          holds_jacobian=in_engine, robust=options.loss != "linear",
                                          normal=solver_code != SOLVER_EXTERNAL,
                                          second_order=options.hessian != "gn")
        w.x[:] = x0
        if options.bounded:  # else the workspace's own -inf, inf
            w.lb[:] = start.lb
            w.ub[:] = start.ub
        if not isinstance(x_scale, str):  # else the workspace's own ones, replaced by the column norms
            w.d[:] = _initial_scaling(x_scale, n)
        packed.si[slot.PHASE] = PHASE_RESET  # the engine's first call resets the workspace
        run_python(problem, w, packed, opts_f, opts_i, f0, loss=options.loss if callable(options.loss) else None,
                   f_scale=options.f_scale, callback=callback, verbose=verbose, held=held,
                   solver=_driver_solver(solver, n, schur, tr_options), J0=J0,
                   second_order=SecondOrder(problem, hess, args, kwargs) if exact else None)
        jac_out = None if held is None else (held.Js if held.Js is not None else held.J)
        return w, jac_out
    finally:
        mapper.close()


def _first_jacobian(problem, jac, x0, f0, rows, jac_sparsity, tr_solver):
    """The kind of Jacobian (``'dense'``, ``'sparse'`` or ``'operator'``) and, for a callable ``jac``, its value
    at ``x0`` (evaluated to choose the solver, reused as the first Jacobian)."""
    kind, J0 = "dense", None
    if rows is not None:
        pass  # J^T J by row chunks: no Jacobian is evaluated whole
    elif callable(jac):
        J0 = problem.jacobian(x0.copy(), f0, raw=True)
        kind = jacobian_kind(J0)
    elif jac_sparsity is not None:
        problem.set_sparsity(jac_sparsity, f0.shape[0])
        kind = "sparse"
    if kind != "dense" and tr_solver == "exact":
        raise ValueError("tr_solver='exact' needs a dense Jacobian; `jac` gives a sparse matrix or "
                         "LinearOperator (use tr_solver='lsmr' or linear_solver='cg').")
    return kind, J0


def _operator_scaling(start, kind):
    """``x_scale='jac'`` needs column norms, which a ``LinearOperator`` Jacobian does not give: then 1."""
    if kind == "operator" and isinstance(start.x_scale, str):
        if start.x_scale_given:
            raise ValueError("x_scale='jac' needs the Jacobian's column norms; `jac` returned a "
                             "LinearOperator: give a numeric `x_scale`.")
        return 1.0
    return start.x_scale


def _initial_scaling(x_scale, n):
    """The engine's starting ``d``: ones for ``'jac'`` (replaced by the column norms), else ``1 / x_scale**2``."""
    return np.ones(n) if isinstance(x_scale, str) else 1.0 / x_scale**2


def _row_interface(fun, jac, args, kwargs, jac_sparsity, linear_solver):
    """``minibatch=True`` with an LM method: ``fun(x, idx)`` (and ``jac(x, idx)``) give rows, and ``J^T J`` is
    assembled by chunks of rows. Returns the whole-data residual function, the finite-difference scheme
    for the steps, and ``(fun_rows, jac_rows or None)``."""
    if jac_sparsity is not None or linear_solver not in ("auto", "cholesky"):
        raise ValueError("minibatch=True with an LM method assembles J^T J by chunks of rows: `linear_solver` "
                         "must be 'auto' or 'cholesky' and `jac_sparsity` None.")
    if jac == "cs":
        raise ValueError("minibatch=True with an LM method supports jac='2-point', '3-point' or a callable "
                         "jac(x, idx), not 'cs'.")
    kw = kwargs or {}

    def fun_rows(x, idx):
        return fun(x, idx, *args, **kw)

    def fun_all(x):
        return fun(x, slice(None), *args, **kw)

    jac_rows = None
    if callable(jac):
        def jac_rows(x, idx):
            return jac(x, idx, *args, **kw)

    return fun_all, "2-point" if callable(jac) else jac, (fun_rows, jac_rows)


def _driver_solver(name, n, schur, tr_options):
    """The driver-side solver object for ``'cg'``, ``'lsmr'`` and ``'schur'``; None otherwise."""
    maxiter = (tr_options or {}).get("maxiter")
    if maxiter is not None and not (isinstance(maxiter, int) and maxiter > 0):
        raise ValueError(f"`tr_options['maxiter']` must be a positive int, got {maxiter!r}.")
    if name == "cg":
        return ConjugateGradient(n, maxiter)
    if name == "lsmr":
        return Lsmr(n, maxiter)
    if name == "schur":
        if not (isinstance(schur, tuple | list) and len(schur) == 2):
            raise ValueError(f"`schur` must be a pair (n_keep, block), got {schur!r}.")
        return Schur(n, *schur)
    return None


def _choose_method(fun, x0, args, kwargs, budget, batch_size, jac_sparsity=None, minibatch=False):
    """``method='auto'``: LM while its Jacobian fits in ``budget`` bytes, else Adam on minibatches that do.

    The Jacobian's memory is ``8 m n`` bytes dense, 12 bytes per non-zero of ``jac_sparsity``, and for a
    compiled model about ``24 m`` bytes (three residual-length vectors; ``J^T J`` is then assembled by
    chunks of about 1 MB).

    Returns
    -------
    method : str
    batch_size : int or None
    chunked : bool
        True when LM must assemble ``J^T J`` by chunks to stay within the budget.
    calls : int
        Calls of ``fun`` made to learn ``m`` (1 for a Python function, 0 for a compiled model's residuals).
    """
    if not (isinstance(budget, int | float) and budget > 0):
        raise ValueError(f"`memory_budget` must be a positive number of bytes, got {budget!r}.")
    if isinstance(fun, ModelResiduals):
        m, calls = fun.y.shape[0], 0
    else:
        rows = (slice(None),) if minibatch else ()
        m, calls = np.atleast_1d(fun(x0, *rows, *args, **(kwargs or {}))).size, 1
    row_bytes = 8 * x0.shape[0]
    if m * row_bytes <= budget:
        return "lm", batch_size, False, calls
    if jac_sparsity is not None:
        nnz = jac_sparsity.nnz if hasattr(jac_sparsity, "nnz") else int(np.count_nonzero(jac_sparsity))
        if 12 * nnz + 24 * m <= budget:
            return "lm", batch_size, False, calls
    if isinstance(fun, ModelResiduals) and 24 * m + 8 * opt.CHUNK_ENTRIES <= budget:
        return "lm", batch_size, True, calls
    return "adam", batch_size or max(1, int(budget // row_bytes)), False, calls


def _runs_compiled(fun, jac, loss, callback, workers):
    """Whether the fit can run entirely in compiled code: a compiled model's residuals and nothing that
    needs Python during the fit (callback, callable loss or Jacobian, complex step, workers)."""
    return (isinstance(fun, ModelResiduals) and isinstance(jac, str) and jac != "cs"
            and not callable(loss) and callback is None and workers in (None, 1))
