"""Which tier the call on this thread runs: compiled kernels, or their interpreted twins.

The route of a call (:mod:`lsq._tiers.route`) decides once, and every place that calls a kernel from Python
takes it through :func:`kernel`, so one call never mixes tiers and threads fitting at the same time each keep
their own. A call may leave the choice pending until it knows its size (:func:`settle`); the first kernel it
needs settles it as a small problem.
"""

import contextlib
import threading

import numpy as np

from .twin import interpreted

COMPILED = "compiled"
INTERPRETED = "interpreted"

_local = threading.local()


def tier():
    """The tier of the call running on this thread (``'compiled'`` outside any call)."""
    chosen = getattr(_local, "tier", COMPILED)
    return settle(0) if chosen is None else chosen


def in_call():
    """Whether this thread is inside a routed call (whose tier nested entries keep)."""
    return getattr(_local, "depth", 0) > 0


@contextlib.contextmanager
def running(name):
    """Run the enclosed call on the tier ``name`` (``'compiled'`` or ``'interpreted'``)."""
    with _scope(name, None):
        yield name


def open_call(name, chooser):
    """Start the outermost call on this thread (:func:`in_call` false): its tier is ``name``, or, with ``name``
    None, chosen by ``chooser(work)`` at the first :func:`settle`. Outside a call the thread's state is the
    default, so nothing is saved; :func:`close_call` restores the default."""
    _local.tier, _local.chooser, _local.depth = name, chooser, 1


def close_call():
    """End the call :func:`open_call` started; returns the tier it ran on (None if it never needed one)."""
    chosen = _local.tier
    _local.tier, _local.chooser, _local.depth = COMPILED, None, 0
    return chosen


@contextlib.contextmanager
def _scope(name, chooser):
    saved = (getattr(_local, "tier", COMPILED), getattr(_local, "chooser", None), getattr(_local, "depth", 0))
    _local.tier, _local.chooser, _local.depth = name, chooser, saved[2] + 1
    try:
        yield
    finally:
        _local.tier, _local.chooser, _local.depth = saved


def settle(work):
    """Choose the pending tier for ``work``; returns the tier."""
    if getattr(_local, "tier", COMPILED) is None:
        _local.tier = _local.chooser(work)
    return _local.tier


def kernel(fn, on=None):
    """``fn`` for the tier ``on`` (default: this thread's call's): the compiled kernel, or its interpreted twin
    (run with NumPy's floating-point warnings off, as compiled code runs: the engine reads inf and NaN as
    rejected steps)."""
    chosen = on or getattr(_local, "tier", COMPILED)
    if chosen is None:
        chosen = settle(0)
    if chosen == INTERPRETED:
        quiet = _QUIET.get(fn)
        if quiet is None:
            quiet = _QUIET[fn] = _quietly(interpreted(fn))
        return quiet
    return fn


_QUIET = {}


def _quietly(twin):
    if not callable(twin):
        return twin

    def run(*args, **kwargs):
        with np.errstate(all="ignore"):
            return twin(*args, **kwargs)

    run.__wrapped__ = twin
    return run
