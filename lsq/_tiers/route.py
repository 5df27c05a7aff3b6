"""The one place that decides which tier a call runs on.

A public entry runs inside :func:`call` with the name of its compile path (:data:`lsq.compile.PATHS`) and, when
known, the size of its work; a nested entry (``curve_fit`` calling ``least_squares``) keeps the outer decision.
The tier is:

- compiled, when the path's kernels are in numba's disk cache or were compiled in this process;
- otherwise interpreted, when interpreting it costs a fraction of compiling the path (:func:`interpret_limit`),
  and the path is queued for the background compile (:mod:`lsq._tiers.readiness`);
- otherwise compiled in the foreground, after one line on stderr saying what compiles and about how long.

``LSQ_TIER=compiled|interpreted`` forces a tier (``auto``, the default, decides as above);
``LSQ_COMPILE=background|foreground|never`` says what happens to a path not compiled yet: compiled in the
background while small problems run interpreted (default), compiled in the foreground at once, or never
compiled for small problems (no background process). Both are read when lsq is imported; :func:`configure`
changes them in a running process.
"""

import os
import sys
import warnings

from . import current, readiness
from .current import COMPILED, INTERPRETED

__all__ = ["SETTINGS", "call", "choose", "configure", "decide", "interpret_limit", "tier_of"]

SECONDS = {"least_squares": 35, "first_order": 20, "curve_fit_python": 35, "curve_fit": 50, "fit": 55,
           "model": 55, "batch": 100}
"""About how long each path compiles from an empty cache on a 2-core machine (measured on a 2-core EPYC: issue
38's table; also the line that announces a foreground compile)."""

SECONDS_PER_UNIT = 4e-6
"""Interpreted seconds per unit of work ``m * n * (n + 1)`` for a whole fit: 0.3-0.45 us per unit and evaluation
(measured on a 2-core EPYC, gaussians of 4 parameters, 100 to 100,000 points, 7-8 evaluations), times the ten
evaluations of a typical fit."""

SHARE = 0.25
"""A problem runs interpreted while its estimated interpreted time is at most this share of its path's compile
time: interpreting then answers well before the compiler would have, even for a fit of several times the
typical evaluations."""


def interpret_limit(path):
    """The largest work run interpreted on ``path`` while it is not compiled (2.2 million units for
    ``least_squares``, a 4-parameter fit of 100,000 points; 6 million for ``batch``)."""
    return SHARE * SECONDS.get(path, 35) / SECONDS_PER_UNIT


_ANNOUNCED = set()


TIERS = ("auto", COMPILED, INTERPRETED)
MODES = ("background", "foreground", "never")


class Settings:
    """The tier and compile mode, read from ``LSQ_TIER`` and ``LSQ_COMPILE`` when lsq is imported (a call reads
    no environment variable: that took a microsecond a fit) and changed by :func:`configure`."""

    def __init__(self, environ):
        self.tier = self._valid("LSQ_TIER", environ.get("LSQ_TIER", "auto"), TIERS)
        self.compile = self._valid("LSQ_COMPILE", environ.get("LSQ_COMPILE", "background"), MODES)

    @staticmethod
    def _valid(name, value, allowed):
        if value in allowed:
            return value
        warnings.warn(f"{name}={value!r} is not one of {allowed}; lsq uses {allowed[0]!r}.", RuntimeWarning,
                      stacklevel=3)
        return allowed[0]


SETTINGS = Settings(os.environ)


def configure(tier=None, compile=None):
    """Set the tier (``'auto'``, ``'compiled'`` or ``'interpreted'``) and what happens to a path not compiled yet
    (``'background'``, ``'foreground'`` or ``'never'``) for this process, as ``LSQ_TIER`` and ``LSQ_COMPILE`` do
    at import. Returns the previous ``(tier, compile)``."""
    before = SETTINGS.tier, SETTINGS.compile
    if tier is not None:
        if tier not in TIERS:
            raise ValueError(f"`tier` must be one of {TIERS}, got {tier!r}.")
        SETTINGS.tier = tier
    if compile is not None:
        if compile not in MODES:
            raise ValueError(f"`compile` must be one of {MODES}, got {compile!r}.")
        SETTINGS.compile = compile
    return before


def choose(path, work):
    """``'compiled'`` or ``'interpreted'`` for a call on ``path`` with ``work`` (see the module); ``work`` may be a
    function giving it, called only when the tier depends on it (a ready path does not)."""
    forced = SETTINGS.tier
    if forced != "auto":
        return forced
    if path in readiness.READY or readiness.is_ready(path):
        return COMPILED
    if callable(work):
        work = work()
    mode = SETTINGS.compile
    if mode != "foreground" and work <= interpret_limit(path):
        if mode == "background":
            readiness.request(path)
        return INTERPRETED
    if path not in _ANNOUNCED:
        _ANNOUNCED.add(path)
        print(f"lsq: compiling the {path} kernels with numba (about {SECONDS.get(path, 60)} s on 2 cores); this "
              "happens once per environment, later processes load them from the disk cache.", file=sys.stderr)
    return COMPILED


class call:
    """``with call(path, work):`` runs a public entry's call on the tier chosen for ``path``; with ``work`` None,
    the tier is chosen when the call knows its size (:func:`decide`) or first needs a kernel. A compiled call
    that ``marks`` records the path as ready (a model's evaluation compiles only part of a path, and does not).
    A class rather than a generator: it wraps every fit, and costs about 1 us this way."""

    __slots__ = ("path", "work", "marks", "outer")

    def __init__(self, path, work=None, marks=True):
        self.path, self.work, self.marks, self.outer = path, work, marks, False

    def _choose(self, work):
        return choose(self.path, work)

    def __enter__(self):
        if current.in_call():  # a nested entry keeps the outer call's tier
            return self
        self.outer = True
        if self.work is None:
            current.open_call(None, self._choose)
        else:
            current.open_call(choose(self.path, self.work), None)
        return self

    def __exit__(self, kind, value, tb):
        if not self.outer:
            return False
        chosen = current.close_call()
        if (kind is None and self.marks and chosen == COMPILED and self.path not in readiness.READY
                and SETTINGS.tier == "auto"):
            readiness.mark_ready(self.path)  # compiled in this process: numba has written it to the disk cache
        return False


def tier_of(path, work):
    """The tier of the call running on this thread, or, outside one, the tier :func:`choose` gives a step of
    ``path`` (evaluating a model, its Jacobian or its starting values) without starting a call."""
    if current.in_call():
        return current.tier()
    return choose(path, work)


def decide(work):
    """Choose the tier of the running call now that its ``work`` is known (no-op once chosen)."""
    current.settle(work)
