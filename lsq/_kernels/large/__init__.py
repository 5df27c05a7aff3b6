"""Compiled kernels of the large-problem solvers: Schur complements and column colouring."""
