"""Eight float64 lanes as one value: a numba type held in an LLVM vector register.

numba leaves LLVM's straight-line (SLP) vectoriser off, and its loop vectoriser gives up on, or pays run-time
alias checks around, the short loops over 8 lanes that the lanes engine is made of. A :data:`vec8` value is an
LLVM ``<8 x double>``, so a loop such as ``acc = acc + load(J[a, i]) * load(J[b, i])`` keeps ``acc`` in a
register and runs one vector instruction per operation (two on AVX2, four on SSE2: LLVM splits it).

Every operation is the IEEE operation on each lane, in the order written: no fused multiply-add, no
reassociation. A lane's result has the same bits as the scalar code on that lane, on every CPU.

Operations: :func:`load`/:func:`store` on a 1-D C-contiguous float64 array of at least 8 elements (a row of
a lanes array, ``A[a, b]``); ``+ - * /`` between vectors (or a vector and a float); :func:`splat`,
:func:`sqrt`, :func:`exp`, :func:`log`, :func:`sin`, :func:`cos`, :func:`sincos` (:mod:`.vmath`), :func:`pow`
(libm's), :func:`abs`, ``max``, :func:`select` with masks from :func:`gt`, :func:`ge`, :func:`lt`, :func:`finite`
(a mask is a vector of 1.0/0.0, combined with ``*``; :func:`any_true` tests one); :func:`lane` reads one lane.
"""

import operator

from llvmlite import ir
from numba import types
from numba.extending import intrinsic, models, overload, register_model

from . import vmath

WIDTH = vmath.WIDTH
_VEC = vmath.VEC


class Vec8Type(types.Type):
    """Eight float64 lanes in one LLVM vector."""

    def __init__(self):
        super().__init__(name="vec8")


vec8 = Vec8Type()


@register_model(Vec8Type)
class _Vec8Model(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _VEC)


def _is_row(arr):
    return isinstance(arr, types.Array) and arr.ndim == 1 and arr.dtype == types.float64


def _vector_pointer(context, builder, arrty, arr):
    ary = context.make_array(arrty)(context, builder, arr)
    return builder.bitcast(ary.data, _VEC.as_pointer())


@intrinsic
def load(typingctx, row):
    """The first 8 elements of ``row`` (1-D float64, contiguous) as a vector."""
    if not _is_row(row):
        return None

    def codegen(context, builder, sig, args):
        return builder.load(_vector_pointer(context, builder, sig.args[0], args[0]), align=8)

    return vec8(row), codegen


@intrinsic
def store(typingctx, row, v):
    """Write the vector ``v`` to the first 8 elements of ``row``."""
    if not (_is_row(row) and v == vec8):
        return None

    def codegen(context, builder, sig, args):
        builder.store(args[1], _vector_pointer(context, builder, sig.args[0], args[0]), align=8)
        return context.get_dummy_value()

    return types.none(row, v), codegen


@intrinsic
def splat(typingctx, x):
    """``x`` in every lane."""
    if not isinstance(x, (types.Float, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        val = context.cast(builder, args[0], sig.args[0], types.float64)
        vec = ir.Constant(_VEC, ir.Undefined)
        for k in range(WIDTH):
            vec = builder.insert_element(vec, val, ir.Constant(ir.IntType(32), k))
        return vec

    return vec8(x), codegen


@intrinsic
def lane(typingctx, v, k):
    """Lane ``k`` of ``v``."""
    if not (v == vec8 and isinstance(k, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        return builder.extract_element(args[0], builder.trunc(args[1], ir.IntType(32)))

    return types.float64(v, k), codegen


def _binary(op):
    @intrinsic
    def vec_op(typingctx, a, b):
        if not (a == vec8 and b == vec8):
            return None

        def codegen(context, builder, sig, args):
            return getattr(builder, op)(args[0], args[1])

        return vec8(a, b), codegen

    return vec_op


_add = _binary("fadd")
_sub = _binary("fsub")
_mul = _binary("fmul")
_div = _binary("fdiv")


def _overload_binary(pyop, vec_op):
    @overload(pyop, inline="always")
    def ov(a, b):
        if a == vec8 and b == vec8:
            return lambda a, b: vec_op(a, b)
        if a == vec8 and isinstance(b, (types.Float, types.Integer)):
            return lambda a, b: vec_op(a, splat(b))
        if b == vec8 and isinstance(a, (types.Float, types.Integer)):
            return lambda a, b: vec_op(splat(a), b)
        return None


for _pyop, _vop in ((operator.add, _add), (operator.sub, _sub), (operator.mul, _mul), (operator.truediv, _div)):
    _overload_binary(_pyop, _vop)


@overload(operator.neg, inline="always")
def _ov_neg(a):
    if a == vec8:
        return lambda a: _mul(a, splat(-1.0))  # a sign flip, as negation
    return None


@intrinsic
def sqrt(typingctx, v):
    """Square root in every lane (IEEE, correctly rounded)."""
    if v != vec8:
        return None

    def codegen(context, builder, sig, args):
        return vmath.intrinsic_call(builder, "sqrt", args[0])

    return vec8(v), codegen


def _compare(cmp):
    @intrinsic
    def vec_cmp(typingctx, a, b):
        if not (a == vec8 and b == vec8):
            return None

        def codegen(context, builder, sig, args):
            bits = builder.fcmp_ordered(cmp, args[0], args[1])
            return builder.uitofp(bits, _VEC)

        return vec8(a, b), codegen

    return vec_cmp


gt = _compare(">")
"""``a > b`` per lane as 1.0/0.0 (NaN compares false)."""
ge = _compare(">=")
"""``a >= b`` per lane as 1.0/0.0."""
lt = _compare("<")
"""``a < b`` per lane as 1.0/0.0."""


@intrinsic
def abs(typingctx, v):  # noqa: A001  (the lanes' abs, as math.fabs)
    """``|v|`` in every lane (clears the sign bit)."""
    if v != vec8:
        return None

    def codegen(context, builder, sig, args):
        return vmath.intrinsic_call(builder, "fabs", args[0])

    return vec8(v), codegen


@intrinsic
def finite(typingctx, v):
    """1.0 in the lanes where ``v`` is finite, else 0.0."""
    if v != vec8:
        return None

    def codegen(context, builder, sig, args):
        diff = builder.fsub(args[0], args[0])  # 0 for a finite value, NaN for inf and NaN
        bits = builder.fcmp_ordered("==", diff, ir.Constant(_VEC, [0.0] * WIDTH))
        return builder.uitofp(bits, _VEC)

    return vec8(v), codegen


@intrinsic
def any_true(typingctx, mask):
    """Whether any lane of ``mask`` is nonzero (a bool, for a branch that only some vectors need)."""
    if mask != vec8:
        return None

    def codegen(context, builder, sig, args):
        bits = builder.fcmp_unordered("!=", args[0], ir.Constant(_VEC, [0.0] * WIDTH))
        packed = builder.bitcast(bits, ir.IntType(WIDTH))
        return builder.icmp_unsigned("!=", packed, ir.Constant(ir.IntType(WIDTH), 0))

    return types.boolean(mask), codegen


@intrinsic
def select(typingctx, mask, a, b):
    """``a`` in the lanes where ``mask`` is nonzero, ``b`` elsewhere."""
    if not (mask == vec8 and a == vec8 and b == vec8):
        return None

    def codegen(context, builder, sig, args):
        bits = builder.fcmp_unordered("!=", args[0], ir.Constant(_VEC, [0.0] * WIDTH))
        return builder.select(bits, args[1], args[2])

    return vec8(mask, a, b), codegen


@intrinsic
def exp(typingctx, v):
    """:func:`lsq._kernels.lanes.vexp.exp` in every lane: the same operations in the same order, so the same bits
    (within 2 ulp of the correctly rounded ``e**x``)."""
    if v != vec8:
        return None

    def codegen(context, builder, sig, args):
        return vmath.exp_ir(builder, args[0])

    return vec8(v), codegen


def _vector_function(build):
    @intrinsic
    def function(typingctx, v):
        if v != vec8:
            return None

        def codegen(context, builder, sig, args):
            return build(builder, args[0])

        return vec8(v), codegen

    return function


log = _vector_function(lambda builder, x: vmath.log_ir(builder, x))
""":func:`lsq._kernels.lanes.vmath.log_ir`: ``log`` in every lane, vectorised."""
sin = _vector_function(lambda builder, x: vmath.sincos_ir(builder, x)[0])
""":func:`lsq._kernels.lanes.vmath.sincos_ir`: ``sin`` in every lane, vectorised."""
cos = _vector_function(lambda builder, x: vmath.sincos_ir(builder, x)[1])
""":func:`lsq._kernels.lanes.vmath.sincos_ir`: ``cos`` in every lane, vectorised."""


@intrinsic
def sincos(typingctx, v):
    """``(sin v, cos v)`` in every lane from one argument reduction (:func:`lsq._kernels.lanes.vmath.sincos_ir`)."""
    if v != vec8:
        return None
    pair = types.UniTuple(vec8, 2)

    def codegen(context, builder, sig, args):
        return context.make_tuple(builder, pair, list(vmath.sincos_ir(builder, args[0])))

    return pair(v), codegen


@intrinsic
def pow(typingctx, a, b):  # noqa: A001  (libm's pow per lane, as math.pow)
    """``a ** b`` in every lane by libm's ``pow`` (LLVM calls it once per lane)."""
    if not (a == vec8 and b == vec8):
        return None

    def codegen(context, builder, sig, args):
        return vmath.intrinsic_call(builder, "pow", *args)

    return vec8(a, b), codegen


def _max(a, b):
    return select(gt(b, a), b, a)


@overload(max, inline="always")
def _ov_max(a, b):
    """``max(a, b)`` per lane: ``b`` where ``b > a``, else ``a``."""
    if a == vec8 and b == vec8:
        return _max
    return None


__all__ = ["vec8", "load", "store", "splat", "lane", "sqrt", "gt", "ge", "lt", "finite", "select", "exp", "log", "sin",
           "cos", "sincos", "pow", "abs", "any_true"]
