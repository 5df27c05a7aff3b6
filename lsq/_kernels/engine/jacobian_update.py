r"""The Jacobian at the end of the final Gauss-Newton step, by Broyden's rank-one update.

When a fit stops, one last undamped step is evaluated and kept (:mod:`.safeguards`); the Jacobian the fit
returns, and a covariance is computed from, belongs to the point it moved to. An analytic Jacobian is
evaluated there. A finite-difference Jacobian would cost ``n`` more evaluations of the residuals for a point
a converged step away; instead the last one is updated along the step ``p`` by the least change that makes
the linear model exact along it (Broyden 1965; Dennis & Schnabel 1983, sec. 8.1),

.. math:: J_+ = J + \frac{(f(x + p) - f(x) - J p)\,(D p)^T}{p^T D p},

in the fit's scaled variables (``D = diag(d)``, Moré's scaling), so the update does not depend on the units
of the parameters. Along ``p`` the result is exact to second order; across it, it differs from ``J(x + p)``
by the change of ``J`` over one converged step, the order of the finite differences' own error. The NIST
certified standard errors are met on all 27 problems either way (``benchmarks``), and the fit spends ``n``
fewer evaluations.
"""

from ..._setup.jit import jit_inline as jit


@jit
def broyden_update(w):
    """Update ``w.Jt`` (the raw linear-loss ``J``, by variable) along the step ``x_new - x`` with the residuals
    ``r_new`` at its end; ``w.x`` and ``w.r`` still hold its start, and ``w.fs`` (refilled by every
    linearisation) takes the model's miss ``f(x + p) - f(x) - J p``. A zero step leaves ``J`` as it is."""
    n, m = w.Jt.shape
    pdp = 0.0
    for j in range(n):
        pj = w.x_new[j] - w.x[j]
        pdp += w.d[j] * pj * pj
    if not pdp > 0.0:
        return
    miss = w.fs
    for i in range(m):
        miss[i] = w.r_new[i] - w.r[i]
    for j in range(n):
        pj = w.x_new[j] - w.x[j]
        row = w.Jt[j]
        for i in range(m):
            miss[i] -= row[i] * pj
    for j in range(n):
        scale = w.d[j] * (w.x_new[j] - w.x[j]) / pdp
        row = w.Jt[j]
        for i in range(m):
            row[i] += scale * miss[i]
