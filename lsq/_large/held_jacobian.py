"""The Jacobian kept by the driver for the driver-side linear solvers (large, sparse or matrix-free problems).

With ``SOLVER_NORMAL`` and ``SOLVER_EXTERNAL`` the engine holds no copy of ``J``: the driver keeps the
user's dense array, ``scipy.sparse`` matrix or ``LinearOperator`` here, applies the robust-loss row scaling,
and answers the engine's linear-algebra requests (gradient and column norms, ``J^T J``, ``|J p|^2``).
"""

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, aslinearoperator

from .._kernels.engine import layout as slot
from .._kernels.large.coloring import csr_column_sumsq

N_PROBES = 8
"""Random probes for the column norms of a ``LinearOperator`` Jacobian (Hutchinson's diagonal estimate)."""


def dot(u, v):
    """``u . v`` without BLAS: a threaded BLAS call leaves its threads spinning for a while, which slows
    the compiled kernels' own threads that run next (measured: about 25 ms per bundle-adjustment
    iteration)."""
    return float(np.einsum("i,i->", u, v))


def jacobian_kind(J):
    """``'dense'``, ``'sparse'`` or ``'operator'``."""
    if isinstance(J, LinearOperator):
        return "operator"
    if sp.issparse(J):
        return "sparse"
    return "dense"


class HeldJacobian:
    """The current Jacobian ``Js = diag(row_scale) J`` and the products the engine asks for.

    Parameters
    ----------
    m, n : int
        Shape of ``J``.
    seed : int
        Seed of the probes that estimate the column norms of a ``LinearOperator``.
    """

    def __init__(self, m, n, seed=0):
        self.m, self.n = m, n
        self.J = None  # the Jacobian as evaluated (result.jac)
        self.Js = None  # loss-scaled
        self.kind = None
        self._rng = np.random.default_rng(seed)
        self.version = 0  # bumped at every new Jacobian; solvers cache factorizations per version

    def set(self, J):
        """Store a newly evaluated Jacobian (its shape is checked by the problem)."""
        self.kind = jacobian_kind(J)
        if self.kind == "sparse":
            J = J if sp.isspmatrix_csr(J) and J.dtype == np.float64 else sp.csr_matrix(J, dtype=float)
        self.J = J
        self.version += 1

    def linearize(self, w, loss_linear, normal):
        """Answer ``TASK_GRADIENT``: ``g = Js^T fs``, squared column norms, and ``A = Js^T Js`` if ``normal``.

        Returns 0: no calls of ``fun`` are spent here (see :class:`lsq._large.row_chunks.RowChunkedJacobian`).
        """
        J = self.J
        if loss_linear:
            Js = J
        elif self.kind == "dense":
            Js = J * w.row_scale[:, None]
        elif self.kind == "sparse":
            Js = (sp.diags(w.row_scale) @ J).tocsr()
        else:
            Js = aslinearoperator(sp.diags(w.row_scale)) @ J
        self.Js = Js
        if self.kind == "operator":
            w.g[:] = Js.rmatvec(w.fs)
            w.colsq[:] = self._probe_column_norms(Js)
        else:
            w.g[:] = Js.T @ w.fs
            if self.kind == "dense":
                w.colsq[:] = np.einsum("ij,ij->j", Js, Js)
            else:
                csr_column_sumsq(Js.indices, Js.data, w.colsq)
        if normal:
            if self.kind == "operator":
                raise ValueError("linear_solver='cholesky' needs the Jacobian's entries; `jac` returned a "
                                 "LinearOperator: use linear_solver='cg' or 'lsmr'.")
            A = Js.T @ Js
            w.A[:] = A.toarray() if sp.issparse(A) else A
        return 0

    def _probe_column_norms(self, Js):
        """Estimate ``diag(Js^T Js)`` from random sign vectors ``v``: the mean of ``v * (Js^T Js v)``."""
        est = np.zeros(self.n)
        for _ in range(N_PROBES):
            v = self._rng.choice((-1.0, 1.0), size=self.n)
            est += v * Js.rmatvec(Js.matvec(v))
        est = np.abs(est / N_PROBES)
        floor = est.max() * 1e-8 if est.max() > 0 else 1.0
        return np.maximum(est, floor)

    def matvec(self, v):
        """``Js v``."""
        return self.Js.matvec(v) if self.kind == "operator" else self.Js @ v

    def rmatvec(self, u):
        """``Js^T u``."""
        return self.Js.rmatvec(u) if self.kind == "operator" else self.Js.T @ u

    def jp_sq(self, w):
        """Answer ``TASK_EVAL_JP``: ``|Js p|^2``."""
        u = self.matvec(w.p)
        w.sf[slot.JP_SQ] = dot(u, u)
