"""Validation, options, results, workspaces and numba flags: the set-up around a fit."""
