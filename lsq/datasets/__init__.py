"""Data sets shipped with lsq: the NIST StRD nonlinear regression problems, and a synthetic
bundle-adjustment generator (:func:`make_bundle_adjustment`).

>>> from lsq.datasets import load_nist, nist_names
>>> p = load_nist("Misra1a")
>>> p.x.shape, p.start1, p.certified
"""

from .bundle import BundleProblem, make_bundle_adjustment
from .nist import NistProblem, load_nist, nist_names

__all__ = ["BundleProblem", "NistProblem", "load_nist", "make_bundle_adjustment", "nist_names"]
