"""Compiled kernels: the single source of the algorithm (see :mod:`lsq._kernels.engine`)."""
