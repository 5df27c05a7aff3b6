"""The Python driver: answers the engine's requests with calls of user Python functions."""

import inspect

import numpy as np
from scipy.optimize import OptimizeResult

from .._kernels.engine import codes as c
from .._kernels.engine import layout as slot
from .._kernels.engine.entry import advance_packed as advance
from .._tiers.current import kernel


def wrap_callback(callback):
    """Return ``cb(x, fun, cost, nit, nfev) -> stop?`` calling ``callback(intermediate_result)`` or
    ``callback(x)`` as SciPy decides by the signature; returning True or raising StopIteration means stop."""
    if callback is None:
        return None
    try:
        wants_result = set(inspect.signature(callback).parameters) == {"intermediate_result"}
    except (TypeError, ValueError):
        wants_result = False

    def cb(x, fun, cost, nit, nfev):
        try:
            if wants_result:
                res = OptimizeResult(x=x.copy(), fun=fun.copy(), cost=float(cost), nit=int(nit), nfev=int(nfev))
                out = callback(intermediate_result=res)
            else:
                out = callback(x.copy())
        except StopIteration:
            return True
        return bool(out) if out is not None else False

    return cb


def print_history(w):
    """SciPy-style iteration table (``verbose=2``) from the recorded history."""
    print(f"{'Iteration':^15}{'Total nfev':^15}{'Cost':^15}{'Cost reduction':^15}"
          f"{'Step norm':^15}{'Optimality':^15}")
    hist = w.hist[: int(w.si[slot.HIST_ROWS])]
    for k, row in enumerate(hist):
        red = "" if k == 0 else f"{hist[k - 1, 0] - row[0]:.2e}"
        step = "" if k == 0 else f"{row[2]:.2e}"
        print(f"{k:^15}{int(row[4]):^15}{row[0]:^15.4e}{red:^15}{step:^15}{row[3]:^15.2e}")


def run_python(problem, w, packed, opts_f, opts_i, f0, loss=None, f_scale=1.0, callback=None, verbose=0, held=None,
               solver=None, J0=None, second_order=None):
    """Drive the engine with a :class:`lsq._python.problem.PythonProblem` until it is done.

    ``w`` is the workspace and ``packed`` the same buffers as the compiled engine is given them
    (:func:`lsq._setup.workspace.make_packed_workspace`).

    ``f0`` are the residuals at ``w.x`` (already evaluated while validating), ``J0`` the Jacobian there if
    it was evaluated to choose the solver. Finite-difference evaluations are counted in the engine's ``nfd``
    (SciPy's ``nfev`` and ``max_nfev`` leave them out). With a driver-side solver the Jacobian is
    kept in ``held`` (:class:`lsq._large.held_jacobian.HeldJacobian`) and the step comes from ``solver`` (one of
    :mod:`lsq._large.solvers`, or None for Cholesky on ``J^T J`` in the engine). ``second_order``
    (:class:`lsq._python.second_order.SecondOrder`) gives the engine ``S`` with every Jacobian (Newton).
    """
    if (held is None and loss is None and callback is None and second_order is None and J0 is None
            and problem.forward_serial):
        _run_forward(problem, w, packed, opts_f, opts_i, f0)
        if verbose == 2:
            print_history(w)
        return
    advance_packed = kernel(advance)
    tasks = _Tasks(problem, w, f0, J0, loss, f_scale, held, solver, opts_i[c.O_LOSS] == c.LOSS_LINEAR)
    tasks.second_order = second_order
    iterates = _Iterates(wrap_callback(callback), w)
    while True:
        task = advance_packed(*packed, opts_f, opts_i)
        if iterates.stopped(task):
            break
        if task == c.TASK_EVAL_F:
            tasks.residuals()
        elif task == c.TASK_EVAL_J:
            iterates.accepted()
            tasks.jacobian()
        elif task == c.TASK_GRADIENT:
            tasks.gradient()
        elif task == c.TASK_SOLVE:
            solver.solve(held, w)
        elif task == c.TASK_EVAL_JP:
            held.jp_sq(w)
        else:
            break
    if verbose == 2:
        print_history(w)


def _run_forward(problem, w, packed, opts_f, opts_i, f0):
    """:func:`run_python` for the everyday fit: the engine holds ``J``, from forward differences evaluated one
    point after another, and there is no callback or callable loss. The same answers to the same tasks, in
    a loop with nothing else in it."""
    buf, free, si, sf, dims = packed
    advance_packed = kernel(advance)
    x, x_new, r, r_new, Jt = w.x, w.x_new, w.r, w.r_new, w.Jt
    eval_f, eval_j = c.TASK_EVAL_F, c.TASK_EVAL_J
    task = advance_packed(buf, free, si, sf, dims, opts_f, opts_i)
    while True:
        if task == eval_f:
            if f0 is None:
                r_new[:] = problem.residuals(x_new.copy())
            else:  # the start, evaluated while validating
                r_new[:] = f0
                f0 = None
        elif task == eval_j:
            problem.forward_differences(x, r, Jt)  # f sees only the perturbed points, never x itself
            si[slot.NFD] += x.shape[0]
        else:
            return
        task = advance_packed(buf, free, si, sf, dims, opts_f, opts_i)


class _Tasks:
    """The driver's answers to the engine: residuals, Jacobians and (driver-side solvers) gradients."""

    def __init__(self, problem, w, f0, J0, loss, f_scale, held, solver, loss_linear):
        self.problem, self.w, self.f0, self.J0 = problem, w, f0, J0
        self.loss, self.f_scale, self.held, self.solver, self.loss_linear = loss, f_scale, held, solver, loss_linear
        self.si = w.si  # the engine's writes show through
        self.second_order = None

    def residuals(self):
        w = self.w
        if self.f0 is not None:  # the start, evaluated while validating
            f, self.f0 = self.f0, None
        else:
            f = self.problem.residuals(w.x_new.copy())
        w.r_new[:] = f
        if self.loss is not None:
            with np.errstate(all="ignore"):
                rho = np.asarray(self.loss((w.r_new / self.f_scale) ** 2), dtype=float)
            if rho.shape != (3, w.r_new.shape[0]):
                raise ValueError(f"The callable `loss` must return shape (3, m), got {rho.shape}.")
            w.rho_new[:] = rho

    def jacobian(self):
        w, held = self.w, self.held
        if getattr(held, "deferred", False):  # J^T J by row chunks, when the gradient is asked for
            held.set_point(w.x.copy())
            return
        before = self.problem.nfev
        if self.J0 is not None:
            J, self.J0 = self.J0, None
        else:
            J = self.problem.jacobian(w.x.copy(), w.r, raw=held is not None, out=None if held is not None else w.Jt)
        if held is None:
            if J.base is not w.Jt:  # else finite differences were written in place
                w.Jt[:] = J.T
        else:
            held.set(J)
        if self.second_order is not None and self.si[slot.PHASE] != c.PHASE_FINAL_J:  # not for the returned J
            w.H2[:] = self.second_order(w.x.copy(), w.r.copy(), w.Jt.T)
        self.si[slot.NFD] += self.problem.nfev - before

    def gradient(self):
        spent = self.held.linearize(self.w, self.loss_linear, self.solver is None)
        if spent:  # row-chunked differences (lsq._large.row_chunks), counted in whole-data evaluations
            self.si[slot.NFD] += spent
            self.problem.nfev += spent


class _Iterates:
    """Shows the callback each iterate the fit keeps, and stops the fit when it asks."""

    def __init__(self, cb, w):
        self.cb, self.w = cb, w
        self.reported = 0  # iterations already shown to the callback
        self.pending = None  # (nit, nfev) of an accepted point, shown once the engine has kept it

    def accepted(self):
        nit = int(self.w.si[slot.NIT])
        if nit > self.reported and self.cb is not None:
            self.pending = (nit, int(self.w.si[slot.NFEV]))

    def stopped(self, task):
        """Show a pending iterate once the engine has linearised at it and kept it (an undone step goes back
        to ``PHASE_AFTER_F0``); True when the callback stopped the fit."""
        if self.pending is None or task == c.TASK_GRADIENT:
            return False
        (nit, nfev), self.pending = self.pending, None
        si = self.w.si
        if si[slot.PHASE] == c.PHASE_AFTER_F0:
            return False
        self.reported = nit
        if not self.cb(self.w.x, self.w.r, self.w.sf[slot.COST], nit, nfev) or task == c.TASK_DONE:
            return False
        if task == c.TASK_EVAL_F:  # the trial was asked for, never evaluated
            si[slot.NFEV] -= 1
        si[slot.STATUS] = c.STATUS_CALLBACK
        si[slot.PHASE] = c.PHASE_DONE
        return True
