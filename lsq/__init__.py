"""lsq: nonlinear least squares -- Gauss-Newton, Levenberg and Levenberg-Marquardt in one engine.

Nothing is compiled at import; kernels compile (or load from the on-disk cache) on first use.
"""

from .api import least_squares

__all__ = ["least_squares"]
__version__ = "0.1.0"
