"""Column colouring of a sparsity pattern and the assembly of a finite-difference Jacobian from groups.

Columns that share no row can be perturbed together: one evaluation of ``fun`` then gives the differences
of all of them (Curtis, Powell and Reid 1974). The colouring is greedy in column order, like SciPy's
``group_columns``; a bundle-adjustment pattern (each row touching one camera and one point) needs as many
groups as one row has non-zeros.
"""

import numpy as np
from numba import prange

from ..._setup.jit import jit, jit_parallel
from ..drivers.finite_diff import SCHEME_2POINT


@jit
def color_columns(csr_indptr, csr_indices, n):
    """Greedy colouring: ``colors[j]`` is the smallest group with no column sharing a row with ``j``.

    Columns are taken in order, as SciPy's ``group_columns`` does. Each row keeps a bit set of the
    colours already used in it, so colouring column ``j`` costs two passes over its rows instead of a
    pass over every column of those rows; the bit sets widen (and the colouring restarts) when the
    colours outgrow them, which gives the same colours.

    Parameters
    ----------
    csr_indptr, csr_indices : ndarray
        The pattern by rows (columns of each row), int64.
    n : int
        Number of columns.

    Returns
    -------
    colors : ndarray of int64, shape (n,)
    ngroups : int
    """
    col_ptr, col_rows = _transpose(csr_indptr, csr_indices, n)
    m = csr_indptr.shape[0] - 1
    words = 1
    for i in range(m):
        words = max(words, (csr_indptr[i + 1] - csr_indptr[i] + 63) // 64)
    colors = np.empty(n, dtype=np.int64)
    while True:
        ngroups = _greedy(col_ptr, col_rows, m, n, words, colors)
        if ngroups >= 0:
            return colors, ngroups
        words *= 2


@jit
def _greedy(col_ptr, col_rows, m, n, words, colors):
    """One greedy pass with ``words`` 64-bit words of colours per row; -1 when they do not suffice."""
    used = np.zeros((m, words), dtype=np.uint64)
    taken = np.empty(words, dtype=np.uint64)
    ngroups = 0
    for j in range(n):
        taken[:] = 0
        for k in range(col_ptr[j], col_ptr[j + 1]):
            r = col_rows[k]
            for w in range(words):
                taken[w] |= used[r, w]
        c = -1
        for w in range(words):
            free = ~taken[w]
            if free != 0:
                c = 64 * w + _lowest_bit(free)
                break
        if c < 0:
            return -1
        colors[j] = c
        w, bit = c // 64, np.uint64(1) << np.uint64(c % 64)
        for k in range(col_ptr[j], col_ptr[j + 1]):
            used[col_rows[k], w] |= bit
        ngroups = max(ngroups, c + 1)
    return ngroups


@jit
def _lowest_bit(v):
    c = 0
    while (v >> np.uint64(c)) & np.uint64(1) == 0:
        c += 1
    return c


@jit
def _transpose(indptr, indices, n):
    """Rows of each column (sorted) from the columns of each row: a counting sort."""
    ptr = np.zeros(n + 1, dtype=np.int64)
    for k in range(indices.shape[0]):
        ptr[indices[k] + 1] += 1
    for j in range(n):
        ptr[j + 1] += ptr[j]
    fill = ptr[:-1].copy()
    rows = np.empty(indices.shape[0], dtype=np.int64)
    for i in range(indptr.shape[0] - 1):
        for k in range(indptr[i], indptr[i + 1]):
            j = indices[k]
            rows[fill[j]] = i
            fill[j] += 1
    return ptr, rows


@jit_parallel
def assemble_grouped(csr_indptr, csr_indices, colors, h, one_sided, scheme, f0, F1, F2, data):
    """Fill the CSR ``data`` of the Jacobian from grouped evaluations.

    ``F1[g]`` holds ``fun`` at ``x`` plus the steps ``h`` of the columns in group ``g`` and, for 3-point,
    ``F2[g]`` at ``x - h`` (or ``x + 2h`` where ``one_sided``); each non-zero ``(i, j)`` is the difference
    quotient of row ``i`` in the group of column ``j`` (the same formulas as :func:`finite_diff.fd_column`).
    """
    m = f0.shape[0]
    for i in prange(m):
        for k in range(csr_indptr[i], csr_indptr[i + 1]):
            j = csr_indices[k]
            g = colors[j]
            if scheme == SCHEME_2POINT:
                data[k] = (F1[g, i] - f0[i]) / h[j]
            elif one_sided[j]:
                data[k] = (-3.0 * f0[i] + 4.0 * F1[g, i] - F2[g, i]) / (2.0 * h[j])
            else:
                data[k] = (F1[g, i] - F2[g, i]) / (2.0 * h[j])


@jit
def csr_column_sumsq(indices, data, out):
    """Squared column norms of a CSR (or COO) matrix from its column indices and values."""
    out[:] = 0.0
    for k in range(indices.shape[0]):
        out[indices[k]] += data[k] * data[k]
