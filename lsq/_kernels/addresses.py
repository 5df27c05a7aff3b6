"""Compiled functions called at an address: an integer given at run time turned into a first-class function.

A caller compiled this way neither links nor optimises the callee's code into its own, and the address can
change from process to process (it is an argument, never a constant in cached code).
"""

from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


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
