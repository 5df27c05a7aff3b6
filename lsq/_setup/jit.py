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

jit_stage = njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH, _nrt=False, no_cpython_wrapper=True,
                 no_cfunc_wrapper=True)
"""Decorator for the engine's stages and the compiled drivers' pieces: as :data:`jit_engine`, for functions only
compiled code calls, so numba emits neither the CPython wrapper that unboxes their arguments nor a C entry
point."""

jit_entry = njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH, _nrt=False, no_cpython_wrapper=True)
"""Decorator for a function compiled code calls at its address (the engine's entry): as :data:`jit_stage`, with
the C entry point the address is taken from."""

jit_inline = njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH, _nrt=False, inline="always")
"""Decorator for the engine's small pieces (the leaves of its call graph: state moves, stopping tests, damping rules,
linearisation, the second-order and Broyden updates), the batch's per-fit step and the per-lane steps of the
lanes engine: inlined into their caller by numba, so they are never compiled on their own. Compile time is the
reason: numba compiles every jitted function as its own library with a wrapper that unboxes its arguments (the
workspace's 27 arrays: about 0.3-0.45 s a function on a 2-core EPYC whatever its body), then links
each callee's library into its caller and optimises and emits the callee's code again there. Inlined, a piece costs
its own lines once per call site. A least-squares fit's first call compiled in 41 s with the pieces as functions of
their own, 36 s inlined."""
