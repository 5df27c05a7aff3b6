"""Compiled functions called at an address (an integer given at run time turned into a first-class function), and
array views made without checks.

A caller compiled this way neither links nor optimises the callee's code into its own, and the address can
change from process to process (it is an argument, never a constant in cached code).
"""

from numba import types
from numba.core import cgutils
from numba.core.imputils import impl_ret_borrowed
from numba.extending import intrinsic

from .._tiers.twin import python_equivalent


def function_at(ftype):
    """An intrinsic turning an integer address into a first-class function of type ``ftype``."""

    @intrinsic
    def function_at(typingctx, addr):
        def codegen(context, builder, signature, args):
            fn = cgutils.create_struct_proxy(ftype)(context, builder)
            fn.c_addr = builder.inttoptr(args[0], cgutils.voidptr_t)
            fn.py_addr = cgutils.get_null_value(cgutils.voidptr_t)
            fn.jit_addr = cgutils.get_null_value(cgutils.voidptr_t)
            return fn._getvalue()

        return ftype(types.intp), codegen

    return function_at


@intrinsic
def rows_view(typingctx, buf, start, rows, cols):
    """``buf[start:start + rows * cols]`` as a C-ordered ``(rows, cols)`` array, without the checks (and the
    compiled error path) of ``reshape``: the caller knows the span lies in ``buf``. The view shares ``buf``'s
    memory and owner."""
    result = types.Array(types.float64, 2, "C")

    def codegen(context, builder, signature, args):
        from numba.np.arrayobj import make_array, populate_array  # here: a 60 ms import lsq need not pay

        src = make_array(signature.args[0])(context, builder, args[0])
        intp = context.get_value_type(types.intp)
        at, nrows, ncols = (context.cast(builder, v, t, types.intp) for v, t in zip(args[1:], signature.args[1:],
                                                                                     strict=True))
        itemsize = context.get_constant(types.intp, 8)
        out = make_array(result)(context, builder)
        populate_array(out, data=builder.gep(src.data, [at]), shape=cgutils.pack_array(builder, [nrows, ncols], intp),
                       strides=cgutils.pack_array(builder, [builder.mul(ncols, itemsize), itemsize], intp),
                       itemsize=itemsize, meminfo=src.meminfo, parent=src.parent)
        return impl_ret_borrowed(context, builder, result, out._getvalue())

    return result(buf, start, rows, cols), codegen


@python_equivalent(rows_view)
def _rows_view_python(buf, start, rows, cols):
    return buf[start:start + rows * cols].reshape(rows, cols)
