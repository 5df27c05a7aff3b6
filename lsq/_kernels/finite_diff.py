"""Finite-difference step sizes, shared by the Python and the compiled Jacobians.

``h_j = rstep * sign(x_j) * max(1, |x_j|)`` (``sign(0) = 1``, SciPy's ``least_squares`` rule), or
``rel_j * sign(x_j) * |x_j|`` with a relative step ``rel_j`` (falling back to the former where that step
vanishes, e.g. at ``x_j = 0``). ``rel`` is the user's ``diff_step``, or, for the damped methods' forward
differences, ``rstep`` itself: MINPACK's ``lmdif`` rule ``h_j = sqrt(eps) |x_j|`` (``sqrt(eps)`` at 0), which
SciPy's ``method='lm'`` and ``curve_fit`` use, and which keeps the step in proportion to parameters far below 1
(see :func:`relative_steps`). The step actually taken is ``(x_j + h_j) - x_j`` so that it is exactly
representable. Near a bound a forward step is flipped (2-point) or a one-sided 3-point formula is used, so no
evaluation leaves the box.
"""

import numpy as np

from .._jit import jit_engine as jit

SCHEME_2POINT = 0
SCHEME_3POINT = 1
SCHEME_CS = 2


@jit
def fd_steps(x, lb, ub, rstep, rel, scheme, h, one_sided):
    """Fill ``h`` with signed steps and ``one_sided`` (3-point only) with 1 where the central rule won't fit.

    Parameters
    ----------
    x, lb, ub : ndarray, shape (n,)
    rstep : float
        Default relative step (``eps**0.5`` for 2-point/cs, ``eps**(1/3)`` for 3-point).
    rel : ndarray, shape (n,)
        User relative steps, or negative entries for "not given".
    scheme : int
        ``SCHEME_2POINT``, ``SCHEME_3POINT`` or ``SCHEME_CS``.
    h, one_sided : ndarray, shape (n,)
        Outputs.
    """
    for j in range(x.shape[0]):
        xj = x[j]
        sgn = 1.0 if xj >= 0.0 else -1.0
        hj = rstep * sgn * max(1.0, abs(xj))
        if rel[j] >= 0.0:
            hu = rel[j] * sgn * abs(xj)
            if (xj + hu) - xj != 0.0:
                hj = hu
        hj = (xj + hj) - xj
        one_sided[j] = 0
        lower = xj - lb[j]
        upper = ub[j] - xj
        if scheme == SCHEME_2POINT:
            if (xj + hj > ub[j] or xj + hj < lb[j]):
                if abs(hj) <= max(lower, upper):
                    hj = -hj
                elif upper >= lower:
                    hj = upper
                else:
                    hj = -lower
        elif scheme == SCHEME_3POINT:
            a = abs(hj)
            if not (lower >= a and upper >= a):
                one_sided[j] = 1
                if upper >= lower:
                    hj = min(a, 0.5 * upper)
                else:
                    hj = -min(a, 0.5 * lower)
                if abs(hj) <= min(upper, lower):
                    one_sided[j] = 0
                    hj = abs(hj)
        h[j] = hj


@jit
def fd_column(scheme, one_sided, h, f0, f1, f2, out, col):
    """Write the difference quotient for variable ``col`` into the row ``out[col]`` of a Jacobian stored by
    variable, from evaluations at ``x+h`` (``f1``) and, for 3-point, ``x-h`` or ``x+2h`` (``f2``)."""
    m = f0.shape[0]
    row = out[col]
    if scheme == SCHEME_2POINT:
        for i in range(m):
            row[i] = (f1[i] - f0[i]) / h
    elif one_sided:
        for i in range(m):
            row[i] = (-3.0 * f0[i] + 4.0 * f1[i] - f2[i]) / (2.0 * h)
    else:
        for i in range(m):
            row[i] = (f1[i] - f2[i]) / (2.0 * h)


def relative_steps(n, scheme, rstep, diff_step, minpack):
    """The ``rel`` array of :func:`fd_steps`: ``diff_step`` when given, ``rstep`` for 2-point differences under
    MINPACK's rule (``minpack``, the damped methods), else -1 ("not given": SciPy's absolute-or-relative rule)."""
    if diff_step is not None:
        return np.broadcast_to(np.asarray(diff_step, dtype=float), (n,)).copy()
    if minpack and scheme == SCHEME_2POINT:
        return np.full(n, float(rstep))
    return np.full(n, -1.0)


def default_rstep(scheme, eps):
    """Relative step for a scheme given the machine epsilon of the residuals' dtype (plain Python: it is
    computed once per fit, and a jitted call from Python costs more than the arithmetic)."""
    # ``eps`` may be a numpy float32 scalar: the power then rounds to float32, as SciPy's step does
    if scheme == SCHEME_3POINT:
        return eps ** (1.0 / 3.0)
    return eps**0.5
