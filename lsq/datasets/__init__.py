"""Data sets shipped with lsq: the NIST StRD nonlinear regression problems.

>>> from lsq.datasets import load_nist, nist_names
>>> p = load_nist("Misra1a")
>>> p.x.shape, p.start1, p.certified
"""

from .nist import NistProblem, load_nist, nist_names

__all__ = ["NistProblem", "load_nist", "nist_names"]
