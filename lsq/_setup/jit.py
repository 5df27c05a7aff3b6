"""The one place numba flags live.

Every kernel is compiled lazily on first call (nothing at ``import lsq``) and cached on disk, so a new
process pays only the cache load. ``error_model='numpy'`` makes a division by zero give inf/nan, which the
engine treats as a rejected step, instead of raising inside compiled code.
"""

from numba import njit

FASTMATH = set()
"""No fast-math flags: every sum runs in the order it is written, so a fit gives the same bits on every x86-64
CPU. Measured here (2-core AVX-512 EPYC): with ``{'reassoc'}``, 329 of 446 fingerprinted fits (NIST under
every method, compiled models, a batch) ended with different bits when numba compiled for a generic CPU
instead of the host, because LLVM vectorised the reductions with the host's vector width; without it, 0 of
446 differ, at a cost within noise (Gpufit batch 161 k vs 165 k fits/s, a compiled gaussian fit 54 vs 52 us).
No flag that assumes finite values either (the engine relies on inf/NaN to reject steps), and no
``contract`` (fused multiply-add, which also differs between CPUs)."""

jit = njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)
"""Decorator for serial kernels."""

jit_parallel = njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH, parallel=True)
"""Decorator for kernels that run ``prange`` over independent fits."""

jit_engine = njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH, _nrt=False)
"""Decorator for the engine's per-iteration functions, which never allocate: compiled without numba's
reference counting, whose atomic increments and decrements around every call that passes the workspace
cost more than the arithmetic on small problems."""

jit_inline = njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH, _nrt=False, inline="always")
"""Decorator for small per-lane steps of the lanes engine that take the whole lane set: inlined into their
caller by numba, so a call does not copy the set's ~40 array descriptors as arguments."""
