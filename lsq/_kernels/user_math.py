"""The math a user's ``@lsq.model`` function is compiled with: NumPy's and ``math``'s ``exp`` replaced by the
vectorisable :func:`lsq._kernels.lanes.vexp.exp`.

numba compiles ``np.exp`` to a loop of calls into libm (pip's llvmlite has no vector math library), about
4 ns a value here; :func:`lsq._kernels.lanes.vexp.exp` is straight-line arithmetic that LLVM vectorises
(about 1 ns), within 2 ulp of the correctly rounded value, and gives the same bits on every x86-64 CPU, which
libm does not promise. A model fitted by finite differences calls its function ``n + 1`` times per iteration,
so this is most of the time its ``exp`` takes.

:func:`with_vector_exp` makes a copy of the user's function whose globals see :data:`numpy_module` and
:data:`math_module` (copies of the modules with :func:`exp` in place of their ``exp``) and :func:`exp` for a
global bound to ``np.exp`` or ``math.exp`` itself. Nothing else changes: other NumPy functions are the same
objects, so numba compiles them as before. ``@lsq.model(exact_exp=True)`` compiles the function as written.
"""

import math
import sys
import types

import numpy as np
from numba import types as nb_types
from numba.extending import overload

from .lanes.vexp import exp as _vexp

QUALNAME_SUFFIX = "__lsq_vector_exp"
"""Added to the copy's ``__qualname__``: numba names its disk cache after it, so the copy and the function as
written (``exact_exp=True``) keep separate cache entries."""


def exp(x):
    """``e**x`` (NumPy's, from Python; in compiled code the vectorisable exp for float64 and integers)."""
    return np.exp(x)


def _real64(t):
    """float64 or an integer type (whose exp is float64)."""
    return t == nb_types.float64 or isinstance(t, nb_types.Integer)


@overload(exp)
def _exp_compiled(x):
    if _real64(x):
        def scalar(x):
            return _vexp(float(x))

        return scalar
    if isinstance(x, nb_types.Array) and _real64(x.dtype):
        def array(x):
            flat = x.ravel()
            out = np.empty(flat.shape[0])
            for i in range(flat.shape[0]):
                out[i] = _vexp(float(flat[i]))
            return out.reshape(x.shape)

        return array

    from .jets import JetType, vector_exp

    if isinstance(x, JetType):
        return lambda x: vector_exp(x)
    lane_jets = sys.modules.get("lsq._kernels.lanes.lane_jets")  # not imported here: see Model.lanes_kernel
    if lane_jets is not None and isinstance(x, lane_jets.LaneJetType):
        return None  # lowered in place by lsq._kernels.lanes.lane_jets

    def other(x):  # float32 and complex keep NumPy's exp (and their dtype)
        return np.exp(x)

    return other


def _module_with_exp(module):
    copy = types.ModuleType(module.__name__)
    copy.__dict__.update(module.__dict__)
    copy.exp = exp
    return copy


numpy_module = _module_with_exp(np)
"""NumPy, with :func:`exp` as its ``exp``."""
math_module = _module_with_exp(math)
"""``math``, with :func:`exp` as its ``exp``."""


def _replacement(value):
    """What a global or closure variable holding ``value`` sees in the copy (None: ``value`` itself)."""
    if value is np:
        return numpy_module
    if value is math:
        return math_module
    if value is np.exp or value is math.exp:
        return exp
    return None


def with_vector_exp(func):
    """A copy of ``func`` (a plain Python function) whose references to ``np.exp``/``numpy.exp``/``math.exp``,
    through the modules or bound to a name (global or closure variable), are :func:`exp`; ``func`` itself when
    it references none of them."""
    g = func.__globals__
    swap = {name: _replacement(g.get(name)) for name in func.__code__.co_names if name in g}
    swap = {name: value for name, value in swap.items() if value is not None}
    cells = func.__closure__
    if cells is not None:
        contents = [_replacement(cell.cell_contents) if _filled(cell) else None for cell in cells]
        if any(v is not None for v in contents):
            cells = tuple(cell if v is None else types.CellType(v) for cell, v in zip(cells, contents, strict=True))
    if not swap and cells is func.__closure__:
        return func
    new_globals = dict(g)
    new_globals.update(swap)
    copy = types.FunctionType(func.__code__, new_globals, func.__name__, func.__defaults__, cells)
    copy.__kwdefaults__ = func.__kwdefaults__
    copy.__qualname__ = func.__qualname__ + QUALNAME_SUFFIX
    copy.__module__ = func.__module__
    copy.__doc__ = func.__doc__
    return copy


def _filled(cell):
    try:
        _ = cell.cell_contents
    except ValueError:  # a closure variable not yet assigned
        return False
    return True
