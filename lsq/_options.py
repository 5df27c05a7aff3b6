"""Method table and the lowering of options to the arrays the kernels read.

A method is a (damping rule, default scaling) pair; everything else is shared:

=============  ==================================  ========================  ==============
method         damping matrix ``lam * diag(d)``    lambda / step control     default x_scale
=============  ==================================  ========================  ==============
``gn``         none                                backtracking on ``alpha`` 1.0
``levenberg``  ``d = 1 / x_scale**2`` (I)          ``damping`` rule          1.0
``lm``         ``d`` = running max of ``|J_j|^2``  ``damping`` rule          'jac'
=============  ==================================  ========================  ==============

SciPy's method names ``'trf'`` and ``'dogbox'`` are accepted as aliases of ``'lm'`` (which, unlike SciPy's
MINPACK ``lm``, handles bounds and robust losses) so that code written for SciPy runs unchanged.
"""

import numpy as np

from ._kernels import codes as c

METHODS = ("lm", "levenberg", "gn")
METHOD_ALIASES = {"trf": "lm", "dogbox": "lm"}
DAMPING = {"nielsen": c.RULE_NIELSEN, "marquardt": c.RULE_MARQUARDT}
LINEAR_SOLVERS = ("auto", "cholesky", "qr")
LOSSES = {
    "linear": c.LOSS_LINEAR,
    "soft_l1": c.LOSS_SOFT_L1,
    "huber": c.LOSS_HUBER,
    "cauchy": c.LOSS_CAUCHY,
    "arctan": c.LOSS_ARCTAN,
}
QR_MAX_N = 64
"""``linear_solver='auto'`` uses QR (accuracy on ill-conditioned fits) up to this many parameters."""


def resolve_linear_solver(linear_solver, n):
    """``'auto'`` -> QR for small ``n`` (cheap, and it never squares the condition number), else Cholesky."""
    if linear_solver == "auto":
        return "qr" if n <= QR_MAX_N else "cholesky"
    return linear_solver


def lower(method, damping, linear_solver, loss, x_scale, bounded, ftol, xtol, gtol, f_scale, max_nfev, tau=1e-3,
          max_nit=2**62):
    """Turn validated options into ``(opts_f, opts_i)`` for :func:`lsq._kernels.engine.advance`."""
    opts_f = np.zeros(c.N_OPTS_F)
    opts_f[c.O_FTOL] = ftol
    opts_f[c.O_XTOL] = xtol
    opts_f[c.O_GTOL] = gtol
    opts_f[c.O_F_SCALE] = f_scale
    opts_f[c.O_TAU] = tau
    opts_i = np.zeros(c.N_OPTS_I, dtype=np.int64)
    opts_i[c.O_SCALING] = c.SCALING_JAC if isinstance(x_scale, str) else c.SCALING_FIXED
    opts_i[c.O_RULE] = c.RULE_BACKTRACK if method == "gn" else DAMPING[damping]
    opts_i[c.O_SOLVER] = c.SOLVER_QR if linear_solver == "qr" else c.SOLVER_CHOLESKY
    opts_i[c.O_LOSS] = c.LOSS_CALLABLE if callable(loss) else LOSSES[loss]
    opts_i[c.O_MAX_NFEV] = max_nfev
    opts_i[c.O_BOUNDED] = int(bounded)
    opts_i[c.O_MAX_NIT] = max_nit
    return opts_f, opts_i
