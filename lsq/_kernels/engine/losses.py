"""Robust loss functions rho(z) of the squared, scaled residual z = (f / f_scale)**2.

Each fills ``rho[0] = rho(z)``, ``rho[1] = rho'(z)``, ``rho[2] = rho''(z)`` for ``m`` entries, with the same
definitions as SciPy's ``least_squares``. The cost is ``0.5 * f_scale**2 * sum(rho(z))``.
"""

import math

from ..._setup.jit import jit_engine as jit
from .codes import LOSS_ARCTAN, LOSS_CAUCHY, LOSS_HUBER, LOSS_LINEAR, LOSS_SOFT_L1


@jit
def loss_rho(code, z, rho, m):
    """Evaluate the built-in loss ``code`` at ``z[:m]`` into ``rho[:, :m]``."""
    for i in range(m):
        zi = z[i]
        if code == LOSS_LINEAR:
            rho[0, i] = zi
            rho[1, i] = 1.0
            rho[2, i] = 0.0
        elif code == LOSS_SOFT_L1:
            t = 1.0 + zi
            rho[0, i] = 2.0 * (t**0.5 - 1.0)
            rho[1, i] = t**-0.5
            rho[2, i] = -0.5 * t**-1.5
        elif code == LOSS_HUBER:
            if zi <= 1.0:
                rho[0, i] = zi
                rho[1, i] = 1.0
                rho[2, i] = 0.0
            else:
                rho[0, i] = 2.0 * zi**0.5 - 1.0
                rho[1, i] = zi**-0.5
                rho[2, i] = -0.5 * zi**-1.5
        elif code == LOSS_CAUCHY:
            t = 1.0 + zi
            rho[0, i] = math.log1p(zi)
            rho[1, i] = 1.0 / t
            rho[2, i] = -1.0 / t**2
        elif code == LOSS_ARCTAN:
            t = 1.0 + zi**2
            rho[0, i] = math.atan(zi)
            rho[1, i] = 1.0 / t
            rho[2, i] = -2.0 * zi / t**2

@jit
def residual_cost(r, rho, m, loss, f_scale, rho_given):
    """Cost ``0.5 * sum(rho(f))`` of residuals ``r[:m]`` (inf if any is not finite).

    For a robust loss, ``rho`` is filled (unless ``rho_given``: the driver computed it from a callable loss)
    and rescaled to the units of ``f``: ``rho[0] *= f_scale**2``, ``rho[2] /= f_scale**2``.
    """
    s = 0.0
    if loss == LOSS_LINEAR:
        for i in range(m):
            s += r[i] * r[i]
    else:
        c = f_scale * f_scale
        if not rho_given:
            for i in range(m):
                rho[0, i] = (r[i] / f_scale) ** 2  # z, overwritten by loss_rho below
            loss_rho(loss, rho[0], rho, m)
        for i in range(m):
            rho[0, i] *= c
            rho[2, i] /= c
            s += rho[0, i]
    if not math.isfinite(s):
        return math.inf
    return 0.5 * s
