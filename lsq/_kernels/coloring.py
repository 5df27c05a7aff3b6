"""Column colouring of a sparsity pattern and the assembly of a finite-difference Jacobian from groups.

Columns that share no row can be perturbed together: one evaluation of ``fun`` then gives the differences
of all of them (Curtis, Powell and Reid 1974). The colouring is greedy in column order, like SciPy's
``group_columns``; a bundle-adjustment pattern (each row touching one camera and one point) needs as many
groups as one row has non-zeros.
"""

import numpy as np

from .._jit import jit
from .finite_diff import SCHEME_2POINT


@jit
def color_columns(csc_indptr, csc_indices, csr_indptr, csr_indices, n):
    """Greedy colouring: ``colors[j]`` is the smallest group with no column sharing a row with ``j``.

    Parameters
    ----------
    csc_indptr, csc_indices : ndarray
        The pattern by columns (rows of each column).
    csr_indptr, csr_indices : ndarray
        The same pattern by rows (columns of each row).
    n : int
        Number of columns.

    Returns
    -------
    colors : ndarray of int64, shape (n,)
    ngroups : int
    """
    colors = np.full(n, -1, dtype=np.int64)
    mark = np.full(n + 1, -1, dtype=np.int64)  # mark[c] == j: colour c is taken by a neighbour of j
    ngroups = 0
    for j in range(n):
        for k in range(csc_indptr[j], csc_indptr[j + 1]):
            i = csc_indices[k]
            for kk in range(csr_indptr[i], csr_indptr[i + 1]):
                c = colors[csr_indices[kk]]
                if c >= 0:
                    mark[c] = j
        c = 0
        while mark[c] == j:
            c += 1
        colors[j] = c
        ngroups = max(ngroups, c + 1)
    return colors, ngroups


@jit
def assemble_grouped(csr_indptr, csr_indices, colors, h, one_sided, scheme, f0, F1, F2, data):
    """Fill the CSR ``data`` of the Jacobian from grouped evaluations.

    ``F1[g]`` holds ``fun`` at ``x`` plus the steps ``h`` of the columns in group ``g`` and, for 3-point,
    ``F2[g]`` at ``x - h`` (or ``x + 2h`` where ``one_sided``); each non-zero ``(i, j)`` is the difference
    quotient of row ``i`` in the group of column ``j`` (the same formulas as :func:`finite_diff.fd_column`).
    """
    m = f0.shape[0]
    for i in range(m):
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
