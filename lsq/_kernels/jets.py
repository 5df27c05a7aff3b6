"""Jets: forward-mode dual numbers for numba, so a user's ``@lsq.model`` gives its exact Jacobian.

A jet is a value and its derivatives with respect to the ``n`` fit parameters (Ceres' ``Jet``), carried through
every operation by the derivative rules. The model's function is compiled a second time with jet parameters
(:func:`seed`): ``x - mu`` is then an array jet whose derivative rows are the columns of the Jacobian of
``x - mu``, and the function's result is the model's values and its whole Jacobian, in one pass.

Two numba types: :data:`jet_scalar` (a parameter, or arithmetic on parameters) and :data:`jet_array` (anything
that involves ``x``). Both hold one C-ordered ``(n + 5, P)`` array of values, derivatives and scratch rows, the
range of derivative rows in use, and the address of the arithmetic (:mod:`lsq._kernels.jet_math`, one cached
cfunc); the type says only whether the jet stands for a float or an array, so that comparisons, ``math``
functions and ``np.where`` type as they do on floats and arrays.

Supported on jets: ``+ - * / **`` (and their in-place forms), unary ``-``/``+``, ``abs``, comparisons (on the
values), ``np.exp log log10 sqrt sin cos tan arctan tanh sinh cosh arcsin arccos expm1 log1p abs absolute square
power where sum``, and ``math.exp log log10 sqrt sin cos tan atan tanh sinh cosh asin acos expm1 log1p fabs erf``
on scalar jets. Anything else (a loop that stores into a float array, an unsupported function) fails to type,
and the model falls back to finite differences (:mod:`lsq.model`).
"""

import hashlib
import math
import operator
from pathlib import Path

import numpy as np
from numba import cfunc, types
from numba.core import cgutils
from numba.extending import intrinsic, make_attribute_wrapper, models, overload, register_model

from .._setup.jit import jit
from . import jet_math as jm
from .drivers.compiled import function_at

_KERNEL = []


def kernel_address():
    """The address of :func:`lsq._kernels.jet_math.apply`, compiled once (cached on disk) without reference
    counting: it never allocates, and the counts on the row views it takes cost four times its arithmetic on
    a scalar jet."""
    if not _KERNEL:
        _KERNEL.append(cfunc(jm.KERNEL_SIG, cache=True, error_model="numpy", _nrt=False)(jm.apply))
    return _KERNEL[0].address


kernel_at = function_at(types.FunctionType(jm.KERNEL_SIG))
"""``kernel_at(address)``: :func:`lsq._kernels.jet_math.apply` at its ``cfunc`` address. Every jet carries
the address (``k``) and calls the arithmetic through it, so a model's compiled function links none of it:
compiling a new model costs its own lines only."""


def _source_digest():
    """A digest of this module's and :mod:`.jet_math`'s source. numba keys a cached function by its argument
    types' names and invalidates it only when the function's own file changes: a user's model compiled on
    jets links this arithmetic and lays out the jet struct as it was, so the digest in the type's name keeps a
    cache written by another version of lsq from being loaded (it would read the struct wrongly)."""
    digest = hashlib.sha1()
    for path in (Path(__file__), Path(jm.__file__)):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:8]


DIGEST = _source_digest()


class JetType(types.Type):
    """A jet standing for a float (``ndim == 0``) or a 1-D array of values at points (``ndim == 1``)."""

    def __init__(self, ndim):
        self.ndim = ndim
        super().__init__(name=f"Jet(ndim={ndim}, lsq {DIGEST})")


jet_scalar = JetType(0)
jet_array = JetType(1)
_DATA = types.float64[:, ::1]


@register_model(JetType)
class _JetModel(models.StructModel):
    def __init__(self, dmm, fe_type):
        members = [("d", _DATA), ("k", types.int64), ("lo", types.int64), ("hi", types.int64)]
        super().__init__(dmm, fe_type, members)


for _field in ("d", "k", "lo", "hi"):
    make_attribute_wrapper(JetType, _field, _field)


def _maker(jet_type):
    @intrinsic
    def make(typingctx, d, k, lo, hi):
        def codegen(context, builder, signature, args):
            jet = cgutils.create_struct_proxy(jet_type)(context, builder)
            jet.d, jet.k, jet.lo, jet.hi = args
            context.nrt.incref(builder, signature.args[0], args[0])
            return jet._getvalue()

        return jet_type(_DATA, types.int64, types.int64, types.int64), codegen

    return make


make_scalar = _maker(jet_scalar)
make_array = _maker(jet_array)


@jit
def binary_jets(op, A, alo, ahi, B, blo, bhi, k):
    """``(data, lo, hi)`` of ``a op b`` for two jets (compiled once for every model, and cached)."""
    pa, pb = A.shape[1], B.shape[1]
    out = np.empty((max(A.shape[0], B.shape[0]), pb if pa == 1 else pa))
    kernel_at(k)(jm.pack(op, alo, ahi, blo, bhi), A, B, A, out)
    lo, hi = jm.union(alo, ahi, blo, bhi)
    return out, lo, hi


@jit
def binary_constant(op, J, lo, hi, c, constant_first, k):
    """``(data, lo, hi)`` of ``j op c`` (or ``c op j``) for a jet and a constant ``c``, a real number or the
    values at the points (compiled once per type of ``c`` for every model, and cached)."""
    C = constant_data(c)
    if constant_first:
        return binary_jets(op, C, 1, 1, J, lo, hi, k)
    return binary_jets(op, J, lo, hi, C, 1, 1, k)


@jit
def unary_data(op, A, lo, hi, k):
    """The data of ``f(a)`` from the operand's (compiled once for every model, and cached)."""
    out = np.empty_like(A)
    kernel_at(k)(jm.pack(op, lo, hi, 0, 0), A, A, A, out)
    return out


def _is_jet(t):
    return isinstance(t, JetType)


def _is_real(t):
    return isinstance(t, (types.Float, types.Integer, types.Boolean))


def _is_operand(t):
    """What a jet combines with: jets, real scalars, and 1-D real arrays (values at the points)."""
    return _is_jet(t) or _is_real(t) or (isinstance(t, types.Array) and t.ndim == 1 and _is_real(t.dtype))


def _result_maker(*ts):
    """The constructor of the result's type: an array jet when any operand is an array."""
    array = any((_is_jet(t) and t.ndim == 1) or isinstance(t, types.Array) for t in ts)
    return make_array if array else make_scalar


def constant_data(x):
    """The ``(1, P)`` jet data of a constant: a real number, or the values at the points (compiled only)."""
    raise NotImplementedError("compiled only")


@overload(constant_data)
def _constant_data(x):
    if _is_real(x):
        return lambda x: np.full((1, 1), float(x))
    if isinstance(x, types.Array) and x.ndim == 1:
        if x.dtype == types.float64:
            return lambda x: np.ascontiguousarray(x).reshape((1, x.shape[0]))
        return lambda x: x.astype(np.float64).reshape((1, x.shape[0]))
    return None


def operand(x):
    """``(data, lo, hi)`` of ``x``: its ``(rows, P)`` jet data and the derivative rows in use (a constant has
    one row and none in use)."""
    raise NotImplementedError("compiled only")


@overload(operand)
def _operand(x):
    if _is_jet(x):
        return lambda x: (x.d, x.lo, x.hi)
    return lambda x: (constant_data(x), 1, 1)


def address(a, b):
    """The kernel address a jet among ``a``, ``b`` carries."""
    raise NotImplementedError("compiled only")


@overload(address)
def _address(a, b):
    if _is_jet(a):
        return lambda a, b: a.k
    return lambda a, b: b.k


def value(x):
    """The value(s) of a jet (a float or a 1-D array), or ``x`` itself."""
    raise NotImplementedError("compiled only")


@overload(value)
def _value(x):
    if _is_jet(x) and x.ndim == 0:
        return lambda x: x.d[0, 0]
    if _is_jet(x):
        return lambda x: x.d[0]
    return lambda x: x


def vector_exp(a):
    """``exp`` of a jet by :func:`lsq._kernels.lanes.vexp.exp` (what a model's ``exp`` is unless ``exact_exp``)."""
    raise NotImplementedError("compiled only")


def _register_binary(functions, code):
    for fn in functions:
        @overload(fn)
        def _binary(a, b):
            if not ((_is_jet(a) or _is_jet(b)) and _is_operand(a) and _is_operand(b)):
                return None
            make = _result_maker(a, b)
            if _is_jet(a) and _is_jet(b):
                def impl(a, b):
                    d, lo, hi = binary_jets(np.int64(code), a.d, a.lo, a.hi, b.d, b.lo, b.hi, a.k)
                    return make(d, a.k, lo, hi)
            elif _is_jet(a):
                def impl(a, b):
                    d, lo, hi = binary_constant(np.int64(code), a.d, a.lo, a.hi, b, False, a.k)
                    return make(d, a.k, lo, hi)
            else:
                def impl(a, b):
                    d, lo, hi = binary_constant(np.int64(code), b.d, b.lo, b.hi, a, True, b.k)
                    return make(d, b.k, lo, hi)
            return impl


def _register_unary(functions, code, scalar_only=False):
    for fn in functions:
        @overload(fn)
        def _unary(a):
            if not _is_jet(a) or (scalar_only and a.ndim != 0):
                return None
            make = _result_maker(a)

            def impl(a):
                return make(unary_data(np.int64(code), a.d, a.lo, a.hi, a.k), a.k, a.lo, a.hi)

            return impl


def _register_comparison(fn):
    @overload(fn)
    def _compare(a, b):
        if not ((_is_jet(a) or _is_jet(b)) and _is_operand(a) and _is_operand(b)):
            return None
        return lambda a, b: fn(value(a), value(b))


_register_binary((operator.add, operator.iadd, np.add), jm.ADD)
_register_binary((operator.sub, operator.isub, np.subtract), jm.SUB)
_register_binary((operator.mul, operator.imul, np.multiply), jm.MUL)
_register_binary((operator.truediv, operator.itruediv, np.divide, np.true_divide), jm.DIV)
_register_binary((operator.pow, operator.ipow, np.power), jm.POW)
_register_unary((operator.neg, np.negative), jm.NEG)
_register_unary((abs, np.abs, np.absolute), jm.ABS)
_register_unary((math.fabs,), jm.ABS, scalar_only=True)
_register_unary((np.square,), jm.SQUARE)
_register_unary((vector_exp,), jm.EXP)
for _np_fn, _math_fn, _code in (
    (np.exp, math.exp, jm.EXP_LIBM), (np.log, math.log, jm.LOG), (np.log10, math.log10, jm.LOG10),
    (np.sqrt, math.sqrt, jm.SQRT), (np.sin, math.sin, jm.SIN), (np.cos, math.cos, jm.COS),
    (np.tan, math.tan, jm.TAN), (np.arctan, math.atan, jm.ARCTAN), (np.tanh, math.tanh, jm.TANH),
    (np.sinh, math.sinh, jm.SINH), (np.cosh, math.cosh, jm.COSH), (np.arcsin, math.asin, jm.ARCSIN),
    (np.arccos, math.acos, jm.ARCCOS), (np.expm1, math.expm1, jm.EXPM1), (np.log1p, math.log1p, jm.LOG1P),
):
    _register_unary((_np_fn,), _code)
    _register_unary((_math_fn,), _code, scalar_only=True)
_register_unary((math.erf,), jm.ERF, scalar_only=True)
for _fn in (operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne):
    _register_comparison(_fn)


@overload(operator.pos)
def _positive(a):
    if _is_jet(a):
        return lambda a: a
    return None


@overload(np.where)
def _where(cond, a, b):
    if not ((_is_jet(a) or _is_jet(b)) and _is_operand(a) and _is_operand(b)):
        return None
    make = _result_maker(cond, a, b)

    def impl(cond, a, b):
        (A, alo, ahi), (B, blo, bhi), (C, _, _), k = operand(a), operand(b), operand(cond), address(a, b)
        out = np.empty((max(A.shape[0], B.shape[0]), max(A.shape[1], B.shape[1], C.shape[1])))
        kernel_at(k)(jm.pack(jm.SELECT, alo, ahi, blo, bhi), A, B, C, out)
        lo, hi = jm.union(alo, ahi, blo, bhi)
        return make(out, k, lo, hi)

    return impl


@overload(np.sum)
def _sum(a):
    if _is_jet(a):
        def impl(a):
            out = np.empty((a.d.shape[0], 1))
            kernel_at(a.k)(jm.pack(jm.TOTAL, a.lo, a.hi, 0, 0), a.d, a.d, a.d, out)
            return make_scalar(out, a.k, a.lo, a.hi)

        return impl
    return None


def seeds(p):
    """The data of every parameter's jet at ``p``, ``(n, n + 1 + SCRATCH_ROWS, 1)``: one allocation for all
    (compiled only)."""
    raise NotImplementedError("compiled only")


@overload(seeds)
def _seeds(p):
    def impl(p):
        n = p.shape[0]
        S = np.empty((n, n + 1 + jm.SCRATCH_ROWS, 1))  # values, n derivatives, scratch (see jet_math)
        for j in range(n):
            S[j, 0, 0] = p[j]
            S[j, j + 1, 0] = 1.0
        return S

    return impl


def seed(S, j, k):
    """The scalar jet of parameter ``j`` from :func:`seeds` ``S``, computing through the kernel at address ``k``
    (compiled only)."""
    raise NotImplementedError("compiled only")


@overload(seed)
def _seed(S, j, k):
    return lambda S, j, k: make_scalar(S[j], k, j + 1, j + 2)


def store_jacobian(r, out, k):
    """The derivatives of a model's result ``r`` into ``out`` ``(n, m)``: a jet's derivative rows, zeros for a
    result that does not depend on the parameters (compiled only)."""
    raise NotImplementedError("compiled only")


@overload(store_jacobian)
def _store_jacobian(r, out, k):
    if _is_jet(r):
        def impl(r, out, k):
            kernel_at(k)(jm.pack(jm.STORE, r.lo, r.hi, 0, 0), r.d, r.d, r.d, out)

        return impl
    if _is_real(r) or isinstance(r, types.Array):
        def constant(r, out, k):
            out[:] = 0.0  # a result that does not depend on the parameters

        return constant
    return None
