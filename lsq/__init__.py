"""lsq: nonlinear least squares -- Gauss-Newton, Levenberg and Levenberg-Marquardt in one engine.

Nothing is compiled at import; kernels compile (or load from the on-disk cache) on first use.
"""

from . import models, plot, schedules
from .api import least_squares
from .batch import BatchResult, curve_fit_batch
from .curve_fit import curve_fit
from .fit import fit
from .fit_result import FitResult
from .model import JetFallbackWarning, Model, model
from .selection import (
    SearchResult,
    cross_validate,
    grid_search,
    kfold,
    random_search,
    train_test_split,
    train_val_test_split,
)

__all__ = ["least_squares", "model", "Model", "JetFallbackWarning", "models", "curve_fit_batch", "BatchResult",
           "curve_fit", "fit", "FitResult", "schedules", "train_test_split", "train_val_test_split", "kfold",
           "cross_validate", "grid_search", "random_search", "SearchResult", "plot"]
__version__ = "0.1.0"
