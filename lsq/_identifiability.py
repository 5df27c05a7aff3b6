"""What the data of a fit cannot determine, read from the Jacobian at the solution.

The Jacobian's columns are scaled to unit length first, so the test does not depend on the parameters'
units. A direction ``v`` whose singular value is below :data:`RANK_RTOL` times the largest is not
determined by the data: a parameter with a component above :data:`INVOLVED` in it gets no standard error
(inf). The threshold sits between two measured levels: exactly dependent parameters (``a * b``,
``exp(-(k1 + k2) x)``) come out of a forward-difference Jacobian with relative singular values up to 5e-8
(the differences' own error), while the 27 NIST problems at their certified values reach 1.7e-5 (scaled
condition numbers of 2 to 6e4).
"""

import math

import numpy as np

RANK_RTOL = 1e-6
"""Relative singular value (columns scaled to unit length) below which a direction is not determined: a
scaled condition number above 1e6."""
INVOLVED = 0.05
"""Smallest component of a unit null direction that makes a parameter part of it."""
SINGULAR_SHIFT = 0.01 * RANK_RTOL * RANK_RTOL
"""Added to the unit diagonal of a normal matrix singular to rounding, so its determined part can be read."""
CONDITION_WARNING = 1e5
"""Scaled condition number from which a determined fit is reported as ill-conditioned: a decade below the
undetermined threshold (1 / RANK_RTOL) and above the NIST problems' largest (6e4)."""
CORRELATION_WARNING = 0.99
"""``|correlation|`` from which a pair of parameters is reported as nearly interchangeable."""


def undetermined(s_unit, V_unit, names, rtol=RANK_RTOL):
    """Parameters the data cannot determine, and one sentence per undetermined direction.

    Parameters
    ----------
    s_unit, V_unit : ndarray
        Singular values and right singular vectors (``V_unit[j]`` for ``s_unit[j]``) of the column-scaled
        Jacobian (see :func:`lsq._kernels.covariance.covariance_from_transposed`).
    names : sequence of str
    rtol : float
        The relative singular value below which a direction is undetermined.

    Returns
    -------
    lost : list or ndarray of bool
    messages : list of str
    """
    names = list(names)
    lost = [False] * len(names)
    messages = []
    values = s_unit.tolist()
    if not math.isfinite(sum(values)):  # singular values of unit columns are at most sqrt(n): no overflow
        return np.ones(len(names), dtype=bool), ["The Jacobian at the solution is not finite: no uncertainty can "
                                                 "be given."]
    s_max = max(values, default=0.0)
    if not values or min(values) > rtol * s_max:  # the common case: everything is determined
        return lost, messages
    lost = np.array(lost)
    for j in np.argsort(s_unit):
        if s_unit[j] > rtol * s_max:
            break
        v = V_unit[j]
        part = np.abs(v) > INVOLVED
        lost |= part
        idx = np.flatnonzero(part)
        if idx.size == 1:
            messages.append(f"{names[idx[0]]} is not identifiable: the model does not change with it here (its "
                            "Jacobian column is zero).")
            continue
        sign = np.sign(v[idx[np.argmax(np.abs(v[idx]))]])
        combo = " ".join(f"{'-' if sign * v[k] < 0 else '+'} {abs(v[k]):.2f}*{names[k]}" for k in idx)
        listed = ", ".join(names[k] for k in idx[:-1]) + f" and {names[idx[-1]]}"
        messages.append(f"{listed} are not identifiable separately: the data determine nothing along "
                        f"{combo.lstrip('+ ')} (in units of each parameter's sensitivity), so only other "
                        "combinations of them are known; fix one of them or reparametrise the model.")
    return lost, messages


def ill_conditioned(s_unit, V_unit, names, lost):
    """One sentence when the fit is determined but its scaled condition number reaches
    :data:`CONDITION_WARNING`, naming the combination the data resolve least."""
    values = s_unit.tolist()  # Python floats: for the few parameters of a fit, cheaper than NumPy's per-call cost
    if len(values) < 2 or any(lost) or not all(math.isfinite(v) for v in values):
        return []
    s_max = max(values)
    j = values.index(min(values))
    if not values[j] * CONDITION_WARNING < s_max:
        return []
    v = V_unit[j]
    idx = np.flatnonzero(np.abs(v) > INVOLVED)
    sign = np.sign(v[idx[np.argmax(np.abs(v[idx]))]])
    combo = " ".join(f"{'-' if sign * v[k] < 0 else '+'} {abs(v[k]):.2f}*{names[k]}" for k in idx).lstrip("+ ")
    return [f"The fit is ill-conditioned (scaled condition number {s_max / s_unit[j]:.1e}): the data barely resolve "
            f"{combo} (in units of each parameter's sensitivity), so the errors of "
            f"{', '.join(names[k] for k in idx)} are large and hinge on the model being exactly right."]


def strong_correlations(cov, names, skip):
    """One sentence per pair of parameters (neither in ``skip``) whose correlation in ``cov`` reaches
    ``|r| >= CORRELATION_WARNING``."""
    c = cov.tolist()  # Python floats: for the few parameters of a fit, cheaper than NumPy's per-call cost
    n = len(c)
    messages = []
    for a in range(n):
        for b in range(a + 1, n):
            d = c[a][a] * c[b][b]
            if d > 0.0 and d != math.inf and abs(c[a][b]) >= CORRELATION_WARNING * math.sqrt(d):
                if not (skip[a] or skip[b]):
                    r = c[a][b] / math.sqrt(d)
                    messages.append(f"{names[a]} and {names[b]} are nearly interchangeable (correlation {r:+.4f}): "
                                    "their standard errors are large and the data barely tell them apart.")
    return messages
