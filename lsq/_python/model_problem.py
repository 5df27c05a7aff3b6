"""A fit of a compiled :class:`lsq.Model` to data, seen as a least-squares problem.

``ModelResiduals(model, x, y, sigma)`` is a residual function ``(model(x, *p) - y) / sigma`` that
:func:`lsq.least_squares` recognises: it then runs the whole fit in compiled code
(:func:`lsq._kernels.drivers.compiled.run_compiled`). Called from Python it behaves as a plain residual function,
so every feature of the Python path (callbacks, callable losses, complex-step Jacobians) still works.
"""

import numpy as np

from .._kernels.drivers.compiled import driver_address, solve
from .._kernels.drivers.finite_diff import default_rstep, relative_steps
from .._kernels.engine.codes import (
    COVARIANCE_NONE,
    EPS,
    ESTIMATOR_LEAST_SQUARES,
    ESTIMATOR_POISSON,
    HESSIAN_GN,
    LOSS_LINEAR,
    O_HESSIAN,
    O_LOSS,
)
from .._kernels.poisson import poisson_residuals
from .._setup.result import FitState
from .._setup.workspace import cached_dims, packed_buffers, result_arrays
from .._tiers.current import kernel
from ..model import Model, as_points

CHUNK_ROWS = 8192
"""Rows per chunk when ``J^T J`` is assembled without holding ``J``."""
NO_STEPS = np.zeros(0)
"""``rel`` for the compiled solve: the default finite-difference steps."""


def check_data(x, y, sigma=None, *, x_name="xdata", y_name="ydata", sigma_name="sigma"):
    """Validate and convert fit data: ``X`` ``(d, m)``, ``y`` ``(m,)``, weights ``1/sigma`` ``(m,)``."""
    X = as_points(x, x_name)
    y = np.asarray(y, dtype=float)
    if y.ndim != 1:
        raise ValueError(f"`{y_name}` must be 1-D, got shape {y.shape}.")
    if X.shape[1] != y.shape[0]:
        raise ValueError(f"`{x_name}` has {X.shape[1]} points but `{y_name}` has {y.shape[0]}.")
    if y.shape[0] == 0:
        raise ValueError(f"`{y_name}` is empty.")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"`{y_name}` contains NaN or inf.")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"`{x_name}` contains NaN or inf.")
    if sigma is None:
        wts = np.ones(y.shape[0])
    else:
        s = np.asarray(sigma, dtype=float)
        if s.shape != y.shape:
            raise ValueError(f"`{sigma_name}` must have shape {y.shape} like `{y_name}`, got {s.shape}.")
        if not np.all(np.isfinite(s)) or np.any(s <= 0):
            raise ValueError(f"`{sigma_name}` must be positive and finite.")
        wts = 1.0 / s
    return X, np.ascontiguousarray(y), np.ascontiguousarray(wts)


class ModelResiduals:
    """Residuals ``(model(x, *p) - y) * wts`` of a compiled model, or the Poisson deviance residuals of
    :mod:`lsq._kernels.poisson` of ``model(x, *p)`` for counts ``y``.

    Parameters
    ----------
    model : Model
    X : ndarray, shape (d, m)
    y, wts : ndarray, shape (m,)
    x_user : array_like
        ``x`` as the user gave it (passed to a user model's Python function).
    estimator : int
        ``ESTIMATOR_LEAST_SQUARES`` or ``ESTIMATOR_POISSON`` (:mod:`lsq._kernels.drivers.compiled`).
    """

    def __init__(self, model, X, y, wts, x_user=None, estimator=ESTIMATOR_LEAST_SQUARES):
        if not isinstance(model, Model):
            raise TypeError(f"`model` must be an lsq.Model, got {type(model).__name__}.")
        self.model, self.X, self.y, self.wts = model, X, y, wts
        self.estimator = estimator
        self.x_user = X[0] if x_user is None and X.shape[0] == 1 else (X if x_user is None else x_user)
        self._shape_checked = model.py_func is None  # built-in kernels always write exactly m values

    @classmethod
    def from_data(cls, model, x, y, sigma=None, estimator=ESTIMATOR_LEAST_SQUARES):
        """Validate ``x``, ``y``, ``sigma`` and build the residuals."""
        X, y, wts = check_data(x, y, sigma)
        return cls(model, X, y, wts, x, estimator)

    def _model_values(self, p):
        v = np.asarray(self.model(self.x_user, *p), dtype=float)
        return np.broadcast_to(v, self.y.shape) if v.ndim == 0 else v

    @property
    def has_jacobian(self):
        return self.model.has_jacobian

    def __call__(self, p):
        self.check_params(p, "x")
        v = self._model_values(p)
        if self.estimator == ESTIMATOR_POISSON:
            return kernel(poisson_residuals)(v, self.y)[0]
        return (v - self.y) * self.wts

    def _row_factors(self, p):
        """Per-point factors of the Jacobian of the model values: the weights, or the deviance slopes."""
        if self.estimator == ESTIMATOR_POISSON:
            return kernel(poisson_residuals)(self._model_values(p), self.y)[1]
        return self.wts

    def check_params(self, p, name="x0"):
        """Raise a ValueError naming ``name`` unless ``p`` has one entry per model parameter (compiled kernels
        read exactly ``n_params`` values and write ``n_params`` Jacobian columns)."""
        n = self.model.n_params
        if np.shape(p) != (n,):
            raise ValueError(f"`{name}` must have {n} entries, one per parameter of model `{self.model.name}` "
                             f"{list(self.model.param_names)}; got shape {np.shape(p)}.")

    def check_shape(self, p):
        """Check once, in Python, that the model returns one value per data point and its analytic Jacobian
        (if the user attached one) shape ``(m, n)`` (the compiled wrappers turn a wrong shape into NaN)."""
        if not self._shape_checked:
            m = self.y.shape[0]
            v = np.asarray(self.model(self.x_user, *p))
            if v.shape not in ((), self.y.shape):
                raise ValueError(f"model `{self.model.name}` returned shape {v.shape} for {m} data "
                                 f"points; it must return one value per point, shape {self.y.shape}.")
            user_jac = self.model._user_jac
            if user_jac is not None:
                shape = np.shape(user_jac(self.x_user, *p))
                if shape != (m, len(p)):
                    raise ValueError(f"the analytic Jacobian of model `{self.model.name}` returned shape {shape}; "
                                     f"it must return shape (m, n) = {(m, len(p))}: one row per data point.")
            self._shape_checked = True

    def jacobian(self, p):
        """Analytic Jacobian of the residuals, ``(m, n)``."""
        self.check_params(p, "x")
        return self.model.jacobian(self.x_user, *p) * self._row_factors(p)[:, None]

    def solve(self, x0, lb, ub, d, opts_f, opts_i, scheme, diff_step, qr, history, analytic=True, chunk=0):
        """Run the whole fit in compiled code; return a :class:`lsq._setup.result.FitState`.

        The model's analytic Jacobian is used when it has one and ``analytic`` is true; otherwise finite
        differences by ``scheme`` (2- or 3-point; 2-point by MINPACK's relative step unless ``diff_step``
        is given) are assembled in compiled code. With ``chunk > 0`` (``SOLVER_NORMAL``) ``J^T J`` is
        accumulated by chunks of ``chunk`` residuals and ``J`` is never stored (the state's ``Jt`` is then
        None).
        """
        self.check_params(x0)
        f_addr, j_addr, has_jac = self.model.tier_kernels(self.X.shape[0])
        has_jac = has_jac and analytic
        rstep = float(kernel(default_rstep)(scheme, EPS))
        rel = NO_STEPS if diff_step is None else kernel(relative_steps)(x0, scheme, diff_step, True)
        j_addr = j_addr if has_jac else 0
        key = (self.y.shape[0], self.model.n_params, int(qr), int(history), int(chunk == 0), 1,
               int(opts_i[O_LOSS] != LOSS_LINEAR), int(opts_i[O_HESSIAN] != HESSIAN_GN))
        buf, free, si, sf = packed_buffers(key)
        kernel(solve)(driver_address(), f_addr, j_addr, has_jac, self.X, self.y, self.wts, x0, lb, ub, d, rel,
                      opts_f, opts_i, scheme, rstep, buf, free, si, sf, cached_dims(key), chunk, COVARIANCE_NONE,
                      self.estimator)
        x, r, Jt, g, hist = result_arrays(buf, key)
        return FitState(x, r, Jt if chunk == 0 else None, g, hist, si, sf, lb, ub)

    def normal_matrix(self, p, chunk=CHUNK_ROWS):
        """``J^T J`` of the residuals at ``p``, assembled by chunks of rows (``J`` is never held whole)."""
        self.check_params(p, "x")
        n = len(p)
        A = np.zeros((n, n))
        x = self.X if self.X.shape[0] > 1 else self.X[0]
        factors = self._row_factors(p)
        for a in range(0, self.y.shape[0], chunk):
            xc = x[..., a:a + chunk]
            Jc = self.model.jacobian(xc, *p) * factors[a:a + chunk, None]
            A += Jc.T @ Jc
        return A
