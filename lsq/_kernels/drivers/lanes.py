"""The lanes batch kernel: ranges of fits (run on threads by :mod:`lsq.batch`), each ``LANES`` fits at a time.

Each chunk holds one set of lane buffers (:func:`lsq._kernels.lanes.engine.make_lanes`), fills every lane
with a fit, and runs rounds: the model evaluates all lanes at once (a ``lanes`` kernel of the model, by
address), then :func:`lsq._kernels.lanes.engine.advance_lanes` moves every lane one step of the algorithm. A
lane whose fit ends writes its results and takes the chunk's next fit, so a slow fit holds up no other.
Fits that cannot start get ``STATUS_BAD_INPUT`` as in the per-fit kernel; fits that leave the lanes' paths
(``BAIL``) are run again, at the end of their chunk, on the per-fit engine.
"""


import numpy as np
from numba import types

from ..._setup.jit import jit, jit_inline, jit_stage
from ..._setup.workspace import make_packed, make_scratch_jit, workspace_views
from ..engine import codes as c
from ..engine.codes import ESTIMATOR_POISSON
from ..lanes.engine import (
    BAIL,
    F_COST,
    I_FIT,
    I_NEXT,
    I_NFEV,
    I_NIT,
    I_PHASE,
    I_STATUS,
    IDLE,
    LANES,
    NEXT_DONE,
    NEXT_NONE,
    advance_lanes,
    gram,
    make_lanes,
    standard_errors,
    start_lane,
)
from .batch import _bad_input, chi_square_scale, fit_one, start_point
from .compiled import function_at, model_at

LANES_SIG = types.void(types.float64[:, :, ::1], types.float64[:, ::1], types.float64[:, ::1],
                       types.float64[:, :, ::1])
"""Signature of a model's lanes kernel ``lanes(X, P, F, J)`` (see :mod:`lsq.models._lanes`)."""
lanes_at = function_at(types.FunctionType(LANES_SIG))
"""``lanes_at(address)``: the compiled lanes kernel at a ``cfunc`` address."""


@jit_inline
def _fill(ln, l, nxt, stop, model, guess, data, settings, w, out):
    """Start the next fit that can start in lane ``l`` (bad inputs on the way are reported); returns the
    index after it. With no fit left the lane goes idle. Shared points are in every lane already."""
    X, Y, wts = data.X, data.Y, data.wts
    dim, m = X.shape[1], X.shape[2]
    while nxt < stop:
        i = nxt
        nxt += 1
        if not start_point(i, model, guess, data, settings, w.x):
            _bad_input(i, out)
            continue
        if X.shape[0] > 1:
            for k in range(dim):
                for a in range(m):
                    ln.X[k, a, l] = X[i, k, a]
        wi = wts[i] if wts.shape[0] > 1 else wts[0]
        poisson = settings.estimator == ESTIMATOR_POISSON
        for a in range(m):
            ln.y[a, l] = Y[i, a]
            ln.wt[a, l] = 1.0 / Y[i, a] if poisson else wi[a]
        start_lane(ln, l, i, w.x, data.d0, settings.opts_i[c.O_SCALING] == c.SCALING_JAC)
        return nxt
    ln.it[I_PHASE, l] = IDLE
    ln.it[I_NEXT, l] = NEXT_NONE
    return nxt


@jit_inline
def _stage_fisher_rows(ln, l, staged):
    """The rows of the Poisson fit in lane ``l`` whose ``J^T J`` is its Fisher information into ``se_J``:
    the deviance residuals' Jacobian times the Fisher factors (``d mu / sqrt(mu)``, as the per-fit kernel's
    ``fisher_rows``); :func:`lsq._kernels.lanes.engine.gram` forms it 8 fits at a time."""
    for j in range(ln.x.shape[0]):
        for i in range(ln.r.shape[0]):
            ln.se_J[j, i, staged] = ln.J[j, i, l] * ln.fisher[i, l]


@jit_inline
def _write(ln, l, staged, settings, out):
    """Results of the fit in lane ``l`` into its row of ``out``; its ``J^T J`` (Poisson: Fisher information)
    is staged for the standard errors, computed 8 fits at a time (:func:`_flush`). Returns the number of
    staged fits."""
    n, m = ln.x.shape[0], ln.r.shape[0]
    i = ln.it[I_FIT, l]
    status = ln.it[I_STATUS, l]
    out.status[i] = status
    if status == BAIL:
        return staged
    for j in range(n):
        out.params[i, j] = ln.x[j, l]
        for k in range(n):
            ln.se_A[j, k, staged] = ln.A[j, k, l]
    cost = ln.fl[F_COST, l]
    out.cost[i] = cost
    out.nit[i] = ln.it[I_NIT, l]
    out.nfev[i] = ln.it[I_NFEV, l]
    if settings.estimator == ESTIMATOR_POISSON:
        _stage_fisher_rows(ln, l, staged)
        ln.se_scale[staged] = 1.0
    else:
        ln.se_scale[staged] = chi_square_scale(cost, m, n, settings.absolute_sigma)
    ln.se_fit[staged] = i
    staged += 1
    if staged == LANES:
        return _flush(ln, staged, out, settings.estimator == ESTIMATOR_POISSON)
    return staged


@jit_stage
def _flush(ln, staged, out, poisson):
    """Standard errors of the ``staged`` fits into their rows of ``out`` (``poisson``: from their Fisher
    information); returns 0."""
    if staged > 0:
        if poisson:  # the Fisher information, from the staged rows
            gram(ln.se_J, ln.se_A)
        standard_errors(ln)
        for k in range(staged):
            for j in range(ln.x.shape[0]):
                out.stderr[ln.se_fit[k], j] = ln.se_out[j, k]
    return 0


@jit_inline
def _share(ln, data):
    """What every lane's fit shares into every lane: the bounds, and the points when they are shared."""
    X = data.X
    for j in range(data.lb.shape[0]):
        for l in range(LANES):
            ln.lb[j, l] = data.lb[j]
            ln.ub[j, l] = data.ub[j]
    if X.shape[0] == 1:
        for k in range(X.shape[1]):
            for a in range(X.shape[2]):
                for l in range(LANES):
                    ln.X[k, a, l] = X[0, k, a]


@jit_stage
def run_lanes(lanes_addr, driver_addr, model, data, settings, ln, buf, free, si, sf, dims, s, out, start, stop):
    """Fit rows ``start:stop`` in the lanes ``ln`` (``buf, free, si, sf, dims``, ``s``: a packed per-fit
    workspace and its scratch, for the starts and for the fits that bail, which run on the compiled
    driver at ``driver_addr``)."""
    w = workspace_views(buf, free, si, sf, dims)
    evaluate = lanes_at(lanes_addr)
    guess = model_at(model.guess_addr)
    _share(ln, data)
    unit_weights = data.wts.shape[0] == 1 and settings.estimator != ESTIMATOR_POISSON
    for a in range(data.wts.shape[1]):
        unit_weights = unit_weights and data.wts[0, a] == 1.0
    nxt = start
    for l in range(LANES):
        nxt = _fill(ln, l, nxt, stop, model, guess, data, settings, w, out)
    staged = 0
    while True:
        busy = False
        for l in range(LANES):
            busy = busy or ln.it[I_PHASE, l] != IDLE
        if not busy:
            break
        evaluate(ln.X, ln.P, ln.F, ln.J_new)
        advance_lanes(ln, settings.opts_f, settings.opts_i, unit_weights, settings.estimator == ESTIMATOR_POISSON)
        for l in range(LANES):
            if ln.it[I_NEXT, l] == NEXT_DONE:
                staged = _write(ln, l, staged, settings, out)
                nxt = _fill(ln, l, nxt, stop, model, guess, data, settings, w, out)
    _flush(ln, staged, out, settings.estimator == ESTIMATOR_POISSON)
    for i in range(start, stop):
        if out.status[i] == BAIL:
            fit_one(i, driver_addr, model, guess, data, settings, buf, free, si, sf, dims, s, out)


@jit
def fit_range_lanes(lanes_addr, driver_addr, model, data, settings, out, start, stop):
    """Fit rows ``start:stop`` on the lanes, with buffers of their own (:func:`lsq.batch.fit_batch_lanes` runs
    ranges on threads). The buffers are allocated here, not by the caller: arrays the compiler sees allocated
    are known not to overlap, which the lanes' vector loops need (allocated in Python and passed in, the same
    fits ran 20 % slower on one thread)."""
    m = data.Y.shape[1]
    n = out.params.shape[1]
    ln = make_lanes(m, n, data.X.shape[1])
    dims = np.array((m, n, settings.qr, 0, 1, 1, 0, 0), dtype=np.int64)  # packed_dims: the linear loss, no history
    buf, free, si, sf = make_packed(dims)
    s = make_scratch_jit(m, n)
    run_lanes(lanes_addr, driver_addr, model, data, settings, ln, buf, free, si, sf, dims, s, out, start, stop)
