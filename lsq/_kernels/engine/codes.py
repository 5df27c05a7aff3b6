"""Integer codes shared by the Python layer and the compiled kernels.

numba treats module-level ints as compile-time constants, so dispatching on them costs nothing.
"""

EPS = 2.220446049250313e-16
"""Machine epsilon of float64."""

# Tasks the engine hands back to its driver (reverse communication).
TASK_DONE = 0
TASK_EVAL_F = 1  # driver: r_new <- fun(x_new)   (and rho_new <- loss(z) for a callable loss)
TASK_EVAL_J = 2  # driver: J <- jac(x)           (raw Jacobian of the residuals, before loss scaling)
# Only with the driver-side solvers (SOLVER_NORMAL, SOLVER_EXTERNAL), where the driver holds J:
TASK_GRADIENT = 3  # driver: Js = diag(row_scale) J (J itself for the linear loss); g <- Js^T fs,
#                    colsq <- squared column norms of Js, and for SOLVER_NORMAL A <- Js^T Js (n, n)
TASK_SOLVE = 4  # driver: delta[:nfree] <- solve (Js_F^T Js_F + lam diag(d_F)) delta = -g_F on the free set
#                 F = free[:nfree], lam = state.trial_lam; a NaN in delta means "could not solve"
TASK_EVAL_JP = 5  # driver: state.jp_sq <- |Js p|^2 for the step p (zero off the free set)

# Engine phases (what the engine expects to find when it is called again).
PHASE_START = 0
PHASE_AFTER_F0 = 1
PHASE_AFTER_J = 2
PHASE_AFTER_TRIAL = 3
PHASE_DONE = 4
PHASE_AFTER_GRADIENT = 5
PHASE_AFTER_SOLVE = 6
PHASE_AFTER_JP = 7
PHASE_FINAL_J = 8
# Phases the engine passes through without returning to its driver: each stage of an iteration is its own
# compiled function and :func:`lsq._kernels.engine.loop.advance` calls the next one, rather than one stage
# calling the next (numba links and optimises every callee into its caller again, so chains of calls
# multiply compile time by their depth).
PHASE_PROPOSE = 9  # start a trial (trust-region step, or a solve at the rule's lam)
PHASE_NEXT_SOLVE = 10  # solve the damped system at trial_lam, damping harder until it solves
PHASE_PLACE_STEP = 11  # place the trial point from the solved step
PHASE_FINAL_STEP = 12  # the fit stops with final_status: first one last Gauss-Newton step
PHASE_RESET = 13  # put the workspace back to its start state (state.reset), then start: how Python starts a fit
TASK_CONTINUE = -1  # inside advance only: go on with the phase just set

# Option slots: floats (opts_f) and ints (opts_i).
O_FTOL = 0
O_XTOL = 1
O_GTOL = 2
O_F_SCALE = 3
O_TAU = 4
O_FACTOR = 5  # initial trust-region radius: factor * |d^(1/2) x0| (MINPACK's factor)
N_OPTS_F = 6

O_SCALING = 0
O_RULE = 1
O_SOLVER = 2
O_LOSS = 3
O_MAX_NFEV = 4
O_BOUNDED = 5
O_MAX_NIT = 6  # iteration limit (accepted steps); the batch API's max_iterations
O_FINAL_J = 7  # FINAL_J_*: the Jacobian (and g) at the point a kept final Gauss-Newton step moved to
O_HESSIAN = 8  # HESSIAN_*: the curvature of the model, J^T J or J^T J plus a second-order term
O_RESTART = 9  # restart the scaling and the step control after every O_RESTART * (n + 1) evaluations (0: never)
N_OPTS_I = 10

# The Jacobian the fit returns after a kept final Gauss-Newton step (what a covariance is computed from).
FINAL_J_NONE = 0  # the last linearisation's
FINAL_J_EVALUATE = 1  # evaluated at the final point
FINAL_J_UPDATE = 2  # finite differences: the last one, updated along the final step (engine.jacobian_update)

# The second-order term S ~ sum r_i grad^2 r_i added to J^T J (Cholesky on the engine's A only).
HESSIAN_GN = 0  # none: Gauss-Newton / Levenberg-Marquardt
HESSIAN_EXACT = 1  # S from the driver with every Jacobian (w.H2): Newton
HESSIAN_SECANT = 2  # S by the structured secant update of Dennis, Gay and Welsch (NL2SOL), from J and r only

# Scaling of the variables (the diagonal d used for damping and for the xtol norm).
SCALING_FIXED = 0  # d = 1 / x_scale**2, fixed
SCALING_JAC = 1  # d = running max of the squared column norms of J (Moré 1978)
RESTART_BUDGET = 100  # evaluations per (n + 1) between restarts of the scaling: MINPACK lmder's default maxfev

# Damping update rules.
RULE_NIELSEN = 0
RULE_MARQUARDT = 1
RULE_BACKTRACK = 2  # Gauss-Newton: lambda = 0, step length halves on rejection
RULE_TRUST_REGION = 3  # Moré 1978: a radius on the scaled step, lambda solved from |D p(lambda)| = radius

# Linear solvers.
SOLVER_CHOLESKY = 0
SOLVER_QR = 1
SOLVER_NORMAL = 2  # Cholesky on J^T J + lam D with J^T J formed by the driver (sparse or chunked J)
SOLVER_EXTERNAL = 3  # the driver solves the damped system (conjugate gradients, LSMR, Schur complement)
SOLVER_AUTO = 4  # Cholesky while the scaled J^T J is well conditioned, QR from the first linearisation where not
CHOLESKY_MAX_CONDITION = EPS**-0.5
"""``SOLVER_AUTO`` leaves Cholesky for QR once a bound on the condition number of the column-scaled ``J^T J``
passes this, i.e. once ``J``'s scaled condition number may pass ``eps**(-1/4)``: below it, a Cholesky solve loses
fewer than half the digits of a step, which the next linearisation recovers (the fixed point ``J^T r = 0`` is
computed from ``J`` and ``r`` directly), while above it QR keeps the digits ill-conditioned fits need."""

# What a compiled fit returns besides its result (lsq._kernels.drivers.compiled.solve).
COVARIANCE_NONE = 0
COVARIANCE_ONLY = 1  # (J^T J)^+, whether it dropped directions, rss_linear (curve_fit)
COVARIANCE_AND_CONDITIONING = 2  # and the singular values and vectors of the column-scaled J (fit's diagnostics)

# Losses.
LOSS_LINEAR = 0
LOSS_SOFT_L1 = 1
LOSS_HUBER = 2
LOSS_CAUCHY = 3
LOSS_ARCTAN = 4
LOSS_CALLABLE = 5

# Estimators: how the driver turns model values into residuals (lsq._kernels.drivers.compiled).
ESTIMATOR_LEAST_SQUARES = 0  # (model - y) * wts
ESTIMATOR_POISSON = 1  # deviance residuals of Poisson counts y (weights unused): maximum likelihood
ESTIMATORS = {"least_squares": ESTIMATOR_LEAST_SQUARES, "poisson": ESTIMATOR_POISSON}

# Termination statuses (SciPy's codes, plus lsq's own negative ones).
STATUS_NONE = -99  # no test holds (never a final status)
STATUS_MAX_NFEV = 0
STATUS_GTOL = 1
STATUS_FTOL = 2
STATUS_XTOL = 3
STATUS_FTOL_XTOL = 4
STATUS_EARLY_STOP = 5  # first-order methods: the validation cost stopped improving (best epoch returned)
STATUS_CALLBACK = -2
STATUS_NONFINITE = -3
STATUS_BAD_INPUT = -4
