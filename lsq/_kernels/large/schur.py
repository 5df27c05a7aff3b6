"""Compiled pieces of the Schur-complement solve for block-structured sparse Jacobians (bundle adjustment).

Variables ``[0, k)`` are kept ("cameras"); the rest form blocks of ``b`` ("points") that no residual
couples. With ``H = J^T J = [[C, E], [E^T, B]]`` (``B`` block diagonal) the damped system is reduced to
``(C + lam Dc - E B^-1 E^T) dc = -gc + E B^-1 gp`` and the blocks follow from
``dp = B^-1 (-gp - E^T dc)``. Everything here works on the CSR arrays of ``J``; per point block only the
cameras that see it are touched, so a reduction costs ``sum_p (cameras of p)^2 * b`` operations.
"""

import numpy as np
from numba import prange

from ..._setup.jit import jit, jit_parallel
from ..engine.linalg import cholesky_factor, cholesky_solve


@jit
def schur_structure(indptr, indices, k, b, nb):
    """Group the rows by point block and list the cameras of each block.

    Returns
    -------
    ok : bool
        False when a row touches two point blocks (then the blocks are not independent).
    block_rows_ptr, block_rows : ndarray
        Rows of block ``p`` are ``block_rows[block_rows_ptr[p]:block_rows_ptr[p + 1]]``.
    cams_ptr, cams : ndarray
        Camera columns touching block ``p`` are ``cams[cams_ptr[p]:cams_ptr[p + 1]]`` (sorted).
    local : ndarray, shape (nnz,)
        For a camera non-zero, its position in its block's camera list; for a point non-zero, its offset
        in the block; -1 in rows without a point.
    """
    block_of = np.empty(nb * b, dtype=np.int64)  # a table, not integer division per non-zero (slow here)
    offset_of = np.empty(nb * b, dtype=np.int64)
    for p in range(nb):
        for a in range(b):
            block_of[p * b + a] = p
            offset_of[p * b + a] = a
    ok, row_block = _row_blocks(indptr, indices, k, block_of)
    block_rows_ptr, block_rows = _rows_by_block(row_block, nb)
    cams_ptr, cams = _block_cameras(indptr, indices, k, nb, block_rows_ptr, block_rows)
    local = np.full(indices.shape[0], -1, dtype=np.int64)
    position = np.empty(k, dtype=np.int64)  # position[j]: column j's place in the current block's list
    for p in range(nb):
        c0, c1 = cams_ptr[p], cams_ptr[p + 1]
        for c in range(c0, c1):
            position[cams[c]] = c - c0
        for r in range(block_rows_ptr[p], block_rows_ptr[p + 1]):
            i = block_rows[r]
            for q in range(indptr[i], indptr[i + 1]):
                j = indices[q]
                local[q] = position[j] if j < k else offset_of[j - k]
    return ok, block_rows_ptr, block_rows, cams_ptr, cams, local


@jit
def _row_blocks(indptr, indices, k, block_of):
    """The point block of each row (-1 for a row without point columns); ``ok`` False when a row touches
    two blocks."""
    m = indptr.shape[0] - 1
    row_block = np.full(m, -1, dtype=np.int64)
    ok = True
    for i in range(m):
        for q in range(indptr[i], indptr[i + 1]):
            j = indices[q]
            if j >= k:
                p = block_of[j - k]
                if row_block[i] == -1:
                    row_block[i] = p
                elif row_block[i] != p:
                    ok = False
    return ok, row_block


@jit
def _rows_by_block(row_block, nb):
    """Rows grouped by block (a counting sort): block ``p``'s rows are ``rows[ptr[p]:ptr[p + 1]]``."""
    m = row_block.shape[0]
    counts = np.zeros(nb + 1, dtype=np.int64)
    for i in range(m):
        if row_block[i] >= 0:
            counts[row_block[i] + 1] += 1
    ptr = np.cumsum(counts)
    fill = ptr[:-1].copy()
    rows = np.empty(ptr[-1], dtype=np.int64)
    for i in range(m):
        p = row_block[i]
        if p >= 0:
            rows[fill[p]] = i
            fill[p] += 1
    return ptr, rows


@jit
def _block_cameras(indptr, indices, k, nb, block_rows_ptr, block_rows):
    """The sorted camera columns of each block: ``cams[ptr[p]:ptr[p + 1]]``."""
    seen = np.full(k, -1, dtype=np.int64)
    ptr = np.zeros(nb + 1, dtype=np.int64)
    cams_list = np.empty(indices.shape[0], dtype=np.int64)
    total = 0
    for p in range(nb):
        start = total
        for r in range(block_rows_ptr[p], block_rows_ptr[p + 1]):
            i = block_rows[r]
            for q in range(indptr[i], indptr[i + 1]):
                j = indices[q]
                if j < k and seen[j] != p:
                    seen[j] = p
                    cams_list[total] = j
                    total += 1
        _insertion_sort(cams_list, start, total)
        ptr[p + 1] = total
    return ptr, cams_list[:total].copy()


@jit
def _insertion_sort(a, lo, hi):
    """Sort ``a[lo:hi]`` in place; the lists are short (one block's columns), where this beats quicksort."""
    for i in range(lo + 1, hi):
        v = a[i]
        j = i - 1
        while j >= lo and a[j] > v:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = v


@jit_parallel
def schur_accumulate(indptr, indices, data, k, b, block_rows_ptr, block_rows, cams_ptr, local, C, B, E, nchunks):
    """The parts of ``J^T J`` that do not depend on ``lam``: the lower triangle of ``C`` (k, k), ``B``
    (nb, b, b) and, for each block ``p``, ``E_p`` (its cameras x b) stored flat in ``E`` from
    ``b * cams_ptr[p]``. Runs ``nchunks`` threads, each with its own copy of ``C``. The CSR indices must be
    sorted, so that the camera entries of a row come before its point entries."""
    m = indptr.shape[0] - 1
    nb = B.shape[0]
    parts = np.zeros((nchunks, k, k))
    for t in prange(nchunks):
        Ct = parts[t]
        for i in range(t * m // nchunks, (t + 1) * m // nchunks):  # camera-camera products of every row
            q0 = indptr[i]
            qs = _first_point_entry(indices, q0, indptr[i + 1], k)
            for q1 in range(q0, qs):
                v1 = data[q1]
                row = Ct[indices[q1]]
                for q2 in range(q0, q1 + 1):
                    row[indices[q2]] += v1 * data[q2]
        for p in range(t * nb // nchunks, (t + 1) * nb // nchunks):
            base = b * cams_ptr[p]
            E[base: b * cams_ptr[p + 1]] = 0.0
            B[p] = 0.0
            Bp = B[p]
            for r in range(block_rows_ptr[p], block_rows_ptr[p + 1]):
                i = block_rows[r]
                q0 = indptr[i]
                q1 = indptr[i + 1]
                qs = _first_point_entry(indices, q0, q1, k)
                for qa in range(qs, q1):
                    a = local[qa]
                    v = data[qa]
                    for qb in range(qs, q1):
                        Bp[a, local[qb]] += v * data[qb]
                    for qc in range(q0, qs):
                        E[base + local[qc] * b + a] += data[qc] * v
    C[:] = 0.0
    for t in range(nchunks):
        C += parts[t]


@jit
def _first_point_entry(indices, q0, q1, k):
    q = q0
    while q < q1 and indices[q] < k:
        q += 1
    return q


@jit_parallel
def schur_reduce(C, B, E, cams_ptr, cams, g, lam_d, mask, S, rhs, Binv, nchunks):
    """Form the reduced system ``S dc = rhs`` for one ``lam`` (``lam_d = lam * d``; ``mask`` 0 for variables
    held at a bound, which get a unit diagonal and no coupling). ``Binv`` receives the Cholesky factors
    ``L`` of the damped blocks. Returns False when a block is not positive definite.

    With ``B_p = L L^T`` and ``G = E_p L^-T``, block ``p`` subtracts ``G G^T`` from ``S`` (lower triangle,
    mirrored at the end) and adds ``G L^-1 gp`` to ``rhs``. ``nchunks`` threads each reduce a share of
    the blocks into their own copy of ``S``.
    """
    k = C.shape[0]
    nb, b, _ = B.shape
    S_parts = np.zeros((nchunks, k, k))
    rhs_parts = np.zeros((nchunks, k))
    failed = np.zeros(nchunks, dtype=np.int64)
    most = 0
    for p in range(nb):
        most = max(most, cams_ptr[p + 1] - cams_ptr[p])
    for t in prange(nchunks):
        Lb = np.empty((b, b))
        z = np.empty(b)
        G = np.empty((most, b))
        St = S_parts[t]
        rt = rhs_parts[t]
        for p in range(t * nb // nchunks, (t + 1) * nb // nchunks):
            if not _reduce_block(p, k, b, B, E, cams_ptr, cams, g, lam_d, mask, St, rt, Binv, Lb, z, G):
                failed[t] = 1
                break
    if failed.sum() > 0:
        return False
    for a in range(k):
        for c in range(a + 1):
            v = C[a, c] * mask[a] * mask[c]
            for t in range(nchunks):
                v += S_parts[t, a, c]
            S[a, c] = v
        S[a, a] += lam_d[a] * mask[a] + (1.0 - mask[a])
        v = -g[a] * mask[a]
        for t in range(nchunks):
            v += rhs_parts[t, a]
        rhs[a] = v
    for a in range(k):
        for c in range(a):
            S[c, a] = S[a, c]
    return True


@jit
def _reduce_block(p, k, b, B, E, cams_ptr, cams, g, lam_d, mask, S, rhs, Binv, Lb, z, G):
    """Subtract block ``p``'s ``G G^T`` from the lower triangle of ``S`` and add its share to ``rhs``."""
    o = k + p * b
    for a in range(b):
        for c in range(b):
            Lb[a, c] = B[p, a, c] * mask[o + a] * mask[o + c]
        Lb[a, a] += lam_d[o + a] * mask[o + a] + (1.0 - mask[o + a])
    if not cholesky_factor(Lb, b, Lb):
        return False
    Binv[p] = Lb
    _forward(Lb, b, g, o, mask, z)  # z = L^-1 gp
    c0, c1 = cams_ptr[p], cams_ptr[p + 1]
    nc = c1 - c0
    base = b * c0
    for r in range(nc):
        mr = mask[cams[c0 + r]]
        for a in range(b):  # forward substitution on the masked row of E_p
            s = E[base + r * b + a] * mr * mask[o + a]
            for t in range(a):
                s -= Lb[a, t] * G[r, t]
            G[r, a] = s / Lb[a, a]
    for r in range(nc):
        jr = cams[c0 + r]
        s = 0.0
        for a in range(b):
            s += G[r, a] * z[a]
        rhs[jr] += s
        Srow = S[jr]
        if b == 3:  # the bundle-adjustment case, unrolled
            g0, g1, g2 = G[r, 0], G[r, 1], G[r, 2]
            for t in range(r + 1):
                Srow[cams[c0 + t]] -= g0 * G[t, 0] + g1 * G[t, 1] + g2 * G[t, 2]
        else:
            for t in range(r + 1):
                s = 0.0
                for a in range(b):
                    s += G[r, a] * G[t, a]
                Srow[cams[c0 + t]] -= s  # cams are sorted: the lower triangle
    return True


@jit
def _forward(L, b, g, o, mask, z):
    for a in range(b):
        s = g[o + a] * mask[o + a]
        for t in range(a):
            s -= L[a, t] * z[t]
        z[a] = s / L[a, a]


@jit_parallel
def schur_back_substitute(E, cams_ptr, cams, Binv, g, mask, dc, out, nchunks):
    """``dp = B^-1 (-gp - E^T dc)`` per block, written after ``dc`` into ``out`` (length n); ``nchunks``
    threads take a share of the blocks each."""
    k = dc.shape[0]
    nb, b, _ = Binv.shape
    out[:k] = dc
    for t in prange(nchunks):
        r = np.empty(b)
        y = np.empty(b)
        for p in range(t * nb // nchunks, (t + 1) * nb // nchunks):
            _back_substitute_block(p, k, b, E, cams_ptr, cams, Binv, g, mask, dc, out, r, y)


@jit
def _back_substitute_block(p, k, b, E, cams_ptr, cams, Binv, g, mask, dc, out, r, y):
    """Block ``p`` of :func:`schur_back_substitute`."""
    o = k + p * b
    c0, c1 = cams_ptr[p], cams_ptr[p + 1]
    base = b * c0
    for a in range(b):
        s = -g[o + a]
        for t in range(c1 - c0):
            s -= E[base + t * b + a] * dc[cams[c0 + t]] * mask[cams[c0 + t]]
        r[a] = s * mask[o + a]
    cholesky_solve(Binv[p], b, r, y)
    for a in range(b):
        out[o + a] = y[a] * mask[o + a]
