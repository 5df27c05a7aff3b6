"""Small dense linear-algebra kernels that write into caller-owned buffers (no allocation).

The damped normal equations ``(A + lam*diag(d)) delta = -g`` with ``A = J^T J`` are solved either by

* Cholesky on ``A + lam*diag(d)`` -- cheap, but forming ``A`` squares the condition number of ``J``; or
* QR: ``J = Q R`` once per Jacobian, then per trial ``lam`` a QR of the stacked ``[R; sqrt(lam*d)]``
  (Moré 1978), which never forms ``J^T J`` and keeps the accuracy that ill-conditioned fits need.

Matrices are addressed through explicit row/column counts so one buffer serves every size up to its shape.
"""

import math

from ..._setup.jit import jit_engine as jit
from .codes import EPS


@jit
def accumulate(total, a, b, n):
    """``total + a[0] * b[0] + ... + a[n-1] * b[n-1]``, added in that order."""
    for i in range(n):
        total += a[i] * b[i]
    return total


@jit
def subtract_scaled(t, x, y, n):
    """``y[:n] -= t * x[:n]``."""
    for i in range(n):
        y[i] -= t * x[i]


@jit
def householder_triangularize(c, rows, cols, ncols_total):
    """Reduce the matrix ``a`` stored by columns (``c[j, i] = a[i, j]``) to upper-triangular form in place.

    Column storage keeps every inner loop on contiguous memory. The reflections are applied to all
    ``ncols_total`` columns, so extra columns to the right of ``cols`` (for example a right-hand side) come
    out multiplied by ``Q^T``. Entries below the diagonal are zeroed.

    Parameters
    ----------
    c : ndarray, shape (>= ncols_total, >= rows)
        The matrix by columns, overwritten.
    rows, cols, ncols_total : int
        Active rows, columns to reduce, and all columns to transform.
    """
    kmax = min(rows, cols)
    for k in range(kmax):
        # the part below the diagonal as slices: contiguous views of known stride, whose loops LLVM
        # vectorises (a QR of 100 x 4 takes half the time it takes indexed from k + 1 on)
        ck = c[k]
        below = ck[k + 1:rows]
        nb = rows - k - 1
        head = ck[k]
        s = accumulate(head * head, below, below, nb)
        if not (s > 1e-290 and s < 1e290):
            # rescale only when the plain sum of squares under- or overflows
            scale = 0.0
            for i in range(k, rows):
                scale = max(scale, abs(ck[i]))
            if scale == 0.0:
                continue
            s = 0.0
            for i in range(k, rows):
                t = ck[i] / scale
                s += t * t
            alpha = scale * math.sqrt(s)
        else:
            alpha = math.sqrt(s)
        if head > 0.0:
            alpha = -alpha
        v0 = head - alpha
        vnorm2 = accumulate(v0 * v0, below, below, nb)
        if vnorm2 == 0.0:
            continue
        for j in range(k + 1, ncols_total):
            cj = c[j]
            cj_below = cj[k + 1:rows]
            t = accumulate(v0 * cj[k], below, cj_below, nb)
            t *= 2.0 / vnorm2
            cj[k] -= t * v0
            subtract_scaled(t, below, cj_below, nb)
        ck[k] = alpha
        for i in range(nb):
            below[i] = 0.0


@jit
def back_substitute(c, n, rhs, out):
    """Solve ``R[:n, :n] out = rhs`` for upper-triangular ``R`` stored by columns (``c[j, i] = R[i, j]``).

    Returns False on a zero or non-finite pivot.
    """
    for i in range(n - 1, -1, -1):
        s = rhs[i]
        for j in range(i + 1, n):
            s -= c[j, i] * out[j]
        if c[i, i] == 0.0 or not math.isfinite(c[i, i]):
            return False
        out[i] = s / c[i, i]
    return True


@jit
def cholesky_factor(M, n, L):
    """Cholesky factor ``M[:n, :n] = L L^T`` into the lower triangle of ``L``.

    Returns False when ``M`` is not numerically positive definite (a pivot not above ``n * eps`` times its
    own diagonal entry: relative to each variable, so a badly scaled but well-posed matrix still factors),
    so the caller can damp harder instead of crashing.
    """
    for j in range(n):
        s = M[j, j]
        tiny = n * EPS * s
        for k in range(j):
            s -= L[j, k] * L[j, k]
        if not (s > tiny) or not math.isfinite(s):
            return False
        ljj = math.sqrt(s)
        L[j, j] = ljj
        for i in range(j + 1, n):
            t = M[i, j]
            for k in range(j):
                t -= L[i, k] * L[j, k]
            L[i, j] = t / ljj
    return True


@jit
def cholesky_solve(L, n, rhs, out):
    """Solve ``L L^T out = rhs`` given the factor from :func:`cholesky_factor`."""
    for i in range(n):
        s = rhs[i]
        for k in range(i):
            s -= L[i, k] * out[k]
        out[i] = s / L[i, i]
    for i in range(n - 1, -1, -1):
        s = out[i]
        for k in range(i + 1, n):
            s -= L[k, i] * out[k]
        out[i] = s / L[i, i]
