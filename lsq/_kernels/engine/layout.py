"""Where the engine's scalar state lives: two small arrays, ``si`` (int64) and ``sf`` (float64), read and written
by the named slots below (``sf[LAM]``, ``si[NFEV]``), as :mod:`.codes` names the options.

Plain arrays rather than a record: a compiled signature with a record carries its dtype (38 fields), an
interpreted kernel reads them as it reads any array, and Python code reads a slot as ``si[NIT]``. Flags are
int64 slots holding 0 or 1.
"""

# int64 slots: si
PHASE = 0  # what the engine expects to find when it is called again (PHASE_*)
NIT = 1  # accepted steps
NFEV = 2  # residual evaluations the engine asked for (SciPy's nfev; max_nfev bounds it)
NFD = 3  # calls of fun the driver spent on finite differences
NJEV = 4  # Jacobian evaluations
STATUS = 5  # final status (STATUS_*)
PENDING = 6  # a status decided before the final Jacobian is evaluated, or STATUS_NONE
NFREE = 7  # free variables (not held at a bound) in this linearisation
HIST_ROWS = 8  # history rows written
N_REJECT = 9  # consecutive rejected trials
SOLVE_TRIES = 10  # linear solves tried for the current trial
N_UNDONE = 11  # accepted steps undone because they wiped out a column of J
FINAL_STATUS = 12  # the status the final Gauss-Newton step stops the fit with
NEXT_RESTART = 13  # nfev from which the next linearisation restarts the scaling (0: never)
RESTARTS = 14  # restarts of the scaling so far
SOLVER = 15  # the dense solver of this fit (SOLVER_AUTO: Cholesky until a condition test fails)
TRY_GN = 16  # flag: the next trial is an undamped Gauss-Newton step
NO_GN = 17  # flag: an undamped system was singular, no more Gauss-Newton tries in this fit
FINAL_STEP = 18  # flag: the trial being evaluated is the final Gauss-Newton step
SECANT_READY = 19  # flag: a step was accepted, update the secant term with the next Jacobian
USE_S = 20  # flag: the secant term is in the model (it predicted the last step better than J^T J)
TRIAL_UNEVALUATED = 21  # flag: the final Gauss-Newton step replaces a trial not yet evaluated
N_SI = 22

# float64 slots: sf
COST = 0  # F at x
COST_NEW = 1  # F at the trial point
LAM = 2  # damping parameter (the trust-region rule's Levenberg-Marquardt parameter)
NU = 3  # Nielsen's growth factor of lam after a rejection
ALPHA = 4  # Gauss-Newton step length (backtracking)
RADIUS = 5  # trust-region radius on the scaled step |d^(1/2) p|
STEP_NORM = 6  # scaled norm of the trial step
OPTIMALITY = 7  # first-order optimality at x
ACTUAL = 8  # actual reduction of the last trial
PRED = 9  # reduction the linear model predicts for the trial step
GAIN = 10  # gain ratio actual / pred of the last trial
SLOPE = 11  # g . p, the model's directional derivative along the trial step
X_NORM = 12  # scaled norm of x
LAST_STEP = 13  # scaled norm of the last accepted step
TRIAL_LAM = 14  # lam of the current trial (0 for an undamped step)
JP_SQ = 15  # |J p|^2 of the trial step (from the engine, or the driver with a driver-side solver)
N_SF = 16
