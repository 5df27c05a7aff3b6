"""Finite-difference Jacobians with a known sparsity pattern (``jac_sparsity``), returned as CSR.

The columns are coloured once (:func:`lsq._kernels.large.coloring.color_columns`); each group costs one
evaluation of ``fun`` (two for 3-point), and the difference quotients are scattered into the CSR
structure by a compiled loop. Steps follow the same rules as the dense differences.
"""

import numpy as np
import scipy.sparse as sp

from .._kernels.drivers.finite_diff import SCHEME_2POINT, SCHEME_3POINT, SCHEME_CS
from .._kernels.large.coloring import assemble_grouped, color_columns


def check_sparsity(jac_sparsity, m, n):
    """Return the pattern as a CSR matrix of ones with sorted indices; raise ValueError naming ``jac_sparsity``."""
    try:
        S = sp.csr_matrix(jac_sparsity, dtype=float) if sp.issparse(jac_sparsity) else \
            sp.csr_matrix(np.atleast_2d(np.asarray(jac_sparsity, dtype=float)))
    except (TypeError, ValueError) as exc:
        raise TypeError("`jac_sparsity` must be an array_like or scipy.sparse matrix of shape (m, n).") from exc
    if S.shape != (m, n):
        raise ValueError(f"`jac_sparsity` has wrong shape: expected {(m, n)}, actual {S.shape}.")
    S.data[:] = S.data != 0
    S.eliminate_zeros()
    S.sum_duplicates()
    S.sort_indices()
    S.data[:] = 1.0
    return S


class GroupedDifferences:
    """Coloured finite differences on a fixed sparsity pattern.

    Parameters
    ----------
    pattern : scipy.sparse.csr_matrix
        From :func:`check_sparsity`.
    """

    def __init__(self, pattern):
        self.pattern = pattern
        self.m, self.n = pattern.shape
        self.indptr = pattern.indptr.astype(np.int64)
        self.indices = pattern.indices.astype(np.int64)
        self.colors, self.ngroups = color_columns(self.indptr, self.indices, self.n)
        self.members = [np.flatnonzero(self.colors == g) for g in range(self.ngroups)]

    def evaluations(self, scheme):
        """Calls of ``fun`` per Jacobian."""
        return self.ngroups * (2 if scheme == SCHEME_3POINT else 1)

    def jacobian(self, evaluate, x, f0, h, one_sided, scheme):
        """The Jacobian at ``x`` as CSR; ``evaluate(points)`` returns ``fun`` at each point."""
        pts = []
        for cols in self.members:
            if scheme == SCHEME_CS:
                xc = x.astype(complex)
                xc[cols] += 1j * h[cols]
                pts.append(xc)
                continue
            x1 = x.copy()
            x1[cols] += h[cols]
            pts.append(x1)
            if scheme == SCHEME_3POINT:
                x2 = x.copy()
                x2[cols] += np.where(one_sided[cols], 2.0 * h[cols], -h[cols])
                pts.append(x2)
        vals = [np.asarray(v).reshape(-1) for v in evaluate(pts)]
        for v in vals:
            if v.shape[0] != self.m:
                raise ValueError(f"`fun` returned {v.shape[0]} residuals, expected {self.m}.")
        if scheme == SCHEME_CS:
            F1 = np.array([v.imag for v in vals])
            f0 = np.zeros(self.m)
            scheme = SCHEME_2POINT
            F2 = F1
        elif scheme == SCHEME_3POINT:
            F1 = np.array(vals[0::2], dtype=float)
            F2 = np.array(vals[1::2], dtype=float)
        else:
            F1 = np.array(vals, dtype=float)
            F2 = F1
        data = np.empty(self.indices.shape[0])
        assemble_grouped(self.indptr, self.indices, self.colors, h, one_sided, scheme,
                         np.asarray(f0, dtype=float), F1, F2, data)
        P = self.pattern
        return sp.csr_matrix((data, P.indices.copy(), P.indptr.copy()), shape=P.shape)
