"""Where the engine is compiled: once for the Python driver, once for the compiled drivers, each shared.

The engine (:func:`lsq._kernels.engine.loop.advance`) is inlined into two compiled functions, and nothing else
links it:

- :func:`advance_packed`, which the Python driver calls for every task on a :class:`lsq._setup.workspace.Packed`
  workspace (plain arrays: what Python hands compiled code cheaply);
- :func:`lsq._kernels.drivers.compiled.run_compiled`, the compiled driver's loop, which ``solve`` and the batch
  kernels call at its address (:func:`lsq._kernels.drivers.compiled.driver_address`), once per fit.

Linked into each caller, the engine was optimised and emitted again in each (2-5 s of a cold first call per
caller). Called through an address for every task instead, it cost 54 ns a call for its workspace argument and
180 ns to remake the views from plain arrays (measured on a 2-core EPYC): a fifth of the batch's per-fit
throughput. Called at the address once per fit, it costs neither.
"""

from ..._setup.jit import jit_engine
from ..._setup.workspace import workspace_views
from .loop import advance


@jit_engine
def advance_packed(buf, free, si, sf, dims, opts_f, opts_i):
    """The engine on a :class:`lsq._setup.workspace.Packed` workspace, for the Python driver: its views, and one
    call of :func:`lsq._kernels.engine.loop.advance` on them. Returns the engine's task."""
    return advance(workspace_views(buf, free, si, sf, dims), opts_f, opts_i)
