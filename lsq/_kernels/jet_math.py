"""The arithmetic of :mod:`lsq._kernels.jets` on plain arrays, in one compiled function, :func:`apply`.

A jet's data is a C-ordered ``(n + 5, P)`` array: row 0 holds the values at ``P`` points, rows ``1..n`` their
derivatives with respect to the ``n`` parameters, of which only rows ``lo <= k < hi`` are in use (the others
are zero and never read or written: a parameter's seed uses one row, and ``x - mu`` stays one row until it
meets another parameter), and the last four rows are the scratch of the operation that made it (the partial
derivatives, and the rows of an operand that broadcasts, so that an operation allocates only its result and
every loop runs over contiguous values). A constant (a float, or ``x``) is a ``(1, P)``
array with ``lo == hi``. ``P`` is 1 for a scalar and broadcasts against any other ``P``.

:func:`apply` takes the operation as a run-time code packed with the operands' row ranges (:func:`pack`): it is
compiled once, cached on disk, and called through its address by every model, so a new model compiles only its
own function and the thin typing layer of :mod:`lsq._kernels.jets`. Each operation computes the values and the
partial derivatives point by point, then the chain rule row by row,
``d out = (d op / d a) d a + (d op / d b) d b``.
"""

import math

import numpy as np
from numba import types

from .._setup.jit import jit_inline
from .lanes.vexp import exp as vector_exp

ADD, SUB, MUL, DIV, POW = range(5)
"""Codes of :func:`binary`."""
(NEG, EXP, SQUARE, EXP_LIBM, LOG, SQRT, ABS, ERF, EXPM1, LOG1P, LOG10, SIN, COS, TAN, ARCTAN, TANH, SINH, COSH,
 ARCSIN, ARCCOS) = range(10, 30)
"""Codes of :func:`unary` (``EXP`` is the vectorisable exp of :mod:`lsq._kernels.lanes.vexp`, ``EXP_LIBM``
numba's)."""
SELECT, TOTAL, STORE = 40, 41, 42
"""Codes of :func:`select`, :func:`total` and :func:`store_jacobian`."""
SCRATCH_ROWS = 4
"""Rows after the derivatives in a jet's data: the scratch of the operation that made it (see the module)."""
ROW_LIMIT = 1024
"""Row ranges are packed in 10 bits each (:func:`pack`): a jet model has at most 1022 parameters."""

KERNEL_SIG = types.void(types.int64, types.float64[:, ::1], types.float64[:, ::1], types.float64[:, ::1],
                        types.float64[:, ::1])
"""Signature of :func:`apply`, the one compiled entry of the jet arithmetic."""

TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
LN10 = math.log(10.0)


@jit_inline
def pack(op, alo, ahi, blo, bhi):
    """One int64 of an operation code and two row ranges (each bound below ``ROW_LIMIT``)."""
    return op + 64 * (alo + ROW_LIMIT * (ahi + ROW_LIMIT * (blo + ROW_LIMIT * bhi)))


@jit_inline
def union(alo, ahi, blo, bhi):
    """The row range of a result from its operands' (an empty range, ``lo == hi``, takes no part)."""
    if alo == ahi:
        return blo, bhi
    if blo == bhi:
        return alo, ahi
    return min(alo, blo), max(ahi, bhi)


@jit_inline
def _stride(p, P):
    """1 when an operand of ``p`` points runs along ``P`` points, 0 when it broadcasts (one point)."""
    return 1 if p == P else 0


@jit_inline
def _fits(p, P):
    return p == P or p == 1


@jit_inline
def _row_of(M, k, wide):
    """Row ``k`` of ``M`` at every point: the row itself, or its one value copied along ``wide``."""
    if M.shape[1] == wide.shape[0]:
        return M[k]
    v = M[k, 0]
    for q in range(wide.shape[0]):
        wide[q] = v
    return wide


@jit_inline
def _chain_row(out, k, A, B, da, db, ina, inb, wide):
    """Row ``k`` of ``out``: ``da * A[k] + db * B[k]``, each term where its operand uses row ``k`` (an operand
    of one point is copied along ``wide`` first, so that one loop serves every case)."""
    P = out.shape[1]
    if ina and inb:
        ra, rb = _row_of(A, k, wide), _row_of(B, k, wide)
        for q in range(P):
            out[k, q] = da[q] * ra[q] + db[q] * rb[q]
    elif ina or inb:
        F, c = (A, da) if ina else (B, db)
        r = _row_of(F, k, wide)
        for q in range(P):
            out[k, q] = c[q] * r[q]
    else:
        for q in range(P):
            out[k, q] = 0.0


@jit_inline
def _power_const(a0, e, out, da):
    """Values and ``d/da`` of ``a ** e`` for a constant ``e``; the small integer powers by multiplication."""
    for q in range(out.shape[1]):
        a = a0[q]
        if e == 2.0:
            v, g = a * a, 2.0 * a
        elif e == 3.0:
            v, g = a * a * a, 3.0 * a * a
        elif e == 1.0:
            v, g = a, 1.0
        elif e == 0.5:
            v = math.sqrt(a)
            g = 0.5 / v
        elif e == -1.0:
            v = 1.0 / a
            g = -v * v
        elif e == -2.0:
            v = 1.0 / (a * a)
            g = -2.0 * v / a
        elif e == 0.0:
            v, g = 1.0, 0.0
        else:
            v = a ** e
            g = e * a ** (e - 1.0)
        out[0, q] = v
        da[q] = g


@jit_inline
def _binary_values(a0, b0, op, constant_b, with_b, out, da, db):
    """Row 0 of ``a op b`` from the value rows ``a0``, ``b0`` (one value per point), and, for ``DIV`` and
    ``POW``, the partial derivatives ``da``, ``db`` at each point (those of ``ADD SUB MUL`` are 1, -1 and the
    value rows themselves)."""
    P = out.shape[1]
    if op == POW and constant_b:
        _power_const(a0, b0[0], out, da)
    elif op == ADD:
        for q in range(P):
            out[0, q] = a0[q] + b0[q]
    elif op == SUB:
        for q in range(P):
            out[0, q] = a0[q] - b0[q]
    elif op == MUL:
        for q in range(P):
            out[0, q] = a0[q] * b0[q]
    elif op == DIV:
        for q in range(P):
            a, b = a0[q], b0[q]
            inv = 1.0 / b
            v = a * inv
            out[0, q] = v
            da[q] = inv
            db[q] = -v * inv
    else:
        for q in range(P):
            a, b = a0[q], b0[q]
            v = a ** b
            out[0, q] = v
            da[q] = b * a ** (b - 1.0)
            db[q] = v * math.log(a) if with_b and v != 0.0 else 0.0  # x ** b at x = 0: 0 for every b > 0


@jit_inline
def _sum_row(out, k, A, B, sign, ina, inb, wide):
    """Row ``k`` of ``out``: ``A[k] + sign * B[k]``, each term where its operand uses row ``k``."""
    P = out.shape[1]
    if ina and inb:
        ra, rb = _row_of(A, k, wide), _row_of(B, k, wide)
        for q in range(P):
            out[k, q] = ra[q] + sign * rb[q]
    elif ina or inb:
        r = _row_of(A if ina else B, k, wide)
        s = 1.0 if ina else sign
        for q in range(P):
            out[k, q] = s * r[q]
    else:
        for q in range(P):
            out[k, q] = 0.0


@jit_inline
def binary(A, B, op, alo, ahi, blo, bhi, out):
    """``out = a op b`` for jet data ``A``, ``B`` with rows ``[alo, ahi)``, ``[blo, bhi)`` in use; ``op`` one of
    ``ADD SUB MUL DIV POW``. The last four rows of ``out`` are its scratch: the partial derivatives, and the
    values and a derivative row of an operand that broadcasts."""
    R = out.shape[0]
    da, db, wide, wide_row = out[R - 4], out[R - 3], out[R - 2], out[R - 1]
    constant_b = B.shape[0] == 1 and B.shape[1] == 1
    a0 = _row_of(A, 0, wide)
    b0 = B[0] if constant_b and op == POW else _row_of(B, 0, wide)
    _binary_values(a0, b0, op, constant_b, B.shape[0] > 1, out, da, db)
    if op == MUL:  # the partial derivatives are the value rows
        da, db = b0, a0
    lo, hi = union(alo, ahi, blo, bhi)
    for k in range(lo, hi):
        ina, inb = alo <= k < ahi, blo <= k < bhi
        if op == ADD or op == SUB:
            _sum_row(out, k, A, B, 1.0 if op == ADD else -1.0, ina, inb, wide_row)
        else:
            _chain_row(out, k, A, B, da, db, ina, inb, wide_row)


@jit_inline
def _rule_exp_log(op, a):
    """``(f(a), f'(a))`` of the exponentials, logarithms, roots, ``abs`` and ``erf``."""
    if op == EXP_LIBM:
        v = math.exp(a)
        return v, v
    if op == LOG:
        return math.log(a), 1.0 / a
    if op == SQRT:
        v = math.sqrt(a)
        return v, 0.5 / v
    if op == EXPM1:
        return math.expm1(a), math.exp(a)
    if op == LOG1P:
        return math.log1p(a), 1.0 / (1.0 + a)
    if op == LOG10:
        return math.log10(a), 1.0 / (a * LN10)
    if op == ERF:
        return math.erf(a), TWO_OVER_SQRT_PI * math.exp(-a * a)
    return abs(a), (1.0 if a > 0.0 else (-1.0 if a < 0.0 else 0.0))  # ABS


@jit_inline
def _rule_trig(op, a):
    """``(f(a), f'(a))`` of the trigonometric and hyperbolic functions and their inverses."""
    if op == SIN:
        return math.sin(a), math.cos(a)
    if op == COS:
        return math.cos(a), -math.sin(a)
    if op == TAN:
        v = math.tan(a)
        return v, 1.0 + v * v
    if op == ARCTAN:
        return math.atan(a), 1.0 / (1.0 + a * a)
    if op == TANH:
        v = math.tanh(a)
        return v, 1.0 - v * v
    if op == SINH:
        return math.sinh(a), math.cosh(a)
    if op == COSH:
        return math.cosh(a), math.sinh(a)
    if op == ARCSIN:
        return math.asin(a), 1.0 / math.sqrt(1.0 - a * a)
    return math.acos(a), -1.0 / math.sqrt(1.0 - a * a)  # ARCCOS


@jit_inline
def _unary_without_scratch(A, op, lo, hi, out):
    """``exp`` (whose derivative is its value) and ``-``, which need no row of derivatives."""
    P = A.shape[1]
    if op == EXP:
        for q in range(P):
            out[0, q] = vector_exp(A[0, q])
        for k in range(lo, hi):
            for q in range(P):
                out[k, q] = out[0, q] * A[k, q]
    else:
        for k in range(hi):
            if k == 0 or k >= lo:
                for q in range(P):
                    out[k, q] = -A[k, q]


@jit_inline
def unary(A, op, lo, hi, out, g):
    """``out = f(a)`` for jet data ``A`` with rows ``[lo, hi)`` in use; ``op`` one of the unary codes of the
    module; ``g`` scratch."""
    P = A.shape[1]
    if op == EXP or op == NEG:
        _unary_without_scratch(A, op, lo, hi, out)
        return
    if op == SQUARE:
        for q in range(P):
            a = A[0, q]
            out[0, q] = a * a
            g[q] = 2.0 * a
    elif op < SIN:
        for q in range(P):
            out[0, q], g[q] = _rule_exp_log(op, A[0, q])
    else:
        for q in range(P):
            out[0, q], g[q] = _rule_trig(op, A[0, q])
    for k in range(lo, hi):
        for q in range(P):
            out[k, q] = g[q] * A[k, q]


@jit_inline
def select(C, A, B, alo, ahi, blo, bhi, out):
    """``out = where(c, a, b)`` point by point, for a condition ``C`` ``(1, P or 1)`` (nonzero is true)."""
    P = out.shape[1]
    sa, sb, sc = _stride(A.shape[1], P), _stride(B.shape[1], P), _stride(C.shape[1], P)
    lo, hi = union(alo, ahi, blo, bhi)
    for q in range(P):
        if C[0, q * sc] != 0.0:
            out[0, q] = A[0, q * sa]
            for k in range(lo, hi):
                out[k, q] = A[k, q * sa] if alo <= k < ahi else 0.0
        else:
            out[0, q] = B[0, q * sb]
            for k in range(lo, hi):
                out[k, q] = B[k, q * sb] if blo <= k < bhi else 0.0


@jit_inline
def total(A, lo, hi, out):
    """``out`` ``(rows, 1)``: the sum over points of the values and of rows ``[lo, hi)``."""
    for k in range(A.shape[0]):
        s = 0.0
        if k == 0 or lo <= k < hi:
            for q in range(A.shape[1]):
                s += A[k, q]
        out[k, 0] = s


@jit_inline
def store_jacobian(A, lo, hi, out):
    """The derivative rows of jet data ``A`` into ``out`` ``(n, m)`` (a scalar or a constant broadcasts)."""
    m = out.shape[1]
    for j in range(out.shape[0]):
        if not lo <= j + 1 < hi:
            for i in range(m):
                out[j, i] = 0.0
        elif A.shape[1] == m:
            for i in range(m):
                out[j, i] = A[j + 1, i]
        else:
            v = A[j + 1, 0]
            for i in range(m):
                out[j, i] = v


def apply(code, A, B, C, out):
    """The jet operation of ``code`` (:func:`pack`) into ``out``: ``binary(A, B)``, ``unary(A)``,
    ``select(C, A, B)``, ``total(A)`` or ``store_jacobian(A)``. Operands whose point counts do not broadcast
    to ``out``'s give NaN (the model's values fail the same way)."""
    op = code % 64
    ranges = code // 64
    alo = ranges % ROW_LIMIT
    ahi = (ranges // ROW_LIMIT) % ROW_LIMIT
    blo = (ranges // ROW_LIMIT ** 2) % ROW_LIMIT
    bhi = ranges // ROW_LIMIT ** 3
    P = out.shape[1]
    if op != TOTAL and not (_fits(A.shape[1], P) and _fits(B.shape[1], P) and _fits(C.shape[1], P)):
        out[:] = np.nan
    elif op < NEG:
        binary(A, B, op, alo, ahi, blo, bhi, out)
    elif op < SELECT:
        unary(A, op, alo, ahi, out, out[out.shape[0] - 1])
    elif op == SELECT:
        select(C, A, B, alo, ahi, blo, bhi, out)
    elif op == TOTAL:
        total(A, alo, ahi, out)
    else:
        store_jacobian(A, alo, ahi, out)
