"""The one place numba flags live.

Every kernel is compiled lazily on first call (nothing at ``import lsq``) and cached on disk, so a new
process pays only the cache load. ``error_model='numpy'`` makes a division by zero give inf/nan, which the
engine treats as a rejected step, instead of raising inside compiled code.
"""

from numba import njit

FASTMATH = {"reassoc"}
"""Let LLVM reorder (and so vectorise) sums. No flag that assumes finite values, because the engine relies on
inf/NaN to reject steps; no ``contract`` (fused multiply-add) either: it moved one NIST finite-difference run
below 4 digits here, at no measurable speed gain."""

jit = njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)
"""Decorator for serial kernels."""

jit_parallel = njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH, parallel=True)
"""Decorator for kernels that run ``prange`` over independent fits."""

jit_engine = njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH, _nrt=False)
"""Decorator for the engine's per-iteration functions, which never allocate: compiled without numba's
reference counting, whose atomic increments and decrements around every call that passes the workspace
cost more than the arithmetic on small problems."""
