"""Method table and the lowering of options to the arrays the kernels read.

A method is a (damping rule, default scaling) pair; everything else is shared:

=============  ==================================  ========================  ==============
method         damping matrix ``lam * diag(d)``    lambda / step control     default x_scale
=============  ==================================  ========================  ==============
``gn``         none                                backtracking on ``alpha`` 1.0
``levenberg``  ``d = 1 / x_scale**2`` (I)          ``damping`` rule          1.0
``lm``         ``d`` = running max of ``|J_j|^2``  ``damping`` rule          'jac-restart'
``newton``     as ``lm``                           ``damping`` rule          'jac-restart'
=============  ==================================  ========================  ==============

``'jac-restart'`` is Moré's running maximum taken again from the current column norms, with the trust region,
after every ``100 * (n + 1)`` evaluations without convergence (MINPACK's budget): a far start's scales no
longer hold the steps back for the rest of the fit. ``'jac'`` is Moré's rule alone (MINPACK's and SciPy's
``lm``).

``newton`` is ``lm`` with the exact Hessian ``J^T J + sum r_i grad^2 r_i`` (``hessian='exact'``); any of the
others can take the second-order term too, exact or by the structured secant update (``hessian='secant'``).

SciPy's method names ``'trf'`` and ``'dogbox'`` are accepted as aliases of ``'lm'`` (which, unlike SciPy's
MINPACK ``lm``, handles bounds and robust losses) so that code written for SciPy runs unchanged.
"""

import functools
from dataclasses import dataclass, replace

import numpy as np

from .._kernels.engine import codes as c

METHODS = ("lm", "levenberg", "gn", "newton")
HESSIANS = {"gn": c.HESSIAN_GN, "exact": c.HESSIAN_EXACT, "secant": c.HESSIAN_SECANT}
METHOD_ALIASES = {"trf": "lm", "dogbox": "lm"}
DAMPING = {"nielsen": c.RULE_NIELSEN, "marquardt": c.RULE_MARQUARDT, "trust-region": c.RULE_TRUST_REGION}
LINEAR_SOLVERS = ("auto", "cholesky", "qr", "cg", "lsmr", "schur")
DRIVER_SOLVERS = ("cg", "lsmr", "schur")
"""Solvers that run in the driver on the Jacobian it keeps (dense, sparse or a LinearOperator)."""
LOSSES = {
    "linear": c.LOSS_LINEAR,
    "soft_l1": c.LOSS_SOFT_L1,
    "huber": c.LOSS_HUBER,
    "cauchy": c.LOSS_CAUCHY,
    "arctan": c.LOSS_ARCTAN,
}
QR_MAX_N = 64
"""Up to this many parameters, ``linear_solver='auto'`` on a dense ``J`` is ``SOLVER_AUTO``: Cholesky on
``J^T J`` while the scaled ``J`` is well conditioned, QR (accuracy on ill-conditioned fits) from the first
linearisation where it is not."""
NORMAL_MIN_ENTRIES = 4_000_000
"""From this many Jacobian entries (32 MB) on, a dense Jacobian is not copied into the engine: the driver
forms ``J^T J`` (a compiled model by chunks of rows, never holding ``J``), and ``'auto'`` means Cholesky."""
CHUNK_ENTRIES = 2**17
"""Entries of ``J`` per chunk (1 MB) when ``J^T J`` is assembled by chunks."""
SPARSE_CHOLESKY_MAX_N = 300
"""``'auto'`` with a sparse Jacobian: Cholesky on a dense ``J^T J`` up to this many variables (the
    engine factors it in O(n^3)), else CG."""


def resolve_linear_solver(linear_solver, n, m=0, kind="dense", tr_solver=None):
    """Pick the linear solver and where it runs.

    ``'auto'``: for a dense ``J``, up to :data:`QR_MAX_N` variables, Cholesky while a condition test passes
    and QR (which never squares the condition number) once it fails (``SOLVER_AUTO``), else Cholesky, and
    Cholesky on ``J^T J`` formed outside the engine from :data:`NORMAL_MIN_ENTRIES` entries on; for a sparse
    ``J``, Cholesky on ``J^T J`` up to :data:`SPARSE_CHOLESKY_MAX_N` variables, else CG (LSMR if SciPy's
    ``tr_solver='lsmr'`` was asked for); for a ``LinearOperator``, CG (or LSMR).

    Returns
    -------
    name : str
        The solver.
    engine_code : int
        ``SOLVER_AUTO`` / ``SOLVER_QR`` / ``SOLVER_CHOLESKY`` (the engine holds ``J``), ``SOLVER_NORMAL``
        (the driver holds ``J`` and forms ``J^T J``) or ``SOLVER_EXTERNAL`` (the driver solves).
    """
    name = linear_solver
    if name == "auto":
        if kind == "dense":
            if n <= QR_MAX_N and m * n < NORMAL_MIN_ENTRIES:
                return name, c.SOLVER_AUTO
            name = "cholesky"
        elif tr_solver == "lsmr":
            name = "lsmr"
        elif kind == "sparse" and n <= SPARSE_CHOLESKY_MAX_N:
            name = "cholesky"
        else:
            name = "cg"
    if name in DRIVER_SOLVERS:
        return name, c.SOLVER_EXTERNAL
    if name == "cholesky" and (kind != "dense" or m * n >= NORMAL_MIN_ENTRIES):
        return name, c.SOLVER_NORMAL
    return name, c.SOLVER_QR if name == "qr" else c.SOLVER_CHOLESKY


def needs_qr_buffers(name):
    """Whether the engine's workspace needs the QR buffers for the solver ``name`` (from
    :func:`resolve_linear_solver`): QR, or ``'auto'``, which may turn to QR during a fit."""
    return name in ("qr", "auto")


@dataclass(frozen=True)
class EngineOptions:
    """The validated options of a damped fit, lowered once to the arrays the engine reads.

    Frozen and hashable, so :meth:`lower` is cached: equal options share their arrays, which the kernels
    only read.
    """

    method: str
    damping: str
    loss: object  # a loss name or a callable
    jac_scaling: bool  # x_scale='jac': d is the running maximum of the squared column norms
    bounded: bool
    ftol: float
    xtol: float
    gtol: float
    f_scale: float
    max_nfev: int
    factor: float = 100.0
    max_nit: int = 2**62
    tau: float = 1e-3
    final_jacobian: bool = True  # J at the returned point (what a covariance needs): at most one more J
    hessian: str = "gn"  # the second-order term: 'gn' (none), 'exact' (Newton) or 'secant'
    jac_differences: bool = False  # J by finite differences (of least-squares residuals)
    restart_scaling: bool = False  # x_scale='jac-restart': Moré's scaling taken again every RESTART_BUDGET * (n + 1)

    def for_jacobian(self, finite_differences):
        """These options for a fit whose Jacobian is by finite differences of least-squares residuals (or not):
        with the linear loss, the Jacobian at a kept final step is then the last one updated along it
        (:mod:`lsq._kernels.engine.jacobian_update`) instead of ``n`` more evaluations."""
        fd = bool(finite_differences)
        return self if fd == self.jac_differences else _with_differences(self, fd)

    def lower(self, linear_solver):
        """``(opts_f, opts_i)`` for :func:`lsq._kernels.engine.loop.advance` with the engine-side solver code."""
        return _lowered(self, int(linear_solver))


@functools.lru_cache(maxsize=256)
def _with_differences(options, finite_differences):
    """``options`` with ``jac_differences`` set: one object per distinct pair, so its lowering is found by
    identity (building and hashing a new one cost 10 us a fit)."""
    return replace(options, jac_differences=finite_differences)


@functools.lru_cache(maxsize=256)
def engine_options(*args, **kwargs):
    """:class:`EngineOptions` of these arguments, one object per distinct set (so its lowering is found by
    identity of the cache key, and a fit does not build and hash a new one)."""
    return EngineOptions(*args, **kwargs)


def damping_rule(method, damping, linear_solver):
    """The engine's rule code. With a driver-side solver (CG, LSMR, Schur) the trust-region rule moves
    ``lam = 1 / radius`` as Ceres does, whose radius update is Nielsen's rule on ``lam``: solving the
    secular equation would need several inexact solves per trial."""
    if method == "gn":
        return c.RULE_BACKTRACK
    rule = DAMPING[damping]
    if rule == c.RULE_TRUST_REGION and linear_solver == c.SOLVER_EXTERNAL:
        return c.RULE_NIELSEN
    return rule


@functools.lru_cache(maxsize=256)
def _lowered(o, linear_solver):
    opts_f = np.zeros(c.N_OPTS_F)
    opts_f[c.O_FTOL] = o.ftol
    opts_f[c.O_XTOL] = o.xtol
    opts_f[c.O_GTOL] = o.gtol
    opts_f[c.O_F_SCALE] = o.f_scale
    opts_f[c.O_TAU] = o.tau
    opts_f[c.O_FACTOR] = o.factor
    opts_i = np.zeros(c.N_OPTS_I, dtype=np.int64)
    opts_i[c.O_SCALING] = c.SCALING_JAC if o.jac_scaling else c.SCALING_FIXED
    opts_i[c.O_RULE] = damping_rule(o.method, o.damping, linear_solver)
    opts_i[c.O_SOLVER] = linear_solver
    opts_i[c.O_LOSS] = c.LOSS_CALLABLE if callable(o.loss) else LOSSES[o.loss]
    opts_i[c.O_MAX_NFEV] = o.max_nfev
    opts_i[c.O_BOUNDED] = int(o.bounded)
    opts_i[c.O_MAX_NIT] = o.max_nit
    opts_i[c.O_FINAL_J] = c.FINAL_J_NONE
    if o.final_jacobian:
        update = o.jac_differences and o.loss == "linear"
        opts_i[c.O_FINAL_J] = c.FINAL_J_UPDATE if update else c.FINAL_J_EVALUATE
    opts_i[c.O_HESSIAN] = HESSIANS[o.hessian]
    opts_i[c.O_RESTART] = c.RESTART_BUDGET if o.restart_scaling and o.jac_scaling else 0
    return opts_f, opts_i
