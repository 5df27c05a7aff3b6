"""The parameter covariance ``(J^T J)^+`` at a solution, from a truncated SVD of ``J``, in compiled code.

Compiled because LAPACK's SVD called from numba skips NumPy's per-call checks, which cost more than the
decomposition of a small Jacobian (100 x 4: a few microseconds).
"""

import numpy as np

from .._setup.jit import jit
from .engine.codes import EPS


@jit
def pinv_normal(J):
    """``(J^T J)^+`` from the SVD of ``J`` (``(m, n)``, C order), dropping singular values below
    ``eps * max(m, n) * s_max``; returns ``(pcov, dropped)``, ``dropped`` true when any was dropped."""
    _, s, VT = np.linalg.svd(J, full_matrices=False)
    n = VT.shape[1]
    threshold = EPS * max(J.shape[0], J.shape[1]) * (s[0] if s.size else 0.0)
    out = np.zeros((n, n))
    dropped = False
    for k in range(s.shape[0]):
        if s[k] > threshold:
            w = 1.0 / (s[k] * s[k])
            for a in range(n):
                for b in range(n):
                    out[a, b] += VT[k, a] * w * VT[k, b]
        else:
            dropped = True
    return out, dropped


@jit
def covariance_from_transposed(Jt):
    """:func:`pinv_normal` of ``J = Jt.T`` (the engine stores ``J`` by parameter); all NaN (and ``dropped``)
    when ``J`` is not finite."""
    n = Jt.shape[0]
    for j in range(n):
        for i in range(Jt.shape[1]):
            if not np.isfinite(Jt[j, i]):
                return np.full((n, n), np.nan), True
    return pinv_normal(np.ascontiguousarray(Jt.T))

