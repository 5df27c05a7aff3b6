"""The damped-step engine (numba): the loop, its state, the descent, damping rules, stopping
tests, safeguards, linear algebra and losses. One algorithm source for every path."""
