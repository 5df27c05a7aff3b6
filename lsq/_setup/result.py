"""Termination messages and the assembly of the SciPy-style result."""

from collections import namedtuple

import numpy as np
from scipy.optimize import OptimizeResult

from .._kernels.engine import codes as c
from .._kernels.engine import layout as slot
from .validate import has_bounds

TERMINATION_MESSAGES = {
    c.STATUS_BAD_INPUT: "A fit could not start: non-finite data or starting point.",
    c.STATUS_NONFINITE: "Stopped because the residuals or the Jacobian at the current point are not finite.",
    c.STATUS_CALLBACK: "Stopped because `callback` function raised `StopIteration` or returned `True`",
    c.STATUS_MAX_NFEV: "The maximum number of function evaluations is exceeded.",  # or of iterations (batch)
    c.STATUS_GTOL: "`gtol` termination condition is satisfied.",
    c.STATUS_FTOL: "`ftol` termination condition is satisfied.",
    c.STATUS_XTOL: "`xtol` termination condition is satisfied.",
    c.STATUS_FTOL_XTOL: "Both `ftol` and `xtol` termination conditions are satisfied.",
    c.STATUS_EARLY_STOP: "Stopped early: the validation cost did not improve for `patience` epochs; the "
                         "parameters of the best validation epoch are returned.",
}

FitState = namedtuple("FitState", ["x", "r", "Jt", "g", "hist", "si", "sf", "lb", "ub"])
"""What a result is built from: these fields of a finished :class:`lsq._setup.workspace.Workspace`."""

HISTORY_FIELDS = ("cost", "lam", "step_norm", "optimality", "nfev", "ncalls")


def find_active_constraints(x, lb, ub, rtol=1e-10):
    """-1 where a lower bound is active, +1 for an upper bound, 0 elsewhere (SciPy's rule)."""
    active = np.zeros(x.shape, dtype=int)
    lower_dist = x - lb
    upper_dist = ub - x
    lower_thr = rtol * np.maximum(1, np.abs(lb))
    upper_thr = rtol * np.maximum(1, np.abs(ub))
    with np.errstate(invalid="ignore"):
        active[np.isfinite(lb) & (lower_dist <= np.minimum(upper_dist, lower_thr))] = -1
        active[np.isfinite(ub) & (upper_dist <= np.minimum(lower_dist, upper_thr))] = 1
    return active


def history_dict(hist, rows):
    """Per-iteration history (row 0 is the starting point) as a dict of arrays."""
    block = hist[:rows].T.copy()  # one copy; each field is a row of it
    return dict(zip(HISTORY_FIELDS, block, strict=True))


def build_result(w, method, jac=None):
    """Assemble the :class:`scipy.optimize.OptimizeResult` from a finished workspace (or :class:`FitState`);
    ``jac`` is the Jacobian when the driver kept it (sparse, ``LinearOperator`` or dense); it is None when
    ``J^T J`` was assembled by chunks and ``J`` never existed whole. ``nfev`` leaves finite-difference calls
    out (SciPy's meaning); ``ncalls`` counts every call of ``fun``."""
    si, sf = w.si, w.sf
    status, cost, nfev = int(si[slot.STATUS]), float(sf[slot.COST]), int(si[slot.NFEV])
    hist = history_dict(w.hist, int(si[slot.HIST_ROWS]))
    hist["nfev"] = hist["nfev"].astype(int)
    hist["ncalls"] = hist["ncalls"].astype(int)
    n = w.x.shape[0]
    if jac is None and w.Jt is not None and w.Jt.shape[1] != 0:
        jac = np.ascontiguousarray(w.Jt.T)
    return OptimizeResult(
        x=w.x.copy(),
        cost=cost,
        fun=w.r.copy(),
        jac=jac,
        grad=w.g.copy(),
        optimality=float(sf[slot.OPTIMALITY]),
        active_mask=find_active_constraints(w.x, w.lb, w.ub) if has_bounds(w.lb, w.ub) else np.zeros(n, dtype=int),
        nfev=nfev,
        ncalls=nfev + int(si[slot.NFD]),
        njev=int(si[slot.NJEV]),
        nit=int(si[slot.NIT]),
        restarts=int(si[slot.RESTARTS]),
        status=status,
        message=TERMINATION_MESSAGES[status],
        success=status > 0,
        method=method,
        history=hist,
    )
