"""The Python-side problem: residuals and Jacobians of arbitrary user functions, with call counting.

Finite differences use the shared step rules of :mod:`lsq._kernels.drivers.finite_diff`; the evaluations of the
perturbed points can be farmed out through ``workers`` (a map-like callable or a process count).
"""

import multiprocessing

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from .._kernels.drivers.finite_diff import (
    SCHEME_2POINT,
    SCHEME_3POINT,
    SCHEME_CS,
    default_rstep,
    fd_column,
    fd_steps,
    forward_points,
    forward_quotients,
    relative_steps,
)
from .._kernels.engine.codes import EPS
from .._setup.validate import check_residuals
from .._tiers.current import kernel
from .sparse_fd import GroupedDifferences, check_sparsity

FD_SCHEMES = {"2-point": SCHEME_2POINT, "3-point": SCHEME_3POINT, "cs": SCHEME_CS}
DENSE_LIMIT = 50_000_000  # entries of a sparse Jacobian we are willing to densify


class ArgsWrapper:
    """``fun(x, *args, **kwargs)`` as a picklable one-argument callable."""

    def __init__(self, fun, args=(), kwargs=None):
        self.fun = fun
        self.args = tuple(args)
        self.kwargs = {} if kwargs is None else dict(kwargs)

    def __call__(self, x):
        return self.fun(x, *self.args, **self.kwargs)


class Mapper:
    """A ``map`` for finite-difference evaluations: builtin map, a user callable, or a process pool."""

    def __init__(self, workers):
        self._pool = None
        if workers is None or workers == 1:
            self.map = map
        elif callable(workers):
            self.map = workers
        elif isinstance(workers, int):
            procs = None if workers == -1 else workers
            if procs is not None and procs < 1:
                raise ValueError(f"`workers` must be -1, a positive int or a map-like callable, got {workers}.")
            self._pool = multiprocessing.Pool(procs)
            self.map = self._pool.map
        else:
            raise TypeError(f"`workers` must be an int or a map-like callable, got {type(workers).__name__}.")

    def close(self):
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None


class PythonProblem:
    """Residuals ``fun(x)`` and Jacobian ``jac(x)`` of user Python callables, counting every call.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args, **kwargs) -> (m,)``.
    jac : callable or {'2-point', '3-point', 'cs'}
        Analytic Jacobian ``jac(x, *args, **kwargs) -> (m, n)`` or a finite-difference scheme.
    lb, ub : ndarray
        Bounds that finite-difference points respect.
    diff_step : None or array_like
        Relative finite-difference step.
    mapper : Mapper
        How the perturbed points are evaluated.
    minpack_step : bool
        Default forward steps by MINPACK's relative rule (see :mod:`lsq._kernels.drivers.finite_diff`).
    """

    def __init__(self, fun, jac, lb, ub, args=(), kwargs=None, diff_step=None, mapper=None, minpack_step=False):
        self.grouped = None  # GroupedDifferences when a sparsity pattern is known (set_sparsity)
        self.fun = ArgsWrapper(fun, args, kwargs) if args or kwargs else fun
        self.jac_callable = ArgsWrapper(jac, args, kwargs) if callable(jac) else None
        self.scheme = None if callable(jac) else FD_SCHEMES[jac]
        self.lb, self.ub = lb, ub
        n = lb.shape[0]
        self.diff_step, self.minpack_step = diff_step, minpack_step
        self.rel = None  # relative steps, set from x0 by the first call of residuals
        self.mapper = mapper or Mapper(None)
        self.m = None
        self.nfev = 0
        self.rstep = None
        self._h = np.empty(n)  # filled by every difference step
        self._fd_kernels = None  # forward_points and forward_quotients on the call's tier, found on first use
        self._one_sided = np.zeros(n, dtype=np.int64)

    def residuals(self, x):
        """Evaluate and check ``fun(x)``; the first call fixes ``m`` and the finite-difference step."""
        self.nfev += 1
        f = self.fun(x)
        if type(f) is np.ndarray and f.dtype == np.float64 and f.shape == (self.m,):
            return f  # the everyday return: nothing to convert or check
        f = check_residuals(f, self.m, x)
        if self.m is None:
            self.m = f.shape[0]
            eps = EPS
            if f.dtype != np.float64 and np.issubdtype(f.dtype, np.floating):
                eps = max(np.finfo(f.dtype).eps, EPS)  # a float32 scalar stays one: see default_rstep
            self.rstep = float(kernel(default_rstep)(self.scheme if self.scheme is not None else 0, eps))
            # MINPACK's relative steps for float64 residuals; coarser residuals (float32) would drown steps
            # far below 1 in their rounding, so they keep SciPy's rule, relative to max(1, |x|)
            minpack = self.minpack_step and eps == EPS
            self.rel = kernel(relative_steps)(x if type(x) is np.ndarray and x.dtype == np.float64 else
                                      np.asarray(x, dtype=float), self.scheme, self.diff_step, minpack)
        return f

    def set_sparsity(self, jac_sparsity, m):
        """Use coloured finite differences on the pattern ``jac_sparsity`` (checked against ``(m, n)``)."""
        self.grouped = GroupedDifferences(check_sparsity(jac_sparsity, m, self.lb.shape[0]))

    def jacobian(self, x, f0, raw=False, out=None):
        """Jacobian at ``x`` (where the residuals are ``f0``) as a dense float64 ``(m, n)`` array.

        With ``raw``, a sparse matrix or ``LinearOperator`` returned by ``jac`` (or the CSR matrix of
        coloured differences) is returned as it is, after a shape check. ``out``, an ``(n, m)`` C-ordered
        array, receives dense finite differences by variable (the returned Jacobian is then ``out.T``).
        """
        m, n = f0.shape[0], x.shape[0]
        if self.jac_callable is not None:
            J = self.jac_callable(x)
            if raw and (sp.issparse(J) or isinstance(J, LinearOperator)):
                if J.shape != (m, n):
                    raise ValueError(f"The return value of `jac` has wrong shape: expected {(m, n)}, "
                                     f"actual {J.shape}.")
                return J
            return self.as_dense(J, m, n)
        if self.forward_serial:
            Jt = np.empty((n, m)) if out is None else out
            self.forward_differences(x, f0, Jt)
            return Jt.T
        kernel(fd_steps)(x, self.lb, self.ub, self.rstep, self.rel, self.scheme, self._h, self._one_sided)
        h, one_sided = self._h, self._one_sided
        if self.grouped is not None:
            J = self.grouped.jacobian(self._evaluate, x, f0, h, one_sided, self.scheme)
            return J if raw else self.as_dense(J, m, n)
        Jt = np.empty((n, m)) if out is None else out  # filled by variable, returned as the (m, n) view
        J = Jt.T
        if self.scheme == SCHEME_CS:
            pts = []
            for j in range(n):
                xc = x.astype(complex)
                xc[j] += 1j * h[j]
                pts.append(xc)
            for j, fj in enumerate(self._evaluate(pts)):
                J[:, j] = np.asarray(fj).imag / h[j]
            return J
        pts = []
        for j in range(n):
            x1 = x.copy()
            x1[j] += h[j]
            pts.append(x1)
            if self.scheme == SCHEME_3POINT:
                x2 = x.copy()
                x2[j] += 2.0 * h[j] if one_sided[j] else -h[j]
                pts.append(x2)
        # consumed lazily: with the serial map only one perturbed residual vector exists at a time
        vals = (np.asarray(v, dtype=float).reshape(-1) for v in self._evaluate(pts))
        per = 2 if self.scheme == SCHEME_3POINT else 1
        for j in range(n):
            f1 = next(vals)
            f2 = next(vals) if per == 2 else f1
            if f1.shape[0] != m or f2.shape[0] != m:
                raise ValueError(f"`fun` returned {f1.shape[0]} residuals, expected {m}.")
            kernel(fd_column)(self.scheme, one_sided[j], h[j], f0, f1, f2, Jt, j)
        return J

    @property
    def forward_serial(self):
        """Whether the Jacobian is by 2-point differences of the whole vector, evaluated one point after another."""
        return (self.jac_callable is None and self.scheme == SCHEME_2POINT and self.grouped is None
                and self.mapper.map is map)

    def forward_differences(self, x, f0, Jt):
        """Serial forward differences into ``Jt`` (by variable): ``(f(x + h_j e_j) - f0) / h_j``, the arithmetic
        of :func:`lsq._kernels.drivers.finite_diff.fd_column`.

        Each perturbed point is a row of a new array (``fun`` gets a view it may keep: no row is written
        after it was passed); each value goes straight to its row of ``Jt``."""
        m, n = f0.shape[0], x.shape[0]
        points = np.empty((n, n))
        if self._fd_kernels is None:
            self._fd_kernels = kernel(forward_points), kernel(forward_quotients)
        points_into, quotients_into = self._fd_kernels
        points_into(x, self.lb, self.ub, self.rstep, self.rel, self._h, self._one_sided, points)
        fun = self.fun
        for j in range(n):
            v = fun(points[j])
            if type(v) is not np.ndarray or v.shape != (m,):
                v = np.asarray(v, dtype=float).reshape(-1)
                if v.shape[0] != m:
                    raise ValueError(f"`fun` returned {v.shape[0]} residuals, expected {m}.")
            Jt[j] = v
        self.nfev += n
        quotients_into(Jt, f0, self._h)

    def _evaluate(self, pts):
        self.nfev += len(pts)
        return iter(self.mapper.map(self.fun, pts))

    @staticmethod
    def as_dense(J, m, n):
        if isinstance(J, LinearOperator):
            raise ValueError(
                "`jac` returned a LinearOperator; the dense solvers (linear_solver='qr' or 'cholesky') need "
                "the matrix: use linear_solver='cg' or 'lsmr'."
            )
        if sp.issparse(J):
            if m * n > DENSE_LIMIT:
                raise ValueError(
                    f"`jac` returned a sparse {m}x{n} matrix, too large to densify; "
                    "use linear_solver='cg', 'lsmr' or 'schur'."
                )
            J = J.toarray()
        J = np.atleast_2d(np.asarray(J))
        if np.iscomplexobj(J):
            raise ValueError("`jac` must return a real array.")
        if J.shape != (m, n):
            raise ValueError(f"The return value of `jac` has wrong shape: expected {(m, n)}, actual {J.shape}.")
        return J
