"""Stopping tests, one predicate each (the same definitions as SciPy's ``least_squares`` trf).

* gtol: ``||g * v||_inf < gtol`` with ``v`` the Coleman-Li scaling (1 without bounds);
* ftol: ``dF < ftol * F`` and the gain ratio ``> 0.25``, with ``dF`` the actual reduction of the cost ``F``;
* xtol: ``||d^(1/2) * dx|| < xtol * (xtol + ||d^(1/2) * x||)`` in the scaled variables.
"""

from ..._setup.jit import jit_inline as jit
from .codes import STATUS_FTOL, STATUS_FTOL_XTOL, STATUS_NONE, STATUS_XTOL


@jit
def gtol_reached(optimality, gtol):
    """True when the first-order optimality measure is below ``gtol``."""
    return optimality < gtol


@jit
def ftol_reached(actual, cost, gain, ftol):
    """True when the relative reduction of the cost of an accepted step is below ``ftol``."""
    return actual >= 0.0 and actual < ftol * cost and gain > 0.25


@jit
def xtol_reached(step_norm, x_norm, xtol):
    """True when the scaled step is small relative to the scaled point."""
    return step_norm < xtol * (xtol + x_norm)


@jit
def step_status(ftol_ok, xtol_ok):
    """Status code for the step tests, ``STATUS_NONE`` when none holds."""
    if ftol_ok and xtol_ok:
        return STATUS_FTOL_XTOL
    if ftol_ok:
        return STATUS_FTOL
    if xtol_ok:
        return STATUS_XTOL
    return STATUS_NONE
