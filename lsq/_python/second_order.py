"""The second-order term ``S = sum r_i grad^2 r_i`` of a Python problem, for ``hessian='exact'``.

From the user's ``hess(x)``: per-residual Hessians ``(m, n, n)``, summed here with the residuals, or the
summed term itself ``(n, n)``. Without one, by differences, the same rules as the compiled driver
(:func:`lsq._kernels.drivers.compiled.second_order_into`): columns ``(J(x + h e_k) - J(x))^T r / h`` of a
callable ``jac``, or second differences of the residuals.
"""

import numpy as np

from .._kernels.drivers.compiled import JACOBIAN_DIFFERENCE_STEP, SECOND_ORDER_STEP, second_order_step
from .._tiers.current import kernel
from .problem import ArgsWrapper


def _steps(x, rel_fd, rstep):
    """:func:`lsq._kernels.drivers.compiled.second_order_step` for every variable."""
    rel_fd = np.full(x.shape[0], -1.0) if rel_fd is None else rel_fd
    return np.array([kernel(second_order_step)(float(v), float(r), rstep) for v, r in zip(x, rel_fd, strict=True)])


class SecondOrder:
    """``S`` at a point for :class:`lsq._python.problem.PythonProblem` ``problem`` (``hess`` callable or
    None)."""

    def __init__(self, problem, hess, args=(), kwargs=None):
        self.problem = problem
        self.hess = None if hess is None else ArgsWrapper(hess, args, kwargs)

    def __call__(self, x, r, J):
        """``S`` at ``x`` with residuals ``r`` and Jacobian ``J`` ``(m, n)``; ``(n, n)``, symmetric."""
        m, n = r.shape[0], x.shape[0]
        if self.hess is not None:
            H = np.asarray(self.hess(x), dtype=float)
            if H.shape == (m, n, n):
                S = np.einsum("i,ijk->jk", r, H)
            elif H.shape == (n, n):
                S = H
            else:
                raise ValueError(f"`hess` must return the residuals' Hessians, shape (m, n, n) = {(m, n, n)}, or "
                                 f"their sum weighted by the residuals, shape (n, n) = {(n, n)}; got {H.shape}.")
            if not np.all(np.isfinite(S)):
                raise ValueError(f"`hess` returned NaN or inf at x = {x}.")
        elif self.problem.jac_callable is not None:
            h = _steps(x, self.problem.rel, JACOBIAN_DIFFERENCE_STEP)
            S = np.empty((n, n))
            for k in range(n):
                xk = x.copy()
                xk[k] += h[k]
                S[:, k] = (self.problem.jacobian(xk, r) - J).T @ r / h[k]
        else:
            h = _steps(x, self.problem.rel, SECOND_ORDER_STEP)
            single = [self.problem.residuals(x + np.eye(n)[j] * h) for j in range(n)]
            S = np.empty((n, n))
            for j in range(n):
                for k in range(j + 1):
                    xjk = x.copy()
                    xjk[j] += h[j]
                    xjk[k] += h[k]
                    d = self.problem.residuals(xjk) - single[j] - single[k] + r
                    S[j, k] = S[k, j] = r @ d / (h[j] * h[k])
        return 0.5 * (S + S.T)
