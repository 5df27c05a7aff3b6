"""Integer codes shared by the Python layer and the compiled kernels.

numba treats module-level ints as compile-time constants, so dispatching on them costs nothing.
"""

# Tasks the engine hands back to its driver (reverse communication).
TASK_DONE = 0
TASK_EVAL_F = 1  # driver: r_new <- fun(x_new)   (and rho_new <- loss(z) for a callable loss)
TASK_EVAL_J = 2  # driver: J <- jac(x)           (raw Jacobian of the residuals, before loss scaling)
# Only with the driver-side solvers (SOLVER_NORMAL, SOLVER_EXTERNAL), where the driver holds J:
TASK_GRADIENT = 3  # driver: Js = diag(row_scale) J (J itself for the linear loss); g <- Js^T fs,
#                    colsq <- squared column norms of Js, and for SOLVER_NORMAL A <- Js^T Js (n, n)
TASK_SOLVE = 4  # driver: delta[:nfree] <- solve (Js_F^T Js_F + lam diag(d_F)) delta = -g_F on the free set
#                 F = free[:nfree], lam = fst[F_TRIAL_LAM]; a NaN in delta means "could not solve"
TASK_EVAL_JP = 5  # driver: fst[F_JP_SQ] <- |Js p|^2 for the step p (zero off the free set)

# Engine phases (what the engine expects to find when it is called again).
PHASE_START = 0
PHASE_AFTER_F0 = 1
PHASE_AFTER_J = 2
PHASE_AFTER_TRIAL = 3
PHASE_DONE = 4
PHASE_AFTER_GRADIENT = 5
PHASE_AFTER_SOLVE = 6
PHASE_AFTER_JP = 7

# Integer state slots (work.ist).
I_PHASE = 0
I_NIT = 1
I_NFEV = 2
I_NJEV = 3
I_STATUS = 4
I_PENDING = 5  # a termination status decided before the final Jacobian is evaluated
I_NFREE = 6
I_HIST = 7  # history rows written
I_NREJECT = 8  # consecutive rejected trials
I_SOLVE_TRIES = 9  # linear solves tried for the current trial
I_UNDONE = 10  # accepted steps undone because they wiped out a column of J
N_IST = 11

# Float state slots (work.fst).
F_COST = 0
F_COST_NEW = 1
F_LAM = 2
F_NU = 3
F_ALPHA = 4
F_STEP_NORM = 5
F_OPTIMALITY = 6
F_ACTUAL = 7
F_PRED = 8
F_RHO = 9
F_X_NORM = 10
F_LAST_STEP = 11
F_TRY_GN = 12  # 1.0 when the next trial is an undamped (lam = 0) Gauss-Newton step
F_TRIAL_LAM = 13  # lam used by the current trial
F_JP_SQ = 14  # |J p|^2 for the current trial step (from the driver with SOLVER_EXTERNAL)
F_NO_GN = 15  # 1.0 once an undamped system was singular: no more Gauss-Newton tries in this fit
F_POLISH = 16  # 1.0 while the last step, taken after a step test was confirmed, is evaluated
N_FST = 17

# Option slots: floats (opts_f) and ints (opts_i).
O_FTOL = 0
O_XTOL = 1
O_GTOL = 2
O_F_SCALE = 3
O_TAU = 4
N_OPTS_F = 5

O_SCALING = 0
O_RULE = 1
O_SOLVER = 2
O_LOSS = 3
O_MAX_NFEV = 4
O_BOUNDED = 5
O_MAX_NIT = 6  # iteration limit (accepted steps); the batch API's max_iterations
N_OPTS_I = 7

NO_PENDING = -99

# Scaling of the variables (the diagonal d used for damping and for the xtol norm).
SCALING_FIXED = 0  # d = 1 / x_scale**2, fixed
SCALING_JAC = 1  # d = running max of the squared column norms of J (Moré 1978)

# Damping update rules.
RULE_NIELSEN = 0
RULE_MARQUARDT = 1
RULE_BACKTRACK = 2  # Gauss-Newton: lambda = 0, step length halves on rejection

# Linear solvers.
SOLVER_CHOLESKY = 0
SOLVER_QR = 1
SOLVER_NORMAL = 2  # Cholesky on J^T J + lam D with J^T J formed by the driver (sparse or chunked J)
SOLVER_EXTERNAL = 3  # the driver solves the damped system (conjugate gradients, LSMR, Schur complement)

# Losses.
LOSS_LINEAR = 0
LOSS_SOFT_L1 = 1
LOSS_HUBER = 2
LOSS_CAUCHY = 3
LOSS_ARCTAN = 4
LOSS_CALLABLE = 5

# Termination statuses (SciPy's codes, plus lsq's own negative ones).
STATUS_MAX_NFEV = 0
STATUS_GTOL = 1
STATUS_FTOL = 2
STATUS_XTOL = 3
STATUS_FTOL_XTOL = 4
STATUS_CALLBACK = -2
STATUS_NONFINITE = -3
STATUS_BAD_INPUT = -4
