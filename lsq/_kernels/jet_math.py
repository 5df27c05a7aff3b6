"""The arithmetic of :mod:`lsq._kernels.jets` on plain arrays: one compiled kernel per kind of operation.

A jet's data is a C-ordered ``(rows, P)`` array: row 0 holds the values at ``P`` points, rows ``1..n`` their
derivatives with respect to the ``n`` parameters. A constant (a float, or ``x``) is a ``(1, P)`` array, whose
derivative rows are zero and never stored. ``P`` is 1 for a scalar and broadcasts against any other ``P``.

Every operation is one of three kernels, :func:`unary`, :func:`binary` and :func:`select`, with the operation a
run-time code: they are compiled once, cached on disk, and shared by every model, so a new model compiles only
its own function and the thin typing layer of :mod:`lsq._kernels.jets`. Each kernel computes the values and
the partial derivatives of the operation point by point, then the chain rule row by row,
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

KERNEL_SIG = types.void(types.int64, types.float64[:, ::1], types.float64[:, ::1], types.float64[:, ::1],
                        types.float64[:, ::1])
"""Signature of :func:`apply`, the one compiled entry of the jet arithmetic."""

TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
LN10 = math.log(10.0)


@jit_inline
def _stride(p, P):
    """1 when an operand of ``p`` points runs along ``P`` points, 0 when it broadcasts (one point)."""
    return 1 if p == P else 0


@jit_inline
def _fits(p, P):
    return p == P or p == 1


@jit_inline
def _chain(A, B, da, db, out):
    """Rows ``1..`` of ``out``: ``da * A[k] + db * B[k]`` (an operand of one row is a constant; one point
    broadcasts)."""
    ra, rb = A.shape[0], B.shape[0]
    P = out.shape[1]
    sa, sb = _stride(A.shape[1], P), _stride(B.shape[1], P)
    for k in range(1, out.shape[0]):
        if ra > 1 and rb > 1:
            for q in range(P):
                out[k, q] = da[q] * A[k, q * sa] + db[q] * B[k, q * sb]
        elif ra > 1:
            for q in range(P):
                out[k, q] = da[q] * A[k, q * sa]
        else:
            for q in range(P):
                out[k, q] = db[q] * B[k, q * sb]


@jit_inline
def _power_const(A, e, out, da):
    """Values and ``d/da`` of ``a ** e`` for a constant ``e``; the small integer powers by multiplication."""
    for q in range(out.shape[1]):
        a = A[0, q]
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
def binary(A, B, op, out, da, db):
    """``out = a op b`` for jet data ``A``, ``B`` (see the module); ``op`` one of ``ADD SUB MUL DIV POW``;
    ``da``, ``db`` scratch of one value per point."""
    P = out.shape[1]
    sa, sb = _stride(A.shape[1], P), _stride(B.shape[1], P)
    if op == POW and B.shape[0] == 1 and B.shape[1] == 1 and sa == 1:
        _power_const(A, B[0, 0], out, da)
    elif op == ADD:
        for q in range(P):
            out[0, q] = A[0, q * sa] + B[0, q * sb]
            da[q] = 1.0
            db[q] = 1.0
    elif op == SUB:
        for q in range(P):
            out[0, q] = A[0, q * sa] - B[0, q * sb]
            da[q] = 1.0
            db[q] = -1.0
    elif op == MUL:
        for q in range(P):
            a, b = A[0, q * sa], B[0, q * sb]
            out[0, q] = a * b
            da[q] = b
            db[q] = a
    elif op == DIV:
        for q in range(P):
            a, b = A[0, q * sa], B[0, q * sb]
            inv = 1.0 / b
            v = a * inv
            out[0, q] = v
            da[q] = inv
            db[q] = -v * inv
    else:
        with_b = B.shape[0] > 1
        for q in range(P):
            a, b = A[0, q * sa], B[0, q * sb]
            v = a ** b
            out[0, q] = v
            da[q] = b * a ** (b - 1.0)
            db[q] = v * math.log(a) if with_b else 0.0
    _chain(A, B, da, db, out)


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
def unary(A, op, out, g):
    """``out = f(a)`` for jet data ``A``; ``op`` one of the unary codes of the module; ``g`` scratch."""
    rows, P = A.shape
    if op == EXP:
        for q in range(P):
            v = vector_exp(A[0, q])
            out[0, q] = v
            g[q] = v
    elif op == SQUARE:
        for q in range(P):
            a = A[0, q]
            out[0, q] = a * a
            g[q] = 2.0 * a
    elif op == NEG:
        for q in range(P):
            out[0, q] = -A[0, q]
            g[q] = -1.0
    elif op < SIN:
        for q in range(P):
            out[0, q], g[q] = _rule_exp_log(op, A[0, q])
    else:
        for q in range(P):
            out[0, q], g[q] = _rule_trig(op, A[0, q])
    for k in range(1, rows):
        for q in range(P):
            out[k, q] = g[q] * A[k, q]


@jit_inline
def select(C, A, B, out):
    """``out = where(c, a, b)`` point by point, for a condition ``C`` ``(1, P or 1)`` (nonzero is true)."""
    P = out.shape[1]
    sa, sb, sc = _stride(A.shape[1], P), _stride(B.shape[1], P), _stride(C.shape[1], P)
    out[:] = 0.0
    for q in range(P):
        if C[0, q * sc] != 0.0:
            for k in range(A.shape[0]):
                out[k, q] = A[k, q * sa]
        else:
            for k in range(B.shape[0]):
                out[k, q] = B[k, q * sb]


@jit_inline
def total(A, out):
    """``out`` ``(rows, 1)``: the sum over points."""
    for k in range(A.shape[0]):
        s = 0.0
        for q in range(A.shape[1]):
            s += A[k, q]
        out[k, 0] = s


@jit_inline
def store_jacobian(A, out):
    """The derivative rows of jet data ``A`` into ``out`` ``(n, m)`` (a scalar or a constant broadcasts)."""
    m = out.shape[1]
    s = _stride(A.shape[1], m)
    for j in range(out.shape[0]):
        for i in range(m):
            out[j, i] = A[j + 1, i * s] if A.shape[0] > 1 else 0.0


def apply(op, A, B, C, out):
    """Jet operation ``op`` into ``out``: ``binary(A, B)``, ``unary(A)``, ``select(C, A, B)``, ``total(A)`` or
    ``store_jacobian(A)``. Operands whose point counts do not broadcast to ``out``'s give NaN (the model's
    values fail the same way)."""
    P = out.shape[1]
    if op != TOTAL and not (_fits(A.shape[1], P) and _fits(B.shape[1], P) and _fits(C.shape[1], P)) or (
            op == STORE and A.shape[0] != 1 and A.shape[0] != out.shape[0] + 1):
        out[:] = np.nan
    elif op < NEG:
        scratch = np.empty((2, P))
        binary(A, B, op, out, scratch[0], scratch[1])
    elif op < SELECT:
        unary(A, op, out, np.empty(P))
    elif op == SELECT:
        select(C, A, B, out)
    elif op == TOTAL:
        total(A, out)
    else:
        store_jacobian(A, out)
