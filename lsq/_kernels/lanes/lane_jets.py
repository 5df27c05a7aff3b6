"""Jets over lanes: a user's ``@lsq.model`` evaluated point by point for eight fits at once, with its exact
Jacobian, in registers.

The lanes kernel (:mod:`lsq._kernels.lanes.engine`) needs a model's values and Jacobian for eight parameter sets
at a time (``lanes(X, P, F, J)``, see :mod:`lsq.models._lanes`). A user's function is written for arrays of
points, ``f(x, a, mu, s)``; here it is compiled a third time, called once per point with

- ``x`` a :class:`LaneJetType` with no derivatives (one coordinate) or a :class:`LanePointType` (``x[k]`` is
  coordinate ``k``), its value the point's coordinate in each of the eight lanes;
- each parameter a :class:`LaneJetType` seeded in its own row: its eight lanes' values and derivative 1.

A lane jet is one LLVM array of :data:`lsq._kernels.lanes.simd.vec8` values: the value, then the derivatives
with respect to the parameters in the type's ``rows`` (the others are zero and not stored, so ``x - mu``
carries one vector of derivatives until it meets another parameter). Every operation is lowered straight to
vector instructions in the calling function (no call, no allocation), so LLVM keeps a point's jets in
registers and hoists what depends on the parameters only (``1 / s``) out of the loop over points.

Only operations that act point by point type on lane jets: ``+ - * / **``, unary ``-``, comparisons (lane
masks, for ``np.where`` or arithmetic), ``np.where``, and the functions of :data:`UNARY`. A function that
reduces over points (``np.sum``, ``x.shape``, indexing ``x`` as an array) fails to type, and the batch runs the
model on the per-fit kernel instead. The derivative rules and the order of every sum are those of
:mod:`lsq._kernels.jet_math`; ``exp`` is the vectorisable one (:func:`lsq._kernels.lanes.simd.exp`), unless
the model asks for ``exact_exp``; ``log``, ``sin`` and ``cos`` are :mod:`.vmath`'s (within 1 and 2 ulp of libm's);
the others are libm's, once per lane.
"""

import hashlib
import math
import operator
from pathlib import Path

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core.typing import signature
from numba.core.typing.templates import AbstractTemplate, infer_global
from numba.extending import intrinsic, lower_builtin, models, register_model

from .. import user_math
from . import simd, vmath
from .simd import WIDTH, vec8
from .vmath import VEC as _VEC
from .vmath import const as _const
from .vmath import exp_ir, log_ir, sincos_ir
from .vmath import intrinsic_call as _intrinsic_call

LN10 = math.log(10.0)
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _source_digest():
    """A digest of this module and :mod:`.simd`: in a lane jet type's name, so that a user's model cached on
    disk under another version of lsq (another layout or rule) is never loaded (see :mod:`lsq._kernels.jets`)."""
    digest = hashlib.sha1()
    for path in (Path(__file__), Path(simd.__file__), Path(vmath.__file__)):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:8]


DIGEST = _source_digest()


class LaneJetType(types.Type):
    """Eight lanes' value and derivatives with respect to the parameters in ``rows`` (the others are zero)."""

    def __init__(self, rows):
        self.rows = tuple(sorted(rows))
        super().__init__(name=f"LaneJet(rows={self.rows}, lsq {DIGEST})")


class LanePointType(types.Type):
    """A point of ``d`` coordinates in eight lanes; ``x[k]`` is coordinate ``k`` (a :class:`LaneJetType`)."""

    def __init__(self, d):
        self.d = d
        super().__init__(name=f"LanePoint(d={d}, lsq {DIGEST})")


@register_model(LaneJetType)
class _LaneJetModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, ir.ArrayType(_VEC, len(fe_type.rows) + 1))


@register_model(LanePointType)
class _LanePointModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, ir.ArrayType(_VEC, fe_type.d))


# ------------------------------------------------------------------------------------------- building blocks
def _is_number(t):
    return isinstance(t, (types.Integer, types.Float, types.Boolean))


def _operand(t):
    """A lane jet, a lane mask/vector or a real number (a constant in every lane)."""
    return isinstance(t, LaneJetType) or t == vec8 or _is_number(t)


def _rows(*tys):
    rows = set()
    for t in tys:
        if isinstance(t, LaneJetType):
            rows.update(t.rows)
    return tuple(sorted(rows))


def _split(context, builder, ty, val):
    """``(value, {row: derivative})`` of an operand as vectors."""
    if isinstance(ty, LaneJetType):
        value = builder.extract_value(val, 0)
        return value, {r: builder.extract_value(val, k + 1) for k, r in enumerate(ty.rows)}
    if ty == vec8:
        return val, {}
    scalar = context.cast(builder, val, ty, types.float64)
    vec = ir.Constant(_VEC, ir.Undefined)
    for k in range(WIDTH):
        vec = builder.insert_element(vec, scalar, ir.Constant(ir.IntType(32), k))
    return vec, {}


def _join(builder, ty, value, derivs):
    """The lane jet of type ``ty`` from its value and derivative vectors (a missing row is zero)."""
    agg = ir.Constant(ir.ArrayType(_VEC, len(ty.rows) + 1), ir.Undefined)
    agg = builder.insert_value(agg, value, 0)
    for k, r in enumerate(ty.rows):
        agg = builder.insert_value(agg, derivs.get(r, _const(0.0)), k + 1)
    return agg


def _per_lane(context, builder, func, *args):
    """``func`` (a ``math`` function of floats) in every lane, through numba's scalar implementation."""
    sig = signature(types.float64, *([types.float64] * len(args)))
    impl = context.get_function(func, sig)
    out = ir.Constant(_VEC, ir.Undefined)
    for k in range(WIDTH):
        idx = ir.Constant(ir.IntType(32), k)
        out = builder.insert_element(out, impl(builder, [builder.extract_element(a, idx) for a in args]), idx)
    return out


def _chain(builder, da, a_rows, db=None, b_rows=None):
    """``da * d a + db * d b`` row by row, each term where its operand has the row (the order of
    :func:`lsq._kernels.jet_math._chain_row`)."""
    b_rows = b_rows or {}
    out = {}
    for r in sorted(set(a_rows) | set(b_rows)):
        if r in a_rows and r in b_rows:
            out[r] = builder.fadd(builder.fmul(da, a_rows[r]), builder.fmul(db, b_rows[r]))
        elif r in a_rows:
            out[r] = builder.fmul(da, a_rows[r])
        else:
            out[r] = builder.fmul(db, b_rows[r])
    return out


# --------------------------------------------------------------------------------------------- arithmetic
def _add_sub(builder, a, ad, b, bd, sign):
    op = builder.fadd if sign > 0 else builder.fsub
    out = {}
    for r in sorted(set(ad) | set(bd)):
        if r in ad and r in bd:
            out[r] = op(ad[r], bd[r])
        elif r in ad:
            out[r] = ad[r]
        else:
            out[r] = bd[r] if sign > 0 else builder.fmul(_const(-1.0), bd[r])
    return op(a, b), out


def _mul(builder, a, ad, b, bd):
    return builder.fmul(a, b), _chain(builder, b, ad, a, bd)


def _div(builder, a, ad, b, bd):
    inv = builder.fdiv(_const(1.0), b)
    value = builder.fmul(a, inv)
    return value, _chain(builder, inv, ad, builder.fmul(builder.fmul(_const(-1.0), value), inv), bd)


def _power_constant(builder, a, e):
    """Value and ``d/da`` of ``a ** e`` for an exponent the same in every lane, with the special cases of
    :func:`lsq._kernels.jet_math._power_const` as branches (LLVM folds them away for a constant exponent)."""
    e0 = builder.extract_element(e, ir.Constant(ir.IntType(32), 0))

    def generic():
        value = _intrinsic_call(builder, "pow", a, e)
        return value, builder.fmul(e, _intrinsic_call(builder, "pow", a, builder.fsub(e, _const(1.0))))

    def sqrt():
        value = _intrinsic_call(builder, "sqrt", a)
        return value, builder.fdiv(_const(0.5), value)

    def inverse():
        value = builder.fdiv(_const(1.0), a)
        return value, builder.fmul(builder.fmul(_const(-1.0), value), value)

    def inverse_square():
        value = builder.fdiv(_const(1.0), builder.fmul(a, a))
        return value, builder.fdiv(builder.fmul(_const(-2.0), value), a)

    cases = [
        (2.0, lambda: (builder.fmul(a, a), builder.fmul(_const(2.0), a))),
        (3.0, lambda: (builder.fmul(builder.fmul(a, a), a), builder.fmul(builder.fmul(_const(3.0), a), a))),
        (1.0, lambda: (a, _const(1.0))),
        (0.5, sqrt),
        (-1.0, inverse),
        (-2.0, inverse_square),
        (0.0, lambda: (_const(1.0), _const(0.0))),
    ]
    return _branches(builder, e0, cases, generic)


def _branches(builder, key, cases, default):
    """``case()`` for the first ``(k, case)`` with ``key == k``, else ``default()``: a pair of vectors, by
    branches joined in phi nodes."""
    if not cases:
        return default()
    k, case = cases[0]
    hit = builder.fcmp_ordered("==", key, ir.Constant(ir.DoubleType(), k))
    with builder.if_else(hit) as (then, otherwise):
        with then:
            v1, g1 = case()
            bb1 = builder.basic_block
        with otherwise:
            v2, g2 = _branches(builder, key, cases[1:], default)
            bb2 = builder.basic_block
    value = builder.phi(_VEC)
    value.add_incoming(v1, bb1)
    value.add_incoming(v2, bb2)
    grad = builder.phi(_VEC)
    grad.add_incoming(g1, bb1)
    grad.add_incoming(g2, bb2)
    return value, grad


def _pow(builder, a, ad, b, bd, b_is_jet):
    if not b_is_jet:
        value, g = _power_constant(builder, a, b)
        return value, _chain(builder, g, ad)
    value = _intrinsic_call(builder, "pow", a, b)
    da = builder.fmul(b, _intrinsic_call(builder, "pow", a, builder.fsub(b, _const(1.0))))
    nonzero = builder.fcmp_unordered("!=", value, _const(0.0))  # x ** b at x = 0: 0 for every b > 0
    db = builder.select(nonzero, builder.fmul(value, log_ir(builder, a)), _const(0.0))
    return value, _chain(builder, da, ad, db, bd)


_BINARY = {operator.add: "add", operator.iadd: "add", operator.sub: "sub", operator.isub: "sub",
           operator.mul: "mul", operator.imul: "mul", operator.truediv: "div", operator.itruediv: "div",
           operator.pow: "pow", operator.ipow: "pow", np.power: "pow", np.add: "add", np.subtract: "sub",
           np.multiply: "mul", np.divide: "div", np.true_divide: "div"}


def _binary_typer(a, b):
    if (isinstance(a, LaneJetType) or isinstance(b, LaneJetType)) and _operand(a) and _operand(b):
        return LaneJetType(_rows(a, b))
    return None


def _lower_binary(kind):
    def lower(context, builder, sig, args):
        (ta, tb), (va, vb) = sig.args, args
        a, ad = _split(context, builder, ta, va)
        b, bd = _split(context, builder, tb, vb)
        if kind in ("add", "sub"):
            value, derivs = _add_sub(builder, a, ad, b, bd, 1 if kind == "add" else -1)
        elif kind == "mul":
            value, derivs = _mul(builder, a, ad, b, bd)
        elif kind == "div":
            value, derivs = _div(builder, a, ad, b, bd)
        else:
            value, derivs = _pow(builder, a, ad, b, bd, isinstance(tb, LaneJetType))
        return _join(builder, sig.return_type, value, derivs)

    return lower


# ----------------------------------------------------------------------------------------- unary functions
def _rule(context, builder, name, a):
    """``(f(a), f'(a))`` in every lane: the rules of :mod:`lsq._kernels.jet_math`."""
    if name in _TRIG:
        return _rule_trig(context, builder, name, a)
    return _rule_exp_log(context, builder, name, a)


_TRIG = ("sin", "cos", "tan", "tanh", "arctan", "sinh", "cosh", "arcsin", "arccos")


def _rule_exp_log(context, builder, name, a):
    one = _const(1.0)
    if name == "exp":
        value = exp_ir(builder, a)
        return value, value
    if name == "exp_libm":
        value = _intrinsic_call(builder, "exp", a)
        return value, value
    if name == "log":
        return log_ir(builder, a), builder.fdiv(one, a)
    if name == "sqrt":
        value = _intrinsic_call(builder, "sqrt", a)
        return value, builder.fdiv(_const(0.5), value)
    if name == "square":
        return builder.fmul(a, a), builder.fmul(_const(2.0), a)
    if name == "abs":
        sign = builder.select(builder.fcmp_ordered(">", a, _const(0.0)), one,
                              builder.select(builder.fcmp_ordered("<", a, _const(0.0)), _const(-1.0), _const(0.0)))
        return _intrinsic_call(builder, "fabs", a), sign
    if name == "log10":
        return _intrinsic_call(builder, "log10", a), builder.fdiv(one, builder.fmul(a, _const(LN10)))
    if name == "expm1":
        return _per_lane(context, builder, math.expm1, a), _intrinsic_call(builder, "exp", a)
    if name == "log1p":
        return _per_lane(context, builder, math.log1p, a), builder.fdiv(one, builder.fadd(one, a))
    minus_square = builder.fmul(builder.fmul(_const(-1.0), a), a)  # erf
    return (_per_lane(context, builder, math.erf, a),
            builder.fmul(_const(TWO_OVER_SQRT_PI), _intrinsic_call(builder, "exp", minus_square)))


def _rule_trig(context, builder, name, a):
    one = _const(1.0)
    if name in ("sin", "cos"):
        sin, cos = sincos_ir(builder, a)
        return (sin, cos) if name == "sin" else (cos, builder.fmul(_const(-1.0), sin))
    if name in ("tan", "tanh"):
        value = _per_lane(context, builder, math.tan if name == "tan" else math.tanh, a)
        square = builder.fmul(value, value)
        return value, builder.fadd(one, square) if name == "tan" else builder.fsub(one, square)
    if name == "arctan":
        return _per_lane(context, builder, math.atan, a), builder.fdiv(one, builder.fadd(one, builder.fmul(a, a)))
    if name in ("sinh", "cosh"):
        sinh, cosh = _per_lane(context, builder, math.sinh, a), _per_lane(context, builder, math.cosh, a)
        return (sinh, cosh) if name == "sinh" else (cosh, sinh)
    root = _intrinsic_call(builder, "sqrt", builder.fsub(one, builder.fmul(a, a)))
    if name == "arcsin":
        return _per_lane(context, builder, math.asin, a), builder.fdiv(one, root)
    return _per_lane(context, builder, math.acos, a), builder.fdiv(_const(-1.0), root)  # arccos


UNARY = {
    user_math.exp: "exp", np.exp: "exp_libm", math.exp: "exp_libm", np.log: "log", math.log: "log",
    np.sqrt: "sqrt", math.sqrt: "sqrt", np.square: "square", np.abs: "abs", np.absolute: "abs", abs: "abs",
    math.fabs: "abs", np.log10: "log10", math.log10: "log10", np.expm1: "expm1", math.expm1: "expm1",
    np.log1p: "log1p", math.log1p: "log1p", math.erf: "erf", np.sin: "sin", math.sin: "sin", np.cos: "cos",
    math.cos: "cos", np.tan: "tan", math.tan: "tan", np.arctan: "arctan", math.atan: "arctan", np.tanh: "tanh",
    math.tanh: "tanh", np.sinh: "sinh", math.sinh: "sinh", np.cosh: "cosh", math.cosh: "cosh",
    np.arcsin: "arcsin", math.asin: "arcsin", np.arccos: "arccos", math.acos: "arccos",
}
"""The functions of one argument lane jets support, by the name of their rule (:func:`_rule`)."""


def _lower_unary(name):
    def lower(context, builder, sig, args):
        a, ad = _split(context, builder, sig.args[0], args[0])
        value, g = _rule(context, builder, name, a)
        return _join(builder, sig.return_type, value, _chain(builder, g, ad))

    return lower


def _lower_sign(sign):
    def lower(context, builder, sig, args):
        a, ad = _split(context, builder, sig.args[0], args[0])
        if sign > 0:
            return args[0]
        minus = _const(-1.0)
        return _join(builder, sig.return_type, builder.fmul(minus, a),
                     {r: builder.fmul(minus, d) for r, d in ad.items()})

    return lower


# ------------------------------------------------------------------------------ comparisons and np.where
_COMPARE = {operator.gt: ">", operator.ge: ">=", operator.lt: "<", operator.le: "<=", operator.eq: "==",
            operator.ne: "!="}


def _compare_typer(a, b):
    if (isinstance(a, LaneJetType) or isinstance(b, LaneJetType)) and _operand(a) and _operand(b):
        return vec8
    return None


def _lower_compare(cmp):
    def lower(context, builder, sig, args):
        a, _ = _split(context, builder, sig.args[0], args[0])
        b, _ = _split(context, builder, sig.args[1], args[1])
        bits = builder.fcmp_unordered(cmp, a, b) if cmp == "!=" else builder.fcmp_ordered(cmp, a, b)
        return builder.uitofp(bits, _VEC)

    return lower


def _lower_where(context, builder, sig, args):
    cond, _ = _split(context, builder, sig.args[0], args[0])
    a, ad = _split(context, builder, sig.args[1], args[1])
    b, bd = _split(context, builder, sig.args[2], args[2])
    take = builder.fcmp_unordered("!=", cond, _const(0.0))
    zero = _const(0.0)
    derivs = {r: builder.select(take, ad.get(r, zero), bd.get(r, zero)) for r in sorted(set(ad) | set(bd))}
    return _join(builder, sig.return_type, builder.select(take, a, b), derivs)


# ------------------------------------------------------------------------------------------- registration
def _register_typer(key, typer):
    """Type ``key(*args)`` by ``typer(*args)`` (a result type or None). A bare template: numba asks every
    template of an operator for every ``+`` it types, so this one answers with one check."""

    class _Template(AbstractTemplate):
        def generic(self, args, kws):
            if kws or not any(isinstance(a, (LaneJetType, LanePointType)) for a in args):
                return None
            try:
                result = typer(*args)
            except TypeError:  # another number of arguments
                return None
            return None if result is None else signature(result, *args)

    infer_global(key)(_Template)


_OPERAND_CLASSES = (LaneJetType, simd.Vec8Type, types.Integer, types.Float, types.Boolean)


def _pairs():
    for a in _OPERAND_CLASSES:
        for b in _OPERAND_CLASSES:
            if a is LaneJetType or b is LaneJetType:
                yield a, b


for _key, _kind in _BINARY.items():
    _register_typer(_key, _binary_typer)
    for _a, _b in _pairs():
        lower_builtin(_key, _a, _b)(_lower_binary(_kind))

for _key, _cmp in _COMPARE.items():
    _register_typer(_key, _compare_typer)
    for _a, _b in _pairs():
        lower_builtin(_key, _a, _b)(_lower_compare(_cmp))


def _unary_typer(a):
    return a if isinstance(a, LaneJetType) else None


for _key, _name in UNARY.items():
    _register_typer(_key, _unary_typer)
    lower_builtin(_key, LaneJetType)(_lower_unary(_name))
for _key, _sign in ((operator.neg, -1), (operator.pos, 1), (np.negative, -1), (np.positive, 1)):
    _register_typer(_key, _unary_typer)
    lower_builtin(_key, LaneJetType)(_lower_sign(_sign))


def _where_typer(cond, a, b):
    if cond == vec8 and (isinstance(a, LaneJetType) or isinstance(b, LaneJetType)) and _operand(a) and _operand(b):
        return LaneJetType(_rows(a, b))
    return None


_register_typer(np.where, _where_typer)
for _a, _b in _pairs():
    lower_builtin(np.where, simd.Vec8Type, _a, _b)(_lower_where)


def _getitem_typer(point, k):
    if isinstance(point, LanePointType) and isinstance(k, types.Integer):
        return LaneJetType(())
    return None


_register_typer(operator.getitem, _getitem_typer)


@lower_builtin(operator.getitem, LanePointType, types.Integer)
def _lower_getitem(context, builder, sig, args):
    point, k = args
    d = sig.args[0].d
    slot = cgutils.alloca_once(builder, ir.ArrayType(_VEC, d))
    builder.store(point, slot)
    idx = context.cast(builder, k, sig.args[1], types.intp)
    idx = builder.select(builder.icmp_signed("<", idx, ir.Constant(idx.type, 0)),
                         builder.add(idx, ir.Constant(idx.type, d)), idx)
    coordinate = builder.load(builder.gep(slot, [ir.Constant(ir.IntType(32), 0), idx]))
    return _join(builder, sig.return_type, coordinate, {})


# ------------------------------------------------------------------------------ the lanes kernel's pieces
@intrinsic(prefer_literal=True)
def seed(typingctx, value, j):
    """Parameter ``j`` (a literal) with its eight lanes' values ``value``: derivative 1 in row ``j``."""
    if value != vec8 or not isinstance(j, types.IntegerLiteral):
        return None
    ty = LaneJetType((j.literal_value,))

    def codegen(context, builder, sig, args):
        return _join(builder, ty, args[0], {j.literal_value: _const(1.0)})

    return ty(value, j), codegen


@intrinsic
def coordinate(typingctx, value):
    """A point's one coordinate (``x`` of a model of 1-D points): a lane jet with no derivatives."""
    if value != vec8:
        return None
    ty = LaneJetType(())

    def codegen(context, builder, sig, args):
        return _join(builder, ty, args[0], {})

    return ty(value), codegen


@intrinsic
def point(typingctx, coords):
    """A point of ``d`` coordinates (a tuple of ``d`` lane vectors)."""
    if not (isinstance(coords, types.UniTuple) and coords.dtype == vec8):
        return None
    ty = LanePointType(coords.count)

    def codegen(context, builder, sig, args):
        agg = ir.Constant(ir.ArrayType(_VEC, coords.count), ir.Undefined)
        for k in range(coords.count):
            agg = builder.insert_value(agg, builder.extract_value(args[0], k), k)
        return agg

    return ty(coords), codegen


@intrinsic(prefer_literal=True)
def value_of(typingctx, r):
    """The value of a model's result (a lane jet or a number) as a lane vector."""
    if not (isinstance(r, LaneJetType) or _is_number(r) or r == vec8):
        return None

    def codegen(context, builder, sig, args):
        return _split(context, builder, sig.args[0], args[0])[0]

    return vec8(r), codegen


@intrinsic(prefer_literal=True)
def derivative_of(typingctx, r, j):
    """The derivative of a model's result with respect to parameter ``j`` (a literal) as a lane vector."""
    if not ((isinstance(r, LaneJetType) or _is_number(r) or r == vec8) and isinstance(j, types.IntegerLiteral)):
        return None
    row = j.literal_value

    def codegen(context, builder, sig, args):
        return _split(context, builder, sig.args[0], args[0])[1].get(row, _const(0.0))

    return vec8(r, j), codegen


__all__ = ["LaneJetType", "LanePointType", "UNARY", "seed", "coordinate", "point", "value_of", "derivative_of"]
