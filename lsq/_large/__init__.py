"""Large problems: the driver-side Jacobian, row-chunked normal equations and the CG, LSMR and
Schur-complement solvers."""
