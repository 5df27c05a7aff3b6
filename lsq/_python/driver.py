"""The Python driver: answers the engine's requests with calls of user Python functions."""

import inspect

import numpy as np
from scipy.optimize import OptimizeResult

from .._kernels.engine import codes as c
from .._kernels.engine.loop import advance


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
    hist = w.hist[: int(w.state[0]["hist_rows"])]
    for k, row in enumerate(hist):
        red = "" if k == 0 else f"{hist[k - 1, 0] - row[0]:.2e}"
        step = "" if k == 0 else f"{row[2]:.2e}"
        print(f"{k:^15}{int(row[4]):^15}{row[0]:^15.4e}{red:^15}{step:^15}{row[3]:^15.2e}")


def run_python(problem, w, opts_f, opts_i, f0, loss=None, f_scale=1.0, callback=None, verbose=0, held=None,
               solver=None, J0=None):
    """Drive the engine with a :class:`lsq._python.problem.PythonProblem` until it is done.

    ``f0`` are the residuals at ``w.x`` (already evaluated while validating), ``J0`` the Jacobian there if
    it was evaluated to choose the solver. Finite-difference evaluations are counted in the engine's ``nfd``
    (SciPy's ``nfev`` and ``max_nfev`` leave them out). With a driver-side solver the Jacobian is
    kept in ``held`` (:class:`lsq._large.held_jacobian.HeldJacobian`) and the step comes from ``solver`` (one of
    :mod:`lsq._large.solvers`, or None for Cholesky on ``J^T J`` in the engine).
    """
    cb = wrap_callback(callback)
    s = w.state[0]  # a view: the engine's writes show through
    first_f = True
    reported = 0  # iterations already shown to the callback
    report = None  # (nit, nfev) of an accepted point, shown once the engine has kept it
    while True:
        task = advance(w, opts_f, opts_i)
        if report is not None and task != c.TASK_GRADIENT:
            # The engine has linearised at the new point and kept it (an undone step goes back to
            # PHASE_AFTER_F0): only now is it an iterate the callback should see.
            nit, nfev = report
            report = None
            if s["phase"] != c.PHASE_AFTER_F0:
                reported = nit
                if cb(w.x, w.r, s["cost"], nit, nfev) and task != c.TASK_DONE:
                    if task == c.TASK_EVAL_F:  # the trial was asked for, never evaluated
                        s["nfev"] -= 1
                    s["status"] = c.STATUS_CALLBACK
                    s["phase"] = c.PHASE_DONE
                    break
        if task == c.TASK_EVAL_F:
            if first_f:
                f = f0
                first_f = False
            else:
                f = problem.residuals(w.x_new.copy())
            w.r_new[:] = f
            if loss is not None:
                with np.errstate(all="ignore"):
                    rho = np.asarray(loss((w.r_new / f_scale) ** 2), dtype=float)
                if rho.shape != (3, w.r_new.shape[0]):
                    raise ValueError(f"The callable `loss` must return shape (3, m), got {rho.shape}.")
                w.rho_new[:] = rho
        elif task == c.TASK_EVAL_J:
            nit = int(s["nit"])
            if nit > reported and cb is not None:
                report = (nit, int(s["nfev"]))
            before = problem.nfev
            if getattr(held, "deferred", False):  # J^T J by row chunks, when the gradient is asked for
                held.set_point(w.x.copy())
                continue
            if J0 is not None:
                J, J0 = J0, None
            else:
                J = problem.jacobian(w.x.copy(), w.r, raw=held is not None)
            if held is None:
                w.Jt[:] = J.T
            else:
                held.set(J)
            s["nfd"] += problem.nfev - before
        elif task == c.TASK_GRADIENT:
            spent = held.linearize(w, opts_i[c.O_LOSS] == c.LOSS_LINEAR, solver is None)
            if spent:  # row-chunked differences (lsq._large.row_chunks), counted in whole-data evaluations
                s["nfd"] += spent
                problem.nfev += spent
        elif task == c.TASK_SOLVE:
            solver.solve(held, w)
        elif task == c.TASK_EVAL_JP:
            held.jp_sq(w)
        else:
            break
    if verbose == 2:
        print_history(w)
