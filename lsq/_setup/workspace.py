"""Workspace: every buffer and state scalar the engine touches, allocated once per problem size."""

from collections import namedtuple

import numpy as np

from .._kernels.engine.state import STATE
from .jit import jit

Workspace = namedtuple(
    "Workspace",
    [
        "x", "x_new", "x_prev", "lb", "ub", "d",  # (n,) point, trial point, point before the last step, bounds,
        # scaling diagonal
        "r", "r_new", "fs", "row_scale",  # (m,) residuals at x and x_new, loss-scaled residuals, loss row scales
        "rho", "rho_new",  # (3, m) loss values and derivatives at x and x_new
        "Jt",  # (n, m) Jacobian at x stored by parameter, Jt[j, i] = d f_i / d x_j (loss-scaled by the engine)
        "g", "colsq", "colsq_prev", "delta", "p", "rhs",  # (n,) gradient, squared column norms (at x and at
        # x_prev), step, work
        "A", "L",  # (n, n) J^T J and its Cholesky factor
        "QJ", "S",  # QR buffers stored by columns: [J | f] as (n+1, m) and [R; sqrt(lam D)] as (n+1, min(m, n) + n)
        "free",  # (n,) int64 indices of the free variables
        "hist",  # (cap, 6) cost, lambda, step norm, optimality, nfev, ncalls per iteration
        "state",  # (1,) record: the engine's scalar state (lsq._kernels.engine.state.STATE)
    ],
)


def make_workspace(m, n, qr=True, history=1000, holds_jacobian=True, normal=True, robust=True):
    """Allocate a :class:`Workspace` for ``m`` residuals and ``n`` variables.

    Parameters
    ----------
    m, n : int
        Problem size.
    qr : bool
        Allocate the QR buffers (about ``(m + 2n) * (n + 1)`` doubles); otherwise they are 1x1 stubs.
    history : int
        Rows of per-iteration history kept (later iterations are not recorded).
    holds_jacobian : bool
        Allocate ``Jt``; False when the driver keeps the Jacobian (``SOLVER_NORMAL``/``SOLVER_EXTERNAL``),
        and ``Jt`` is then ``(n, 0)``.
    normal : bool
        Allocate the ``(n, n)`` matrices ``A`` and ``L``; False for ``SOLVER_EXTERNAL`` (they are 1x1 stubs).
    robust : bool
        Allocate the loss buffers ``rho``, ``rho_new`` and ``row_scale`` (7 residual-length vectors); with
        the linear loss they are empty.
    """
    f = np.zeros
    k = min(m, n)
    nqr_rows = m if qr else 1
    nj = n if normal else 1
    return Workspace(
        f(n), f(n), f(n), np.full(n, -np.inf), np.full(n, np.inf), np.ones(n),  # x, x_new, x_prev, lb, ub, d
        f(m), f(m), f(m), f(m if robust else 0),  # r, r_new, fs, row_scale
        f((3, m if robust else 0)), f((3, m if robust else 0)),  # rho, rho_new
        f((n, m if holds_jacobian else 0)),  # Jt
        f(n), f(n), f(n), f(n), f(n), f(n),  # g, colsq, colsq_prev, delta, p, rhs
        f((nj, nj)), f((nj, nj)),  # A, L
        f((n + 1, nqr_rows)), f((n + 1, (k + n) if qr else 1)),  # QJ, S (by columns)
        np.zeros(n, dtype=np.int64),  # free
        f((max(history, 1), 6)),  # hist
        np.zeros(1, dtype=STATE),  # state
    )


Scratch = namedtuple(
    "Scratch",
    [
        "f1", "f2",  # (m,) residuals at perturbed points
        "xt",  # (n,) perturbed point
        "h", "one_sided", "rel",  # (n,) steps, one-sided flags (int64), user relative steps (<0: default)
        "Xbuf", "Jbuf",  # (d * chunk,), (n * chunk,): one row chunk of X and of J (chunked normal equations)
    ],
)


def make_scratch(m, n, d=1, chunk=0):
    """Allocate the :class:`Scratch` buffers of the compiled driver (``chunk > 0``: for assembling
    ``J^T J`` by chunks of ``chunk`` residuals, see :func:`lsq._kernels.drivers.compiled.normal_equations_into`)."""
    return Scratch(np.zeros(m), np.zeros(m), np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.int64),
                   np.full(n, -1.0), np.zeros(d * chunk), np.zeros(n * chunk))


make_workspace_jit = jit(make_workspace)
""":func:`make_workspace` callable from compiled code (the batch kernel allocates one per chunk)."""
make_scratch_jit = jit(make_scratch)
