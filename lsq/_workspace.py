"""Workspace: every buffer and state scalar the engine touches, allocated once per problem size."""

from collections import namedtuple

import numpy as np

from ._kernels.codes import N_FST, N_IST

Workspace = namedtuple(
    "Workspace",
    [
        "x", "x_new", "lb", "ub", "d",  # (n,) point, trial point, bounds, scaling diagonal
        "r", "r_new", "fs",  # (m,) residuals at x and x_new, loss-scaled residuals at x
        "rho", "rho_new",  # (3, m) loss values and derivatives at x and x_new
        "J",  # (m, n) Jacobian at x (loss-scaled in place by the engine)
        "g", "colsq", "delta", "p", "rhs",  # (n,) gradient, squared column norms, step, work
        "A", "L",  # (n, n) J^T J and its Cholesky factor
        "QJ", "S",  # QR buffers: (m, n+1) and (min(m, n) + n, n+1)
        "free",  # (n,) int64 indices of the free variables
        "hist",  # (cap, 5) cost, lambda, step norm, optimality, nfev per iteration
        "ist", "fst",  # int and float state
    ],
)


def make_workspace(m, n, qr=True, history=1000):
    """Allocate a :class:`Workspace` for ``m`` residuals and ``n`` variables.

    Parameters
    ----------
    m, n : int
        Problem size.
    qr : bool
        Allocate the QR buffers (about ``(m + 2n) * (n + 1)`` doubles); otherwise they are 1x1 stubs.
    history : int
        Rows of per-iteration history kept (later iterations are not recorded).
    """
    f = np.zeros
    k = min(m, n)
    return Workspace(
        x=f(n), x_new=f(n), lb=np.full(n, -np.inf), ub=np.full(n, np.inf), d=np.ones(n),
        r=f(m), r_new=f(m), fs=f(m),
        rho=f((3, m)), rho_new=f((3, m)),
        J=f((m, n)),
        g=f(n), colsq=f(n), delta=f(n), p=f(n), rhs=f(n),
        A=f((n, n)), L=f((n, n)),
        QJ=f((m, n + 1)) if qr else f((1, 1)), S=f((k + n, n + 1)) if qr else f((1, 1)),
        free=np.zeros(n, dtype=np.int64),
        hist=f((max(history, 1), 5)),
        ist=np.zeros(N_IST, dtype=np.int64), fst=f(N_FST),
    )
