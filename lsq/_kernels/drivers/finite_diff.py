"""Finite-difference step sizes, shared by the Python and the compiled Jacobians.

``h_j = rstep * sign(x_j) * max(s_j, |x_j|)`` (``sign(0) = 1``) with a floor ``s_j``, or, when the user gives
``diff_step``, ``diff_step_j * sign(x_j) * |x_j|`` (falling back to the former where that step vanishes).
The per-variable array ``rel`` carries both: ``rel_j >= 0`` is a user relative step, ``rel_j < 0`` the floor
``s_j = -rel_j``.

* SciPy's ``least_squares`` rule is the floor 1: ``h_j = rstep * max(1, |x_j|)`` (``rel_j = -1``).
* The damped methods' forward differences take MINPACK's ``lmdif`` rule, ``h_j = sqrt(eps) |x_j|``, which
  SciPy's ``method='lm'`` and ``curve_fit`` use and which keeps the step in proportion to parameters far
  below 1 (Hahn1, Misra1a's b2). Its weak point is a parameter that passes close to zero on the way (Watson
  from x0 = 0 reached x_1 = 3e-22, where the step no longer changes the residuals at all): the floor is the
  parameter's starting magnitude, capped at 1 (1 for a zero start), :func:`step_floors`. At and above that
  magnitude the step is MINPACK's.

The step actually taken is ``(x_j + h_j) - x_j`` so that it is exactly representable. Near a bound a forward
step is flipped (2-point) or a one-sided 3-point formula is used, so no evaluation leaves the box.
"""

import numpy as np

from ..._setup.jit import jit_engine as jit

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
        User relative steps (>= 0), or the floor ``-rel_j`` of the default rule (< 0; -1 is SciPy's rule).
    scheme : int
        ``SCHEME_2POINT``, ``SCHEME_3POINT`` or ``SCHEME_CS``.
    h, one_sided : ndarray, shape (n,)
        Outputs.
    """
    for j in range(x.shape[0]):
        xj = x[j]
        sgn = 1.0 if xj >= 0.0 else -1.0
        hj = rstep * sgn * max(-rel[j] if rel[j] < 0.0 else 1.0, abs(xj))  # rel < 0: the floor
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


@jit
def forward_points(x, lb, ub, rstep, rel, h, one_sided, points):
    """The steps :func:`fd_steps` of 2-point differences into ``h``, and into row ``j`` of ``points`` (n, n)
    the point ``x`` with ``x_j + h_j`` (the points a driver evaluates one by one)."""
    fd_steps(x, lb, ub, rstep, rel, SCHEME_2POINT, h, one_sided)
    n = x.shape[0]
    for j in range(n):
        for k in range(n):
            points[j, k] = x[k]
        points[j, j] = x[j] + h[j]


@jit
def forward_quotients(Jt, f0, h):
    """``Jt[j] = (Jt[j] - f0) / h_j`` in place: rows holding ``f(x + h_j e_j)`` become the Jacobian's (the
    arithmetic of :func:`fd_column`)."""
    for j in range(Jt.shape[0]):
        row = Jt[j]
        hj = h[j]
        for i in range(f0.shape[0]):
            row[i] = (row[i] - f0[i]) / hj


@jit
def step_floors(x0, rel):
    """MINPACK's relative forward step with a floor at the starting magnitude: ``rel_j = -min(|x0_j|, 1)``
    (-1 where ``x0_j = 0``)."""
    for j in range(x0.shape[0]):
        a = abs(x0[j])
        rel[j] = -min(a, 1.0) if a > 0.0 else -1.0


def relative_steps(x0, scheme, diff_step, minpack):
    """The ``rel`` array of :func:`fd_steps`: ``diff_step`` when given; MINPACK's rule for 2-point differences
    (``minpack``: the damped methods) with the floors of :func:`step_floors`; else SciPy's rule (-1)."""
    n = x0.shape[0]
    if diff_step is not None:
        return np.broadcast_to(np.asarray(diff_step, dtype=float), (n,)).copy()
    rel = np.full(n, -1.0)
    if minpack and scheme == SCHEME_2POINT:
        step_floors(x0, rel)
    return rel


def default_rstep(scheme, eps):
    """Relative step for a scheme given the machine epsilon of the residuals' dtype (plain Python: it is
    computed once per fit, and a jitted call from Python costs more than the arithmetic)."""
    # ``eps`` may be a numpy float32 scalar: the power then rounds to float32, as SciPy's step does
    if scheme == SCHEME_3POINT:
        return eps ** (1.0 / 3.0)
    return eps**0.5
