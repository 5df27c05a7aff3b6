"""The parameter covariance ``(J^T J)^+`` at a solution, in compiled code.

``J = Q R`` by Householder reflections (:func:`lsq._kernels.engine.linalg.householder_triangularize`), then
the singular value decomposition of the small ``R`` by one-sided Jacobi rotations (Hestenes): ``J`` and
``R`` share their singular values and right singular vectors, and Jacobi rotations give them to high
relative accuracy. Small directions are dropped as a truncated SVD drops them (below
``eps * max(m, n) * s_max``). All of it in a few microseconds for a 100 x 4 Jacobian, where LAPACK's SVD
called through numba took six.
"""

import math

import numpy as np

from .._setup.jit import jit
from .engine.codes import EPS
from .engine.linalg import accumulate, householder_triangularize

JACOBI_SWEEPS = 30
"""Most sweeps of one-sided Jacobi rotations (a handful reach rounding for the sizes fits have)."""


@jit
def jacobi_svd(B):
    """Right singular vectors and singular values of the square ``B`` given by columns (``B[j]`` is column
    ``j``), by one-sided Jacobi rotations applied in place; returns ``(s, V)`` with ``V[j]`` the vector of
    ``s[j]`` (unsorted)."""
    n = B.shape[0]
    V = np.zeros((n, n))
    for j in range(n):
        V[j, j] = 1.0
    for _ in range(JACOBI_SWEEPS):
        rotated = False
        for p in range(n - 1):
            for q in range(p + 1, n):
                alpha = accumulate(0.0, B[p], B[p], n)
                beta = accumulate(0.0, B[q], B[q], n)
                gamma = accumulate(0.0, B[p], B[q], n)
                if gamma == 0.0 or abs(gamma) <= EPS * math.sqrt(alpha * beta):
                    continue
                rotated = True
                zeta = (beta - alpha) / (2.0 * gamma)
                t = math.copysign(1.0, zeta) / (abs(zeta) + math.sqrt(1.0 + zeta * zeta))
                c = 1.0 / math.sqrt(1.0 + t * t)
                s = c * t
                for i in range(n):
                    bp, bq = B[p, i], B[q, i]
                    B[p, i] = c * bp - s * bq
                    B[q, i] = s * bp + c * bq
                    vp, vq = V[p, i], V[q, i]
                    V[p, i] = c * vp - s * vq
                    V[q, i] = s * vp + c * vq
        if not rotated:
            break
    sv = np.zeros(n)
    for j in range(n):
        sv[j] = math.sqrt(accumulate(0.0, B[j], B[j], n))
    return sv, V


@jit
def covariance_from_transposed(Jt, r, conditioning):
    """``(J^T J)^+`` for ``J = Jt.T`` (the engine stores ``J`` by parameter, ``(n, m)``), the conditioning
    of ``J`` with its columns scaled to unit length, and the sum of squares of the residuals ``r`` left
    once their component in the range of ``J`` is removed. Without ``conditioning``, ``s_unit`` and ``V_unit``
    are left empty (one Jacobi SVD fewer: ``curve_fit`` needs only the covariance).

    Returns
    -------
    pcov : ndarray, shape (n, n)
        All NaN when ``J`` is not finite.
    dropped : bool
        Whether small singular values were left out (or ``J`` is not finite).
    s_unit, V_unit : ndarray, shape (n,) and (n, n)
        Singular values of the column-scaled ``J`` (a zero column stays zero) and their right singular
        vectors, ``V_unit[j]`` for ``s_unit[j]`` (unsorted): the directions the data determine least, in
        units of each parameter's sensitivity.
    rss_linear : float
        ``|(I - Q Q^T) r|^2``: the sum of squares at the minimum of the linearised problem, which is the
        sum of squares at the least-squares solution to second order, and stays exact where the solution
        is only known to a few digits more than the residuals (NIST Lanczos1, residuals of 1e-13). Summed
        from the trailing entries of ``Q^T r``, so without cancellation. NaN when ``J`` is not finite.
    """
    n, m = Jt.shape
    for j in range(n):
        for i in range(m):
            if not math.isfinite(Jt[j, i]):
                return np.full((n, n), np.nan), True, np.full(n, np.nan), np.full((n, n), np.nan), np.nan
    B, rss_linear = _triangular_factor(Jt, r)
    s_unit, V_unit = np.zeros(0), np.zeros((0, 0))
    if conditioning:
        unit = B.copy()
        for j in range(n):
            norm = math.sqrt(accumulate(0.0, B[j], B[j], n))
            if norm > 0.0:
                for i in range(n):
                    unit[j, i] /= norm
        s_unit, V_unit = jacobi_svd(unit)
    sv, V = jacobi_svd(B)
    pcov, dropped = _pseudo_inverse(sv, V, EPS * max(m, n))
    return pcov, dropped, s_unit, V_unit, rss_linear


@jit
def _triangular_factor(Jt, r):
    """``R`` of ``J = Q R`` (``J = Jt.T``), padded to ``n x n`` and stored by columns, and
    ``|(I - Q Q^T) r|^2``."""
    n, m = Jt.shape
    c = np.empty((n + 1, m))
    c[:n] = Jt
    c[n] = r
    householder_triangularize(c, m, n, n + 1)
    B = np.zeros((n, n))
    for j in range(n):
        for i in range(min(j + 1, m)):
            B[j, i] = c[j, i]
    tail = c[n, n:] if m > n else c[n, :0]
    return B, accumulate(0.0, tail, tail, tail.shape[0])


@jit
def _pseudo_inverse(sv, V, rtol):
    """``sum_j v_j v_j^T / s_j^2`` over the singular values above ``rtol * s_max`` (and whose ``1 / s_j^2`` is
    finite); exactly symmetric. Returns ``(pcov, dropped)``."""
    n = sv.shape[0]
    s_max = 0.0
    for j in range(n):
        s_max = max(s_max, sv[j])
    out = np.zeros((n, n))
    dropped = False
    for j in range(n):
        w = 1.0 / (sv[j] * sv[j])
        if sv[j] > rtol * s_max and math.isfinite(w):
            for a in range(n):
                for b in range(a + 1):
                    out[a, b] += V[j, a] * w * V[j, b]
        else:
            dropped = True
    for a in range(n):
        for b in range(a):
            out[b, a] = out[a, b]
    return out, dropped
