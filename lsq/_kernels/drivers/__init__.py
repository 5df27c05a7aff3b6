"""Compiled drivers of the engine: a fit of a compiled model, the batch kernel, finite-difference
steps, first-order steps."""
