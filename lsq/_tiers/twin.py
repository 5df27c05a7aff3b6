"""The interpreted tier: every kernel's own Python function, with the kernels it calls resolved to theirs.

A kernel has one source. Compiled, numba runs it; interpreted, CPython runs the same function object's code
(the dispatcher's ``py_func``) with a copy of its module's globals in which every dispatcher, every ``lsq``
function and every ``lsq`` module is replaced by its interpreted twin (recursively, built on first use, one
twin per object). Calling a dispatcher from Python would compile it; calling its twin compiles nothing.

The few numba-only pieces (intrinsics, first-class function addresses, the vector ``exp``) have a plain-Python
equivalent registered beside them with :func:`python_equivalent`; everything else runs as written.
"""

import math
import threading
import types

import numpy as np
from numba.core.dispatcher import Dispatcher

__all__ = ["interpreted", "python_equivalent", "register_address", "at_address"]

_EQUIVALENTS = {}
"""id of a numba-only object -> its plain-Python equivalent (the object itself is kept alive beside it)."""
_TWINS = {}
"""id of a function, dispatcher or module -> (the original, its twin)."""
_LOCK = threading.RLock()
_PACKAGE = __name__.split(".")[0]


def python_equivalent(numba_obj):
    """Register the decorated plain-Python function as what the interpreted tier runs for ``numba_obj`` (an
    intrinsic, a dispatcher of numba-only code, or any kernel whose Python body cannot run)."""

    def register(func):
        _EQUIVALENTS[id(numba_obj)] = (numba_obj, func)
        return func

    return register


def interpreted(obj):
    """The interpreted twin of ``obj``: for a dispatcher or an ``lsq`` function, the same code with its globals
    (and closure cells) resolved to twins; for an ``lsq`` module, a module of twins; anything else unchanged."""
    key = id(obj)
    hit = _EQUIVALENTS.get(key) or _TWINS.get(key)
    if hit is not None and hit[0] is obj:
        return hit[1]
    if isinstance(obj, Dispatcher):
        return _remember(obj, interpreted(obj.py_func))
    if isinstance(obj, types.FunctionType) and _ours(obj.__module__):
        with _LOCK:
            return _twin_function(obj)
    if isinstance(obj, types.ModuleType) and _ours(obj.__name__):
        with _LOCK:
            return _twin_module(obj)
    return obj


def _ours(module_name):
    return module_name is not None and (module_name == _PACKAGE or module_name.startswith(_PACKAGE + "."))


def _remember(obj, twin):
    _TWINS[id(obj)] = (obj, twin)
    return twin


def _twin_function(fn):
    hit = _TWINS.get(id(fn))
    if hit is not None and hit[0] is fn:
        return hit[1]
    # the twin exists (and is registered) before anything it reaches is resolved, so that a kernel reached again
    # on the way (a sibling in its module, itself) resolves to this very function; its globals dict and closure
    # cells are filled afterwards, in place
    globals_ = _globals_shell(fn.__globals__)
    cells = tuple(types.CellType() for _ in fn.__closure__) if fn.__closure__ else None
    twin = types.FunctionType(fn.__code__, globals_, fn.__name__, fn.__defaults__, cells)
    twin.__kwdefaults__ = fn.__kwdefaults__
    twin.__doc__, twin.__qualname__, twin.__module__ = fn.__doc__, fn.__qualname__, fn.__module__
    twin.__wrapped_kernel__ = fn
    _remember(fn, twin)
    _fill(fn.__globals__)
    for cell, original in zip(cells or (), fn.__closure__ or (), strict=True):
        cell.cell_contents = interpreted(original.cell_contents)
    return twin


_GLOBALS = {}
"""id of a module's globals dict -> [that dict, the twin globals, whether they are filled, the module twins that
show them]."""


def _globals_shell(g):
    """The twin globals of ``g``: registered at once, filled by :func:`_fill`."""
    hit = _GLOBALS.get(id(g))
    if hit is not None and hit[0] is g:
        return hit[1]
    twin = {}
    _GLOBALS[id(g)] = [g, twin, False, []]
    return twin


def _fill(g):
    """Fill the twin globals of ``g`` (once: a module reached again while they are being filled is left as is)."""
    entry = _GLOBALS[id(g)]
    if entry[2]:
        return
    entry[2] = True
    twin = entry[1]
    for name, value in list(g.items()):
        twin[name] = _resolve(value)
    for module in entry[3]:  # module twins made while these globals were being filled
        module.__dict__.update(twin)


def _resolve(value):
    if value is math:
        return _MATH
    if isinstance(value, types.BuiltinFunctionType) and getattr(value, "__module__", None) == "math":
        return getattr(_MATH, value.__name__, value)
    if id(value) in _EQUIVALENTS or isinstance(value, Dispatcher):
        return interpreted(value)
    if isinstance(value, types.FunctionType) and _ours(value.__module__):
        return _twin_function(value)
    if isinstance(value, types.ModuleType) and _ours(value.__name__):
        return _twin_module(value)
    return value


def _twin_module(module):
    hit = _TWINS.get(id(module))
    if hit is not None and hit[0] is module:
        return hit[1]
    twin = types.ModuleType(module.__name__, module.__doc__)
    _remember(module, twin)
    _globals_shell(module.__dict__)
    entry = _GLOBALS[id(module.__dict__)]
    entry[3].append(twin)
    twin.__dict__.update(entry[1])
    _fill(module.__dict__)
    return twin


def _numba_math(name):
    """``math.<name>`` with numba's semantics: NaN or inf where CPython's raises (``sqrt(-1)``, ``log(0)``,
    ``exp(1000)``, ``sin(inf)``), by NumPy's function of the same value where libm's raised."""
    fast = getattr(math, name)
    slow = getattr(np, {"atan": "arctan", "atan2": "arctan2", "fabs": "abs"}.get(name, name))

    def f(*args):
        try:
            return fast(*args)
        except (ValueError, OverflowError):
            with np.errstate(all="ignore"):
                return float(slow(*args))

    f.__name__ = name
    return f


_MATH = types.ModuleType("math", "math with numba's semantics for the interpreted tier (NaN and inf, no raise)")
_MATH.__dict__.update({k: v for k, v in vars(math).items() if not k.startswith("__")})
for _name in ("sqrt", "log", "log1p", "log10", "exp", "expm1", "sin", "cos", "tan", "atan", "atan2", "hypot",
              "fabs", "pow"):
    setattr(_MATH, _name, _numba_math(_name))

_ADDRESSES = {}
"""A stand-in address -> the Python callable the interpreted tier calls there (see :func:`at_address`)."""
_ADDRESS_OF = {}
"""id of a registered callable -> (the callable, its stand-in address)."""


def register_address(func):
    """A stand-in for a cfunc address: an int that :func:`at_address` turns back into ``func`` (0 stays 0)."""
    if func is None:
        return 0
    hit = _ADDRESS_OF.get(id(func))
    if hit is not None and hit[0] is func:
        return hit[1]
    with _LOCK:
        addr = -(len(_ADDRESSES) + 1)  # negative: never a real address, so a mix-up cannot call into memory
        _ADDRESSES[addr] = func
        _ADDRESS_OF[id(func)] = (func, addr)
        return addr


def at_address(addr):
    """The callable registered at a stand-in address (the interpreted ``model_at``/``jacobian_at``)."""
    return _ADDRESSES.get(int(addr))
