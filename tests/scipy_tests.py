"""Load one of the installed SciPy's test modules under a private name, to retarget it at lsq."""

import importlib.util
import sys
from pathlib import Path

import pytest
import scipy


def load_scipy_test_module(filename, private_name):
    """Import ``scipy/optimize/tests/<filename>`` as ``private_name`` (skip the calling module if absent).

    The module is registered in ``sys.modules`` so that process pools can pickle its functions.
    """
    path = Path(scipy.__file__).parent / "optimize" / "tests" / filename
    if not path.exists():  # pragma: no cover - a SciPy install without its tests
        pytest.skip(f"SciPy's tests are not installed ({path})", allow_module_level=True)
    spec = importlib.util.spec_from_file_location(private_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[private_name] = module
    spec.loader.exec_module(module)
    return module
