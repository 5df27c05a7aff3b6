"""Built-in models in the lanes layout: values and Jacobian together, ``LANES`` parameter sets at a time.

Signature ``lanes(X, P, F, J)``: points ``X`` ``(d, m, W)``, parameters ``P`` ``(n, W)``, model values into
``F`` ``(m, W)`` and derivatives ``d f_i / d p_j`` into ``J`` ``(n, m, W)``; the lane is the last, contiguous
axis, so every loop over it vectorises. One exponential (:func:`lsq._kernels.lanes.vexp.exp`, within 2 ulp
of ``math.exp``) serves a point's value and its derivatives. Each loop writes one array
(several arrays written in one loop keep LLVM from vectorising it); formulas follow the per-fit Jacobian
kernels of :mod:`._peaks` and :mod:`._curves`.
"""

from .._kernels.lanes.vexp import exp
from .._setup.jit import jit_engine


@jit_engine
def _exp_rows(E):
    """``E = exp(E)`` in place, ``E`` of shape ``(m, W)`` (a loop LLVM vectorises: one array, no branch)."""
    for i in range(E.shape[0]):
        for l in range(E.shape[1]):
            E[i, l] = exp(E[i, l])


@jit_engine
def _ones(R):
    for i in range(R.shape[0]):
        for l in range(R.shape[1]):
            R[i, l] = 1.0


def gaussian_lanes(X, P, F, J):
    m, W = F.shape
    for i in range(m):  # J[1] holds u = (x - mu) / s, J[0] the exponential
        for l in range(W):
            J[1, i, l] = (X[0, i, l] - P[1, l]) / P[2, l]
    for i in range(m):
        for l in range(W):
            J[0, i, l] = -0.5 * J[1, i, l] * J[1, i, l]
    _exp_rows(J[0])
    for i in range(m):
        for l in range(W):
            F[i, l] = P[0, l] * J[0, i, l] + P[3, l]
    for i in range(m):
        for l in range(W):
            J[2, i, l] = P[0, l] * J[0, i, l] * J[1, i, l] * J[1, i, l] / P[2, l]
    for i in range(m):
        for l in range(W):
            J[1, i, l] = P[0, l] * J[0, i, l] * J[1, i, l] / P[2, l]
    _ones(J[3])


def gaussian_2d_lanes(X, P, F, J):
    m, W = F.shape
    for i in range(m):  # J[3] holds r**2, J[0] the exponential
        for l in range(W):
            dx = X[0, i, l] - P[1, l]
            dy = X[1, i, l] - P[2, l]
            J[3, i, l] = dx * dx + dy * dy
    for i in range(m):
        for l in range(W):
            J[0, i, l] = -0.5 * J[3, i, l] / (P[3, l] * P[3, l])
    _exp_rows(J[0])
    for i in range(m):  # F holds a e / w**2 until the end
        for l in range(W):
            F[i, l] = P[0, l] * J[0, i, l] / (P[3, l] * P[3, l])
    for i in range(m):
        for l in range(W):
            J[1, i, l] = F[i, l] * (X[0, i, l] - P[1, l])
    for i in range(m):
        for l in range(W):
            J[2, i, l] = F[i, l] * (X[1, i, l] - P[2, l])
    for i in range(m):
        for l in range(W):
            J[3, i, l] = F[i, l] * J[3, i, l] / P[3, l]
    for i in range(m):
        for l in range(W):
            F[i, l] = P[0, l] * J[0, i, l] + P[4, l]
    _ones(J[4])


def exponential_lanes(X, P, F, J):
    m, W = F.shape
    for i in range(m):
        for l in range(W):
            J[0, i, l] = -X[0, i, l] / P[1, l]
    _exp_rows(J[0])
    for i in range(m):
        for l in range(W):
            F[i, l] = P[0, l] * J[0, i, l] + P[2, l]
    for i in range(m):
        for l in range(W):
            J[1, i, l] = P[0, l] * J[0, i, l] * X[0, i, l] / (P[1, l] * P[1, l])
    _ones(J[2])
