"""lsq: nonlinear least squares -- Gauss-Newton, Levenberg and Levenberg-Marquardt in one engine.

Nothing is compiled at import; kernels compile (or load from the on-disk cache) on first use.
"""

from . import models
from .api import least_squares
from .batch import BatchResult, curve_fit_batch
from .model import Model, model

__all__ = ["least_squares", "model", "Model", "models", "curve_fit_batch", "BatchResult"]
__version__ = "0.1.0"
