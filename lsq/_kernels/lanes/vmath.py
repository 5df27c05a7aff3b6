"""``exp``, ``log``, ``sin`` and ``cos`` on eight lanes as straight-line vector code (LLVM IR builders).

LLVM's ``llvm.log.v8f64`` and ``llvm.sin.v8f64`` become eight calls into libm each (pip's llvmlite has no
vector math library); these are branch-free arithmetic on the whole vector, like
:func:`lsq._kernels.lanes.simd.exp`, in the order written (no fused multiply-add), so the same bits on every
x86-64 CPU. The tests hold them to libm within a few ulp (``tests/test_lanes.py``).

``log``: ``x = 2**k (1 + f)`` with ``1 + f`` in ``[sqrt(2)/2, sqrt(2))`` (from the bits; a subnormal ``x`` is
scaled by ``2**54`` first), then fdlibm's ``log(1 + f) = f - hfsq + s (hfsq + R(s*s))`` with
``s = f / (2 + f)``, ``hfsq = f*f/2`` and ``R`` fdlibm's minimax polynomial for ``2 atanh(s) / s - 2``, and
``k ln 2`` in two parts. ``log(0) = -inf``, ``log(x < 0)`` and
``log(NaN)`` are NaN, ``log(inf) = inf``.

``sin``/``cos``: ``x = q pi/2 + r`` with ``|r| <= pi/4`` (Cody-Waite: ``pi/2`` in three parts, the first two of
33 bits so that ``q`` times them is exact for ``|q| < 2**20``), the Taylor polynomials of ``sin r`` (to
``r**17``) and ``cos r`` (to ``r**18``), and the quadrant ``q mod 4``. Both come out of one reduction
(:func:`sincos_ir`). Beyond :data:`TRIG_REDUCTION_LIMIT` the reduction loses digits, so a vector with any lane
there takes libm's ``sin``/``cos`` instead (a branch, never taken by a fit model in practice).
"""

import math

from llvmlite import ir
from numba.core import cgutils

from .vexp import LN2_HI, LN2_LO, LOG2E, TAYLOR, X_MAX, X_MIN

WIDTH = 8
VEC = ir.VectorType(ir.DoubleType(), WIDTH)
"""``<8 x double>``: the LLVM type of :data:`lsq._kernels.lanes.simd.vec8`."""
_I64V = ir.VectorType(ir.IntType(64), WIDTH)

SQRT2 = 1.4142135623730951
SUBNORMAL_SCALE = 2.0 ** 54
MIN_NORMAL = 2.2250738585072014e-308
LOG_ODD = (6.666666666666735130e-01, 2.857142874366239149e-01, 1.818357216161805012e-01, 1.479819860511658591e-01)
LOG_EVEN = (3.999999999940941908e-01, 2.222219843214978396e-01, 1.531383769920937332e-01)
"""fdlibm's minimax coefficients ``Lg1..Lg7`` of ``R(z)``, ``2 atanh(s) = 2 s + s R(s*s)`` (error below
``2**-58.45`` on ``|s| <= 0.1716``), in two halves evaluated in ``w = z*z`` for a shorter chain."""
MAGIC = 2.0 ** 52
MAGIC_BITS = 0x4330000000000000

PIO2_1 = 1.5707963267341256  # pi/2 to 33 bits
PIO2_2 = 6.077100506303966e-11  # the next 33 bits
PIO2_3 = 2.0222662487959506e-21  # the rest, rounded
TWO_OVER_PI = 0.6366197723675814
TRIG_REDUCTION_LIMIT = 1.0e5
"""``|x|`` beyond which :func:`sincos_ir` takes libm's values (``q < 2**17``, far inside the exact range)."""
SIN_SERIES = tuple((-1.0) ** k / math.factorial(2 * k + 1) for k in range(1, 9))
COS_SERIES = tuple((-1.0) ** k / math.factorial(2 * k) for k in range(2, 10))


def const(x):
    """``x`` in every lane, as an LLVM constant."""
    return ir.Constant(VEC, [float(x)] * WIDTH)


def _iconst(x):
    return ir.Constant(_I64V, [int(x)] * WIDTH)


def _horner(builder, z, coefficients):
    """``c[0] + z (c[1] + z (c[2] + ...))``."""
    p = const(coefficients[-1])
    for c in reversed(coefficients[:-1]):
        p = builder.fadd(builder.fmul(p, z), const(c))
    return p


def as_double(builder, small):
    """The ``<8 x i64>`` ``small`` (each in ``[0, 2**52)``) as doubles, exactly, without a conversion
    instruction (AVX2 has none for 64-bit integers): ``2**52 + n`` has ``n`` as its low bits."""
    return builder.fsub(builder.bitcast(builder.or_(small, _iconst(MAGIC_BITS)), VEC), const(MAGIC))


def power_of_two(builder, k):
    """``2**k`` for the ``<8 x double>`` integers ``k`` in ``[-1022, 1023]``, from its bits: the low bits of
    ``2**52 + k + 1023`` are the exponent field (no conversion instruction)."""
    biased = builder.bitcast(builder.fadd(k, const(MAGIC + 1023.0)), _I64V)
    return builder.bitcast(builder.shl(biased, _iconst(52)), VEC)


def exp_ir(builder, x):
    """The IR of :func:`lsq._kernels.lanes.vexp.exp` on the ``<8 x double>`` ``x``: the same operations in the
    same order, so the same bits in every lane."""
    xc = builder.select(builder.fcmp_ordered("<", x, const(X_MIN)), const(X_MIN), x)
    xc = builder.select(builder.fcmp_ordered(">", xc, const(X_MAX)), const(X_MAX), xc)
    k = intrinsic_call(builder, "floor", builder.fadd(builder.fmul(xc, const(LOG2E)), const(0.5)))
    r = builder.fsub(builder.fsub(xc, builder.fmul(k, const(LN2_HI))), builder.fmul(k, const(LN2_LO)))
    p = const(TAYLOR[13])
    for j in range(12, 1, -1):
        p = builder.fadd(builder.fmul(p, r), const(TAYLOR[j]))
    p = builder.fadd(builder.fmul(p, r), const(1.0))
    p = builder.fadd(builder.fmul(p, r), const(1.0))
    k1 = intrinsic_call(builder, "floor", builder.fmul(k, const(0.5)))
    k2 = builder.fsub(k, k1)
    y = builder.fmul(builder.fmul(p, power_of_two(builder, k1)), power_of_two(builder, k2))
    return builder.select(builder.fcmp_unordered("uno", x, x), x, y)


def log_ir(builder, x):
    """The IR of ``log`` on the ``<8 x double>`` ``x`` (see the module)."""
    subnormal = builder.fcmp_ordered("<", x, const(MIN_NORMAL))
    xs = builder.select(subnormal, builder.fmul(x, const(SUBNORMAL_SCALE)), x)
    bits = builder.bitcast(xs, _I64V)
    k = builder.fsub(as_double(builder, builder.and_(builder.lshr(bits, _iconst(52)), _iconst(0x7FF))),
                     const(1023.0))
    k = builder.select(subnormal, builder.fsub(k, const(54.0)), k)
    m = builder.bitcast(builder.or_(builder.and_(bits, _iconst(0x000FFFFFFFFFFFFF)), _iconst(0x3FF0000000000000)),
                        VEC)
    high = builder.fcmp_ordered(">", m, const(SQRT2))
    m = builder.select(high, builder.fmul(m, const(0.5)), m)
    dk = builder.select(high, builder.fadd(k, const(1.0)), k)
    f = builder.fsub(m, const(1.0))
    s = builder.fdiv(f, builder.fadd(const(2.0), f))
    z = builder.fmul(s, s)
    w = builder.fmul(z, z)
    odd = builder.fmul(z, _horner(builder, w, LOG_ODD))
    even = builder.fmul(w, _horner(builder, w, LOG_EVEN))
    R = builder.fadd(odd, even)
    hfsq = builder.fmul(builder.fmul(const(0.5), f), f)
    inner = builder.fadd(builder.fmul(s, builder.fadd(hfsq, R)), builder.fmul(dk, const(LN2_LO)))
    y = builder.fsub(builder.fmul(dk, const(LN2_HI)), builder.fsub(builder.fsub(hfsq, inner), f))
    y = builder.select(builder.fcmp_ordered("==", x, const(math.inf)), x, y)
    y = builder.select(builder.fcmp_ordered("==", x, const(0.0)), const(-math.inf), y)
    return builder.select(builder.fcmp_unordered("<", x, const(0.0)), const(math.nan), y)  # x < 0 or NaN


def intrinsic_call(builder, name, *args):
    """LLVM's ``llvm.<name>.v8f64`` on vector arguments (``sqrt``, ``fabs``, ``floor`` are instructions; ``sin``,
    ``pow``, ... become one libm call per lane)."""
    fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(VEC, [VEC] * len(args)), f"llvm.{name}.v8f64")
    return builder.call(fn, list(args))


def _sincos_reduced(builder, x):
    """``(sin x, cos x)`` by the reduction and polynomials of the module."""
    q = intrinsic_call(builder, "floor", builder.fadd(builder.fmul(x, const(TWO_OVER_PI)), const(0.5)))
    r = builder.fsub(builder.fsub(builder.fsub(x, builder.fmul(q, const(PIO2_1))), builder.fmul(q, const(PIO2_2))),
                     builder.fmul(q, const(PIO2_3)))
    z = builder.fmul(r, r)
    sin_r = builder.fadd(r, builder.fmul(builder.fmul(r, z), _horner(builder, z, SIN_SERIES)))
    cos_r = builder.fadd(builder.fsub(const(1.0), builder.fmul(const(0.5), z)),
                         builder.fmul(builder.fmul(z, z), _horner(builder, z, COS_SERIES)))
    quarter = intrinsic_call(builder, "floor", builder.fmul(q, const(0.25)))
    quadrant = builder.fsub(q, builder.fmul(quarter, const(4.0)))  # q mod 4, exact, as a double
    minus = const(-1.0)
    neg_sin, neg_cos = builder.fmul(minus, sin_r), builder.fmul(minus, cos_r)

    def pick(values):
        out = values[3]
        for k in (2, 1, 0):
            out = builder.select(builder.fcmp_ordered("==", quadrant, const(k)), values[k], out)
        return out

    return pick((sin_r, cos_r, neg_sin, neg_cos)), pick((cos_r, neg_sin, neg_cos, sin_r))


def sincos_ir(builder, x):
    """The IR of ``(sin x, cos x)`` on the ``<8 x double>`` ``x`` (see the module): NaN for NaN and +-inf."""
    far = builder.fcmp_unordered(">", intrinsic_call(builder, "fabs", x), const(TRIG_REDUCTION_LIMIT))
    any_far = builder.icmp_unsigned("!=", builder.bitcast(far, ir.IntType(WIDTH)), ir.Constant(ir.IntType(WIDTH), 0))
    with builder.if_else(any_far, likely=False) as (libm, reduced):
        with libm:
            s1, c1 = intrinsic_call(builder, "sin", x), intrinsic_call(builder, "cos", x)
            bb1 = builder.basic_block
        with reduced:
            s2, c2 = _sincos_reduced(builder, x)
            bb2 = builder.basic_block
    out = []
    for a, b in ((s1, s2), (c1, c2)):
        phi = builder.phi(VEC)
        phi.add_incoming(a, bb1)
        phi.add_incoming(b, bb2)
        out.append(phi)
    return tuple(out)
