"""Workspace: every buffer and state scalar the engine touches, allocated once per problem size."""

import functools
import threading
from collections import namedtuple

import numpy as np

from .._kernels.addresses import rows_view
from .._kernels.engine.layout import N_SF, N_SI
from .._tiers.twin import interpreted
from .jit import jit, jit_engine

Workspace = namedtuple(
    "Workspace",
    [
        "x", "x_new", "x_prev", "lb", "ub", "d",  # (n,) point, trial point, point before the last step, bounds,
        # scaling diagonal
        "r", "r_new", "fs", "row_scale",  # (m,) residuals at x and x_new, loss-scaled residuals, loss row scales
        "rho", "rho_new",  # (3, m) loss values and derivatives at x and x_new
        "Jt",  # (n, m) Jacobian at x stored by parameter, Jt[j, i] = d f_i / d x_j (loss-scaled by the engine)
        "g", "colsq", "colsq_prev", "delta", "p", "rhs",  # (n,) gradient, squared column norms (at x and at
        # x_prev), step, work
        "A", "L",  # (n, n) J^T J and its Cholesky factor
        "QJ", "S",  # QR buffers stored by columns: [J | f] as (n+1, m) and [R; sqrt(lam D)] as (n+1, min(m, n) + n)
        "H2",  # (n, n) the second-order term sum r_i grad^2 r_i added to J^T J (1x1 without one)
        "sec",  # (3, n) the secant update's memory: J_old^T r_new, the gradient and the step of the last move
        "free",  # (n,) int64 indices of the free variables
        "hist",  # (cap, 6) cost, lambda, step norm, optimality, nfev, ncalls per iteration
        "si", "sf",  # the engine's scalar state: int64 and float64 slots named in lsq._kernels.engine.layout
    ],
)


def make_workspace(m, n, qr=True, history=1000, holds_jacobian=True, normal=True, robust=True, second_order=False):
    """Allocate a :class:`Workspace` for ``m`` residuals and ``n`` variables.

    Parameters
    ----------
    m, n : int
        Problem size.
    qr : bool
        Allocate the QR buffers (about ``(m + 2n) * (n + 1)`` doubles); otherwise they are 1x1 stubs.
    history : int
        Rows of per-iteration history kept (later iterations are not recorded).
    holds_jacobian : bool
        Allocate ``Jt``; False when the driver keeps the Jacobian (``SOLVER_NORMAL``/``SOLVER_EXTERNAL``),
        and ``Jt`` is then ``(n, 0)``.
    normal : bool
        Allocate the ``(n, n)`` matrices ``A`` and ``L``; False for ``SOLVER_EXTERNAL`` (they are 1x1 stubs).
    robust : bool
        Allocate the loss buffers ``rho``, ``rho_new`` and ``row_scale`` (7 residual-length vectors); with
        the linear loss they are empty.
    second_order : bool
        Allocate ``H2`` and ``sec`` (``hessian='exact'`` or ``'secant'``); otherwise 1x1 and 3x1 stubs.
    """
    f = np.zeros
    k = min(m, n)
    nqr_rows = m if qr else 1
    nj = n if normal else 1
    nh = n if second_order else 1
    return Workspace(
        f(n), f(n), f(n), np.full(n, -np.inf), np.full(n, np.inf), np.ones(n),  # x, x_new, x_prev, lb, ub, d
        f(m), f(m), f(m), f(m if robust else 0),  # r, r_new, fs, row_scale
        f((3, m if robust else 0)), f((3, m if robust else 0)),  # rho, rho_new
        f((n, m if holds_jacobian else 0)),  # Jt
        f(n), f(n), f(n), f(n), f(n), f(n),  # g, colsq, colsq_prev, delta, p, rhs
        f((nj, nj)), f((nj, nj)),  # A, L
        f((n + 1, nqr_rows)), f((n + 1, (k + n) if qr else 1)),  # QJ, S (by columns)
        f((nh, nh)), f((3, nh)),  # H2, sec
        np.zeros(n, dtype=np.int64),  # free
        f((max(history, 1), 6)),  # hist
        np.zeros(N_SI, dtype=np.int64), np.zeros(N_SF),  # si, sf
    )


Scratch = namedtuple(
    "Scratch",
    [
        "f1", "f2",  # (m,) residuals at perturbed points
        "xt",  # (n,) perturbed point
        "h", "one_sided", "rel",  # (n,) steps, one-sided flags (int64), user relative steps (<0: default)
        "Xbuf", "Jbuf",  # (d * chunk,), (n * chunk,): one row chunk of X and of J (chunked normal equations)
        "Jh", "xh",  # (n, m), (n,): J at a perturbed point and that point (second-order term by differences)
        "slope", "slope_at",  # (m,), (n,): Poisson deviance slopes at the point of the last residual evaluation
    ],
)


def make_scratch(m, n, d=1, chunk=0, second_order=False):
    """Allocate the :class:`Scratch` buffers of the compiled driver (``chunk > 0``: for assembling
    ``J^T J`` by chunks of ``chunk`` residuals, see :func:`lsq._kernels.drivers.compiled.normal_equations_into`;
    ``second_order``: for the second-order term by differences of ``J``)."""
    return Scratch(np.zeros(m), np.zeros(m), np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.int64),
                   np.full(n, -1.0), np.zeros(d * chunk), np.zeros(n * chunk),
                   np.zeros((n, m) if second_order else (n, 0)), np.zeros(n), np.zeros(m), np.full(n, np.nan))


Packed = namedtuple("Packed", ["buf", "free", "si", "sf", "dims"])
"""A workspace held as one float64 buffer (every float array of the :class:`Workspace` is a view of it), the
``free`` indices, the scalar state ``si``/``sf`` and the sizes ``dims`` = ``(m, n, qr, history, holds_jacobian, normal,
robust, second_order)``. The Python driver passes this to compiled code: numba unboxes every array of an
argument on each call, and four arrays cost a fraction of the 28 of a :class:`Workspace` (measured: 2.4 us a
call, about 40 us of a 100-point fit driven from Python)."""


@jit_engine
def _float_sizes(dims):
    """Lengths of the float arrays of a :class:`Workspace`, in field order, for the sizes ``dims``."""
    m, n, qr, history, holds_jacobian, normal, robust = dims[0], dims[1], dims[2], dims[3], dims[4], dims[5], dims[6]
    mr = m if robust else 0
    nj = n if normal else 1
    nh = n if dims[7] else 1
    return (n, n, n, n, n, n,  # x, x_new, x_prev, lb, ub, d
            m, m, m, mr, 3 * mr, 3 * mr,  # r, r_new, fs, row_scale, rho, rho_new
            n * (m if holds_jacobian else 0),  # Jt
            n, n, n, n, n, n,  # g, colsq, colsq_prev, delta, p, rhs
            nj * nj, nj * nj,  # A, L
            (n + 1) * (m if qr else 1), (n + 1) * ((min(m, n) + n) if qr else 1),  # QJ, S
            nh * nh, 3 * nh,  # H2, sec
            max(history, 1) * 6)  # hist


@jit_engine
def _take(buf, at, size):
    """``buf[at:at + size]`` and the next offset."""
    return buf[at:at + size], at + size


@jit_engine
def workspace_views(buf, free, si, sf, dims):
    """The :class:`Workspace` whose float arrays are consecutive views of ``buf`` (lengths from
    :func:`_float_sizes`), shaped as :func:`make_workspace` shapes them. Allocates nothing.

    Compiled without reference counting, like the engine, so the views hold no reference of their own:
    call it only from functions compiled the same way (``jit_engine``), which never return the views. A
    reference-counted caller would release references the views never took.
    """
    n, history, normal = dims[1], dims[3], dims[5]
    nj = n if normal else 1
    nh = n if dims[7] else 1
    sz = _float_sizes(dims)
    x, o = _take(buf, 0, sz[0])
    x_new, o = _take(buf, o, sz[1])
    x_prev, o = _take(buf, o, sz[2])
    lb, o = _take(buf, o, sz[3])
    ub, o = _take(buf, o, sz[4])
    d, o = _take(buf, o, sz[5])
    r, o = _take(buf, o, sz[6])
    r_new, o = _take(buf, o, sz[7])
    fs, o = _take(buf, o, sz[8])
    row_scale, o = _take(buf, o, sz[9])
    rho = rows_view(buf, o, 3, sz[10] // 3)
    o += sz[10]
    rho_new = rows_view(buf, o, 3, sz[11] // 3)
    o += sz[11]
    Jt = rows_view(buf, o, n, sz[12] // n)
    o += sz[12]
    g, o = _take(buf, o, sz[13])
    colsq, o = _take(buf, o, sz[14])
    colsq_prev, o = _take(buf, o, sz[15])
    delta, o = _take(buf, o, sz[16])
    p, o = _take(buf, o, sz[17])
    rhs, o = _take(buf, o, sz[18])
    A = rows_view(buf, o, nj, nj)
    o += sz[19]
    L = rows_view(buf, o, nj, nj)
    o += sz[20]
    QJ = rows_view(buf, o, n + 1, sz[21] // (n + 1))
    o += sz[21]
    S = rows_view(buf, o, n + 1, sz[22] // (n + 1))
    o += sz[22]
    H2 = rows_view(buf, o, nh, nh)
    o += sz[23]
    sec = rows_view(buf, o, 3, nh)
    o += sz[24]
    hist = rows_view(buf, o, max(history, 1), 6)
    return Workspace(x, x_new, x_prev, lb, ub, d, r, r_new, fs, row_scale, rho, rho_new, Jt, g, colsq, colsq_prev,
                     delta, p, rhs, A, L, QJ, S, H2, sec, free, hist, si, sf)


def make_packed_workspace(m, n, qr=True, history=1000, holds_jacobian=True, normal=True, robust=True,
                          second_order=False):
    """Allocate a workspace as :class:`Packed` (the arguments as for :func:`make_workspace`).

    Returns
    -------
    w : WorkspaceViews
        The workspace's arrays, views of the packed buffer, for Python code.
    packed : Packed
        What compiled code is given (see :func:`lsq._kernels.engine.entry.advance_packed`).
    """
    dims = packed_dims(m, n, qr, history, holds_jacobian, normal, robust, second_order)
    key = tuple(dims.tolist())
    layout = _python_layout(key)
    packed = Packed(*packed_buffers(key), dims)
    lb, ub, d = layout["lb"], layout["ub"], layout["d"]
    packed.buf[lb[0]:lb[1]] = -np.inf
    packed.buf[ub[0]:ub[1]] = np.inf
    packed.buf[d[0]:d[1]] = 1.0
    return WorkspaceViews(packed, layout), packed


@functools.lru_cache(maxsize=64)
def _python_layout(dims):
    """Field name -> ``(start, stop, shape or None)`` in the packed buffer, for the sizes ``dims`` (a tuple)."""
    m, n, _, history, holds_jacobian, normal, _, second_order = dims
    nj = n if normal else 1
    nh = n if second_order else 1
    shapes = {"rho": (3, -1), "rho_new": (3, -1), "Jt": (n, m if holds_jacobian else 0), "A": (nj, nj),
              "L": (nj, nj), "QJ": (n + 1, -1), "S": (n + 1, -1), "H2": (nh, nh), "sec": (3, nh),
              "hist": (max(history, 1), 6)}
    floats = [f for f in Workspace._fields if f not in ("free", "si", "sf")]
    layout, at = {}, 0
    for name, size in zip(floats, interpreted(_float_sizes)(np.array(dims, dtype=np.int64)), strict=True):
        layout[name] = (at, at + size, shapes.get(name))
        at += size
    return layout


class WorkspaceViews:
    """The arrays of a :class:`Workspace` for Python code, as views of a :class:`Packed` buffer made when first
    read (a fit driven from Python reads about half of them; making all 24 took 12 us a fit). The compiled
    :func:`workspace_views` must not be used for this: its views keep no reference counts."""

    _fields = Workspace._fields

    def __init__(self, packed, layout=None):
        self._packed = packed
        self._layout = _python_layout(tuple(packed.dims.tolist())) if layout is None else layout

    def __getattr__(self, name):
        if name in ("free", "si", "sf"):
            view = getattr(self._packed, name)
        else:
            try:
                a, b, shape = self._layout[name]
            except KeyError:
                raise AttributeError(name) from None
            view = self._packed.buf[a:b]
            if shape is not None:
                view = view.reshape(shape)
        self.__dict__[name] = view
        return view


@jit_engine
def field_span(dims, field):
    """``(start, stop)`` of the float array number ``field`` (its place in :class:`Workspace`) in the packed
    buffer of the sizes ``dims``."""
    sz = _float_sizes(dims)
    at = 0
    for k in range(field):
        at += sz[k]
    return at, at + sz[field]


FIELD_X, FIELD_R, FIELD_JT = (Workspace._fields.index(f) for f in ("x", "r", "Jt"))
"""Places in :class:`Workspace` of the arrays a finished fit is read from (:func:`field_span`)."""


@jit
def make_packed(dims):
    """Allocate the :class:`Packed` buffers for the sizes ``dims`` in compiled code (zeroed: the caller writes
    the start, bounds and scaling)."""
    sz = _float_sizes(dims)
    total = 0
    for k in range(len(sz)):
        total += sz[k]
    return np.zeros(total), np.zeros(dims[1], dtype=np.int64), np.zeros(N_SI, dtype=np.int64), np.zeros(N_SF)


def packed_dims(m, n, qr=True, history=1000, holds_jacobian=True, normal=True, robust=True, second_order=False):
    """The ``dims`` array of a :class:`Packed` workspace (the arguments as for :func:`make_workspace`)."""
    return np.array((m, n, qr, history, holds_jacobian, normal, robust, second_order), dtype=np.int64)


@functools.lru_cache(maxsize=64)
def cached_dims(key):
    """:func:`packed_dims` of the tuple ``key``, one array per key (a small fit does not build one; never
    written: compiled code reads it)."""
    return packed_dims(*key)


def packed_buffers(key):
    """New ``(buf, free, si, sf)`` of a :class:`Packed` workspace of the sizes ``key`` (a tuple), zeroed."""
    return np.zeros(_python_layout(key)["hist"][1]), np.zeros(key[1], dtype=np.int64), np.zeros(N_SI, dtype=np.int64), \
        np.zeros(N_SF)


_POOL = threading.local()


def pooled_buffers(key):
    """``(buf, free, si, sf)`` of the sizes ``key`` kept for this thread and handed out again to its next call of
    the same sizes: for a fit whose results are copied out before the thread's next fit (the engine writes
    every buffer before it reads it, as the batch kernels, which reuse one workspace, rely on)."""
    pool = getattr(_POOL, "buffers", None)
    if pool is None:
        pool = _POOL.buffers = {}
    buffers = pool.get(key)
    if buffers is None:
        if len(pool) >= 16:
            pool.clear()
        buffers = pool[key] = packed_buffers(key)
    return buffers


def result_x(buf, key):
    """``x`` of a finished packed workspace of the sizes ``key``, as a view of ``buf``."""
    a, b, _ = _result_spans(key)[0]
    return buf[a:b]


def result_arrays(buf, key):
    """``(x, r, Jt, g, hist)`` of a finished packed workspace of the sizes ``key`` (a tuple), as views of ``buf``
    (``Jt`` is ``(n, 0)`` when the workspace does not hold the Jacobian)."""
    return tuple(buf[a:b] if shape is None else buf[a:b].reshape(shape) for a, b, shape in _result_spans(key))


@functools.lru_cache(maxsize=64)
def _result_spans(key):
    layout = _python_layout(key)
    return tuple(layout[name] for name in ("x", "r", "Jt", "g", "hist"))


make_scratch_jit = jit(make_scratch)
