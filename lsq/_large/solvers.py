"""Driver-side solves of the damped system ``(Js_F^T Js_F + lam diag(d_F)) delta = -g_F`` for large problems.

The engine asks for a step (``TASK_SOLVE``) and judges it with the exact ``|Js p|^2`` (``TASK_EVAL_JP``), so
a solve may be inexact: conjugate gradients started at zero give a step whose model decrease is at least
that of the (preconditioned) Cauchy step, which is all the gain-ratio test needs for the outer loop to
converge (Steihaug 1983). The forcing term ``eta = min(0.1, sqrt(|g| / |g_0|))`` tightens the solve as the
gradient falls, so the fast local convergence of LM is kept near the solution.
"""

import math

import numba
import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, lsmr

from .._kernels.engine import layout as slot
from .._kernels.engine.linalg import cholesky_factor, cholesky_solve
from .._kernels.large.schur import schur_accumulate, schur_back_substitute, schur_reduce, schur_structure
from .held_jacobian import dot

OWN_CHOLESKY_MAX_K = 1000
"""Reduced systems up to this size are factored by the engine's Cholesky, larger ones by LAPACK."""
SCHUR_COPY_BYTES = 2**28
"""Memory the thread-local copies of the reduced Schur matrix may take together."""
ETA_MAX = 0.1
ETA_MIN = 1e-10


class _DriverSolver:
    """Shared bookkeeping: the free set, the forcing term, and writing the step back."""

    name = ""

    def __init__(self, n, maxiter=None):
        self.n = n
        self.maxiter = maxiter
        self.g0 = None
        self.iterations = 0  # inner iterations, summed over the fit

    def forcing(self, w):
        """Relative tolerance of the inner solve for the current gradient."""
        gnorm = math.sqrt(dot(w.g, w.g))
        if self.g0 is None or w.si[slot.NJEV] == 1:
            self.g0 = gnorm
        if self.g0 == 0.0:
            return ETA_MIN
        return min(ETA_MAX, max(ETA_MIN, math.sqrt(gnorm / self.g0)))

    @staticmethod
    def free(w):
        return w.free[: int(w.si[slot.NFREE])]

    @staticmethod
    def store(w, step):
        """Write the step on the free set; no progress at all counts as "could not solve" (more damping)."""
        nf = int(w.si[slot.NFREE])
        if not np.any(step):
            step = np.full(nf, np.nan)
        w.delta[:nf] = step


class ConjugateGradient(_DriverSolver):
    """Jacobi-preconditioned conjugate gradients using only ``Js v`` and ``Js^T u``."""

    name = "cg"

    def solve(self, held, w):
        free = self.free(w)
        lam = float(w.sf[slot.TRIAL_LAM])
        d = w.d[free]
        full = np.zeros(self.n)

        def normal_matvec(v):
            full[free] = v
            return held.rmatvec(held.matvec(full))[free] + lam * d * v

        diag = w.colsq[free] + lam * d
        diag = np.where(diag > 0, diag, 1.0)
        maxiter = self.maxiter or min(free.shape[0], 500)
        step, its = pcg(normal_matvec, -w.g[free], diag, self.forcing(w), maxiter)
        self.iterations += its
        self.store(w, step)


def pcg(matvec, b, diag, rtol, maxiter):
    """Preconditioned CG for ``A x = b`` (``A`` symmetric positive semi-definite), from ``x = 0``.

    Stops when ``|r| <= rtol |b|``, after ``maxiter`` iterations, or on non-positive curvature (then the
    iterate so far is returned: every iterate decreases the quadratic model).

    Returns
    -------
    x : ndarray
    iterations : int
    """
    x = np.zeros_like(b)
    r = b.copy()
    z = r / diag
    p = z.copy()
    rz = dot(r, z)
    target = rtol * math.sqrt(dot(b, b))
    its = 0
    while its < maxiter and math.sqrt(dot(r, r)) > target:
        Ap = matvec(p)
        curv = dot(p, Ap)
        if not curv > 0.0:
            break
        alpha = rz / curv
        x += alpha * p
        r -= alpha * Ap
        z = r / diag
        rz_new = dot(r, z)
        p = z + (rz_new / rz) * p
        rz = rz_new
        its += 1
    return x, its


class Lsmr(_DriverSolver):
    """SciPy's LSMR on the damped least-squares form ``min |Js_F y/sqrt(d) + fs|^2 + lam |y|^2`` (a reference)."""

    name = "lsmr"

    def solve(self, held, w):
        free = self.free(w)
        lam = float(w.sf[slot.TRIAL_LAM])
        sd = np.sqrt(w.d[free])
        full = np.zeros(self.n)

        def mv(y):
            full[free] = np.ravel(y) / sd
            return held.matvec(full)

        def rmv(u):
            return held.rmatvec(np.ravel(u))[free] / sd

        op = LinearOperator((held.m, free.shape[0]), matvec=mv, rmatvec=rmv, dtype=float)
        eta = self.forcing(w)
        maxiter = self.maxiter or min(free.shape[0], 500)
        out = lsmr(op, -w.fs, damp=math.sqrt(lam), atol=eta, btol=eta, maxiter=maxiter)
        self.iterations += int(out[2])
        self.store(w, out[0] / sd)


class Schur(_DriverSolver):
    """Exact solve by the Schur complement on the first ``n_keep`` variables.

    The remaining variables come in consecutive blocks of ``block`` that no residual couples (bundle
    adjustment: cameras first, then 3-D points; each residual touches one point). ``J^T J`` is accumulated
    from the CSR Jacobian once per Jacobian, only between the cameras and points that share residuals
    (:mod:`lsq._kernels.large.schur`); each damping level costs the block factorizations, the reduction and one
    dense Cholesky of size ``n_keep``.
    """

    name = "schur"

    def __init__(self, n, n_keep, block):
        super().__init__(n)
        ok = (isinstance(n_keep, int | np.integer) and isinstance(block, int | np.integer) and 0 <= n_keep <= n
              and block >= 1 and (n - n_keep) % block == 0)
        if not ok:
            raise ValueError(f"`schur` must be (n_keep, block) with 0 <= n_keep <= n = {n} and n - n_keep a "
                             f"multiple of block >= 1, got ({n_keep!r}, {block!r}).")
        self.k, self.b = int(n_keep), int(block)
        self.nb = (n - self.k) // self.b
        self._version = -1
        self._pattern = None
        # one thread-local copy of the reduced matrix per thread, while the copies stay small
        fits = max(1, int(SCHUR_COPY_BYTES // (8 * max(self.k, 1) ** 2)))
        self.nchunks = max(1, min(numba.get_num_threads(), fits))

    def _prepare(self, held):
        if held.version == self._version:
            return
        if held.kind == "operator":
            raise ValueError("linear_solver='schur' needs the Jacobian's entries; `jac` returned a LinearOperator.")
        J = held.Js if held.kind == "sparse" else sp.csr_matrix(held.Js)
        if not J.has_sorted_indices:
            J = J.copy()
            J.sort_indices()
        indptr, indices = J.indptr, J.indices
        key = (indptr.shape[0], indices.shape[0])
        same = (self._pattern is not None and self._pattern[0] == key
                and np.array_equal(self._pattern[1], indptr) and np.array_equal(self._pattern[2], indices))
        if not same:
            ok, *structure = schur_structure(indptr, indices, self.k, self.b, self.nb)
            if not ok:
                raise ValueError(f"`schur`: a residual touches two of the blocks of {self.b} after the first "
                                 f"{self.k} variables; they must be independent (e.g. 3-D points that share no "
                                 "residual).")
            self._pattern = (key, indptr, indices)
            self._structure = structure
        rows_ptr, rows, cams_ptr, cams, local = self._structure
        self.C = np.empty((self.k, self.k))
        self.B = np.empty((self.nb, self.b, self.b))
        self.E = np.empty(self.b * cams.shape[0])
        schur_accumulate(indptr, indices, np.asarray(J.data, dtype=float), self.k, self.b, rows_ptr, rows,
                         cams_ptr, local, self.C, self.B, self.E, self.nchunks)
        self._version = held.version

    def solve(self, held, w):
        self._prepare(held)
        free = self.free(w)
        nan = np.full(free.shape[0], np.nan)
        mask = np.zeros(self.n)
        mask[free] = 1.0
        lam_d = float(w.sf[slot.TRIAL_LAM]) * w.d
        _, _, cams_ptr, cams, _ = self._structure
        S = np.empty((self.k, self.k))
        rhs = np.empty(self.k)
        Binv = np.empty_like(self.B)
        if not schur_reduce(self.C, self.B, self.E, cams_ptr, cams, w.g, lam_d, mask, S, rhs, Binv, self.nchunks):
            return self.store(w, nan)
        dc = np.zeros(self.k)
        if self.k <= OWN_CHOLESKY_MAX_K:
            # the engine's Cholesky: as fast as LAPACK at this size, and no BLAS threads left spinning
            # against the compiled kernels' threads
            if not cholesky_factor(S, self.k, S):
                return self.store(w, nan)
            cholesky_solve(S, self.k, rhs, dc)
        else:
            try:
                dc = scipy.linalg.cho_solve(scipy.linalg.cho_factor(S, lower=True, check_finite=False), rhs,
                                            check_finite=False)
            except (np.linalg.LinAlgError, ValueError):
                return self.store(w, nan)
        step = np.empty(self.n)
        schur_back_substitute(self.E, cams_ptr, cams, Binv, w.g, mask, dc, step, self.nchunks)
        self.store(w, step[free])
