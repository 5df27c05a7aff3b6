"""``J^T J`` of a Python residual function by chunks of rows, so that the whole Jacobian never exists.

With ``minibatch=True`` the residual function takes the rows it should return, ``fun(x, idx)`` (and a
callable ``jac(x, idx)`` the matching rows of ``J``). The LM methods then answer the engine's
``TASK_GRADIENT`` (``SOLVER_NORMAL``) one chunk of rows at a time: finite differences perturb ``x`` for
each chunk, so memory is one chunk of ``J`` (about 1 MB) however many residuals there are.
"""

import numpy as np

from .._kernels.drivers.finite_diff import SCHEME_3POINT, fd_column, fd_steps


class RowChunkedJacobian:
    """Stands in for :class:`lsq._large.held_jacobian.HeldJacobian` when ``J`` is assembled by row chunks.

    Parameters
    ----------
    fun_rows : callable
        ``fun_rows(x, idx) -> (len(idx),)``.
    jac_rows : callable or None
        ``jac_rows(x, idx) -> (len(idx), n)``; None for finite differences by ``problem.scheme``.
    problem : lsq._python.problem.PythonProblem
        Supplies the bounds, the step rule and the call count.
    m : int
        Number of residuals.
    chunk : int
        Rows per chunk.
    """

    deferred = True
    J = None
    Js = None

    def __init__(self, fun_rows, jac_rows, problem, m, chunk):
        self.fun_rows, self.jac_rows, self.problem = fun_rows, jac_rows, problem
        self.m, self.chunk = m, chunk
        self.x = None

    def set_point(self, x):
        """The engine asked for ``J`` at ``x``: remember the point; the work is done in :meth:`linearize`."""
        self.x = x

    def linearize(self, w, loss_linear, normal):
        """Fill ``w.A = Js^T Js``, ``w.g = Js^T fs`` and ``w.colsq`` chunk by chunk.

        Returns
        -------
        int
            Calls of ``fun`` spent, in whole-data equivalents (``n`` or ``2n`` for finite differences).
        """
        x, p, n = self.x, self.problem, self.x.shape[0]
        A = np.zeros((n, n))
        g = np.zeros(n)
        if self.jac_rows is None:
            fd_steps(x, p.lb, p.ub, p.rstep, p.rel, p.scheme, p._h, p._one_sided)
        for a in range(0, self.m, self.chunk):
            idx = slice(a, min(a + self.chunk, self.m))
            c = idx.stop - a
            if self.jac_rows is not None:
                Jc = np.asarray(self.jac_rows(x, idx), dtype=float)
                if Jc.shape != (c, n):
                    raise ValueError(f"`jac(x, idx)` returned shape {Jc.shape} for {c} rows; expected {(c, n)}.")
            else:
                Jc = self._differences(x, idx, w.r[idx], c, n).T
            if not loss_linear:
                Jc = Jc * w.row_scale[idx, None]
            A += Jc.T @ Jc
            g += Jc.T @ w.fs[idx]
        w.A[:] = A
        w.g[:] = g
        w.colsq[:] = np.diag(A)
        if self.jac_rows is not None:
            return 0
        return n * (2 if p.scheme == SCHEME_3POINT else 1)

    def _differences(self, x, idx, r0, c, n):
        p = self.problem
        h, one_sided = p._h, p._one_sided
        Jt = np.empty((n, c))
        for j in range(n):
            x1 = x.copy()
            x1[j] += h[j]
            f1 = self._rows(x1, idx, c)
            f2 = f1
            if p.scheme == SCHEME_3POINT:
                x2 = x.copy()
                x2[j] += 2.0 * h[j] if one_sided[j] else -h[j]
                f2 = self._rows(x2, idx, c)
            fd_column(p.scheme, one_sided[j], h[j], r0, f1, f2, Jt, j)
        return Jt

    def _rows(self, x, idx, c):
        f = np.asarray(self.fun_rows(x, idx), dtype=float).reshape(-1)
        if f.shape[0] != c:
            raise ValueError(f"`fun(x, idx)` returned {f.shape[0]} residuals for {c} rows.")
        return f
