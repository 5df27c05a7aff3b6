"""First-order methods for ``lsq.least_squares``: gd, sgd, momentum, nesterov, rmsprop, adam.

They minimise the same ``F(x) = 0.5 * sum(rho(f_i(x)**2))`` as the damped methods, from the gradient
``g = J^T (rho' * f)`` alone (or a user ``grad``), one residual-and-Jacobian evaluation per step, so they run
where a Jacobian system is too big to solve or the residuals come in minibatches. The update rules live
in :mod:`lsq._kernels.drivers.first_order`; the learning rate follows a schedule of the epoch
(:mod:`lsq.schedules`).

An epoch is one pass over the residuals: one step for the full-batch methods, ``ceil(m / batch_size)``
steps for ``sgd`` (and for any method given ``batch_size``), on a reshuffled order each epoch.

With ``validation_data`` (residuals of held-out data as a function of the parameters) the cost of those
residuals is recorded after every epoch beside the training cost (``history['val_cost']``); the learning
curves (:func:`lsq.plot.learning_curves`) show over- and underfitting, and ``patience`` stops the fit once
the validation cost has not improved for that many epochs, returning the best epoch's parameters.
"""

import numpy as np
from scipy.optimize import OptimizeResult

from ._kernels.drivers import first_order as fo
from ._kernels.engine.codes import (
    LOSS_CALLABLE,
    STATUS_CALLBACK,
    STATUS_EARLY_STOP,
    STATUS_FTOL,
    STATUS_GTOL,
    STATUS_MAX_NFEV,
)
from ._kernels.engine.losses import residual_cost
from ._python.driver import wrap_callback
from ._python.problem import PythonProblem
from ._setup.options import LOSSES
from ._setup.result import TERMINATION_MESSAGES, find_active_constraints
from ._tiers.current import kernel
from .schedules import make_schedule

FIRST_ORDER = {"gd": fo.RULE_GD, "sgd": fo.RULE_GD, "momentum": fo.RULE_MOMENTUM, "nesterov": fo.RULE_NESTEROV,
               "rmsprop": fo.RULE_RMSPROP, "adam": fo.RULE_ADAM}
"""First-order method name -> update rule."""


def cost_and_weights(f, loss, f_scale):
    """``(cost, w)`` with ``w = rho'(z)``, so that the gradient of the cost is ``J^T (w * f)``."""
    m = f.shape[0]
    if callable(loss):
        rho = np.asarray(loss((f / f_scale) ** 2), dtype=float)
        return 0.5 * f_scale**2 * float(np.sum(rho[0])), rho[1]
    code = LOSSES[loss]
    rho = np.empty((3, m))
    f = np.ascontiguousarray(f, dtype=float)
    cost = kernel(residual_cost)(f, rho, m, code, float(f_scale), code == LOSS_CALLABLE)
    return float(cost), (np.ones(m) if loss == "linear" else rho[1].copy())


class _Evaluator:
    """Residuals and gradients on all residuals or on a minibatch ``idx``."""

    def __init__(self, fun, jac, grad, lb, ub, args, kwargs, diff_step, minibatch, loss, f_scale):
        self.fun, self.jac, self.grad = fun, jac, grad
        self.lb, self.ub, self.args, self.kwargs, self.diff_step = lb, ub, args, kwargs or {}, diff_step
        self.minibatch, self.loss, self.f_scale = minibatch, loss, f_scale
        self.nfev = 0
        self.njev = 0

    def _problem(self, idx):
        if not self.minibatch:
            fun, jac = self.fun, self.jac
        else:
            idx = slice(None) if idx is None else idx  # the full set

            def fun(x, *a, **k):
                return self.fun(x, idx, *a, **k)

            jac = self.jac
            if callable(jac):
                def jac(x, *a, **k):
                    return self.jac(x, idx, *a, **k)
        return PythonProblem(fun, jac, self.lb, self.ub, self.args, self.kwargs, self.diff_step)

    def gradient(self, x, idx=None, m_total=None):
        """``(cost, g, f, J)`` on the rows ``idx`` (None: all), the gradient scaled to the full sum."""
        p = self._problem(idx)
        f = p.residuals(x.copy())
        if self.grad is not None:
            self.nfev += p.nfev
            rows = f if (idx is None or self.minibatch) else f[idx]
            cost, _ = cost_and_weights(rows, self.loss, self.f_scale)
            return cost, np.asarray(self.grad(x, *self.args, **self.kwargs), dtype=float), rows, None
        J = p.jacobian(x.copy(), f)
        self.nfev += p.nfev
        self.njev += 1
        if idx is not None and not self.minibatch:
            f, J = f[idx], J[idx]
        cost, w = cost_and_weights(f, self.loss, self.f_scale)
        g = J.T @ (w * f)
        if idx is not None and m_total is not None:
            g *= m_total / len(idx)
        return cost, g, f, J


def default_lr(method, J, x0):
    """gd/momentum/nesterov/sgd: ``1 / ||J(x0)||_F**2`` (a safe step on the Gauss-Newton quadratic);
    rmsprop/adam: ``0.01 * max(1, max|x0|)`` (their steps are about ``lr`` per coordinate)."""
    if method in ("rmsprop", "adam") or J is None:
        return 0.01 * max(1.0, float(np.max(np.abs(x0))))
    fro2 = float(np.sum(J * J))
    return 1.0 / fro2 if fro2 > 0 else 1e-3


def _check_hyper_parameters(beta1, beta2, momentum, eps, epochs):
    for name, val, lo, hi in (("beta1", beta1, 0, 1), ("beta2", beta2, 0, 1), ("momentum", momentum, 0, 1)):
        if not lo <= val < hi:
            raise ValueError(f"`{name}` must be in [{lo}, {hi}), got {val!r}.")
    if not eps > 0:
        raise ValueError(f"`eps` must be positive, got {eps!r}.")
    if epochs is not None and (not isinstance(epochs, int) or epochs < 1):
        raise ValueError(f"`epochs` must be a positive int, got {epochs!r}.")


def _epoch_status(cb, x, f, cost, previous, step_norm, epoch, epochs, nfev, max_nfev, ftol):
    """The stopping test after an epoch: the callback, ftol on the full cost, the budgets; None to go on."""
    if cb is not None and cb(x, f, cost, epoch, nfev):
        return STATUS_CALLBACK
    if ftol and abs(previous - cost) <= ftol * cost and step_norm > 0:
        return STATUS_FTOL
    if nfev >= max_nfev or (epochs is not None and epoch >= epochs):
        return STATUS_MAX_NFEV
    return None


class _Validation:
    """The validation cost after each epoch, the best epoch so far, and the patience test."""

    def __init__(self, fun, loss, f_scale, patience):
        if fun is not None and not callable(fun):
            raise TypeError("`validation_data` must be a callable x -> validation residuals (or, with a compiled "
                            "model's residuals, a pair (x_val, y_val)).")
        if patience is not None and (fun is None or not isinstance(patience, int) or patience < 1):
            raise ValueError("`patience` needs `validation_data` and must be a positive int, "
                             f"got {patience!r}.")
        self.fun, self.loss, self.f_scale, self.patience = fun, loss, f_scale, patience
        self.costs, self.best, self.best_x, self.best_epoch = [], np.inf, None, 0

    def record(self, x, epoch):
        """Evaluate the validation cost at ``x`` (epoch ``epoch``); True when the patience ran out."""
        if self.fun is None:
            return False
        r = np.asarray(self.fun(x), dtype=float).reshape(-1)
        cost = cost_and_weights(r, self.loss, self.f_scale)[0] if np.all(np.isfinite(r)) else np.inf
        self.costs.append(cost)
        if cost < self.best:
            self.best, self.best_x, self.best_epoch = cost, x.copy(), epoch
        return self.patience is not None and epoch - self.best_epoch >= self.patience


def solve_first_order(fun, jac, x0, lb, ub, method, loss, f_scale, ftol, gtol, max_nfev, callback, history,
                      args, kwargs, diff_step, *, lr=None, beta1=0.9, beta2=0.999, eps=1e-8, momentum=0.9,
                      batch_size=None, epochs=None, seed=None, schedule=None, minibatch=False, grad=None,
                      validation_data=None, patience=None):
    """Run a first-order method (see the module docstring); returns an :class:`scipy.optimize.OptimizeResult`."""
    _check_hyper_parameters(beta1, beta2, momentum, eps, epochs)
    val = _Validation(validation_data, loss, f_scale, patience)
    cb = wrap_callback(callback)
    ev = _Evaluator(fun, jac, grad, lb, ub, args, kwargs, diff_step, minibatch, loss, f_scale)
    rng = np.random.default_rng(seed)
    n = x0.shape[0]
    x = x0.copy()
    full_cost, g, f, J = ev.gradient(x)
    m = f.shape[0]
    if batch_size is None:
        batch_size = max(1, min(m, 32)) if method == "sgd" else m
    if not isinstance(batch_size, int) or not 1 <= batch_size <= m:
        raise ValueError(f"`batch_size` must be an int in [1, m={m}], got {batch_size!r}.")
    if lr is None:
        lr = default_lr(method, J, x0)
    sched = make_schedule(schedule, lr)
    rule = FIRST_ORDER[method]
    v, s, x_new = np.zeros(n), np.zeros(n), np.empty(n)
    rows = []
    batches = []  # (epoch position, minibatch cost scaled to the full set) with minibatches
    val.record(x, 0)
    t = 0
    status = None
    step_norm = 0.0
    epoch = 0
    while status is None:
        rate = float(sched(epoch))
        rows.append((full_cost, rate, step_norm, float(np.max(np.abs(g))), ev.nfev))
        if gtol and np.max(np.abs(g)) < gtol:
            status = STATUS_GTOL
            break
        order = rng.permutation(m) if batch_size < m else None
        x_epoch = x.copy()
        for start in range(0, m, batch_size):
            if start > 0 or order is not None:
                idx = None if order is None else np.sort(order[start:start + batch_size])
                batch_cost, g, _, _ = ev.gradient(x, idx, m_total=m)
                batches.append((epoch + start / m, batch_cost * m / (m if idx is None else len(idx))))
            t += 1
            kernel(fo.first_order_step)(rule, x, g, v, s, t, rate, beta1, beta2, eps, momentum, lb, ub, x_new)
            if not np.all(np.isfinite(x_new)):
                break  # a non-finite gradient: keep x, stop below
            x, x_new = x_new, x
        epoch += 1
        step_norm = float(np.linalg.norm(x - x_epoch))
        previous = full_cost
        full_cost, g, f, J = ev.gradient(x)
        if not np.isfinite(full_cost) or not np.all(np.isfinite(g)):
            x = x_epoch
            full_cost, g, f, J = ev.gradient(x)
            status = STATUS_MAX_NFEV
        elif val.record(x, epoch):
            status = STATUS_EARLY_STOP
        else:
            status = _epoch_status(cb, x, f, full_cost, previous, step_norm, epoch, epochs, ev.nfev, max_nfev, ftol)
    rows.append((full_cost, float(sched(epoch)), step_norm, float(np.max(np.abs(g))), ev.nfev))
    if status == STATUS_EARLY_STOP:  # the history shows every epoch; the result is the best one
        x = val.best_x
        full_cost, g, f, J = ev.gradient(x)
    keep = slice(-history - 1, None) if history else slice(0, 1)
    hist = np.array(rows[keep])
    curves = {}
    if val.fun is not None:
        # row k of the history is the start of epoch k, the last row the end; a fit that stopped before an
        # epoch (gtol) or went back to its start (non-finite) ends where the last validation cost was taken
        val_rows = val.costs if len(val.costs) == len(rows) else val.costs + val.costs[-1:]
        curves["val_cost"] = np.array(val_rows[keep])
    if batches:
        curves["batch_epoch"] = np.array([b[0] for b in batches])
        curves["batch_cost"] = np.array([b[1] for b in batches])
    return OptimizeResult(
        x=x, cost=full_cost, fun=f, jac=J, grad=g, optimality=float(np.max(np.abs(g))),
        active_mask=find_active_constraints(x, lb, ub), nfev=ev.nfev, ncalls=ev.nfev, njev=ev.njev, nit=t,
        epochs=epoch,
        status=status, message=TERMINATION_MESSAGES[status], success=status > 0, method=method, lr=lr,
        best_epoch=val.best_epoch if val.fun is not None else None,
        history={"cost": hist[:, 0], "lam": hist[:, 1], "step_norm": hist[:, 2], "optimality": hist[:, 3],
                 "nfev": hist[:, 4].astype(int), "ncalls": hist[:, 4].astype(int), **curves},
    )

