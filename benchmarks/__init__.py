"""lsq benchmark suite: lsq against scipy.optimize.least_squares in the same run (``python -m benchmarks``)."""
