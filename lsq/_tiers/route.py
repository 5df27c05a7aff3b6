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
compiled for small problems (no background process).
"""

import contextlib
import os
import sys

from . import current, readiness
from .current import COMPILED, INTERPRETED

__all__ = ["call", "choose", "decide", "interpret_limit"]

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


def choose(path, work):
    """``'compiled'`` or ``'interpreted'`` for a call on ``path`` with ``work`` (see the module)."""
    forced = os.environ.get("LSQ_TIER", "auto")
    if forced in (COMPILED, INTERPRETED):
        return forced
    if readiness.is_ready(path):
        return COMPILED
    mode = os.environ.get("LSQ_COMPILE", "background")
    if mode != "foreground" and work <= interpret_limit(path):
        if mode == "background":
            readiness.request(path)
        return INTERPRETED
    if path not in _ANNOUNCED:
        _ANNOUNCED.add(path)
        print(f"lsq: compiling the {path} kernels with numba (about {SECONDS.get(path, 60)} s on 2 cores); this "
              "happens once per environment, later processes load them from the disk cache.", file=sys.stderr)
    return COMPILED


@contextlib.contextmanager
def call(path, work=None, marks=True):
    """Run a public entry's call on the tier chosen for ``path``; with ``work`` None, the tier is chosen when the
    call knows its size (:func:`decide`) or first needs a kernel. A compiled call that ``marks`` records the
    path as ready (a model's evaluation compiles only part of a path, and does not)."""
    if current.in_call():
        yield
        return
    with current.pending(lambda w: choose(path, w)):
        if work is not None:
            current.settle(work)
        yield
        if marks and current.tier() == COMPILED and os.environ.get("LSQ_TIER", "auto") == "auto":
            readiness.mark_ready(path)  # compiled in this process: numba has written it to the disk cache


def decide(work):
    """Choose the tier of the running call now that its ``work`` is known (no-op once chosen)."""
    current.settle(work)
