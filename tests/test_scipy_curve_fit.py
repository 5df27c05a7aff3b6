"""SciPy's own ``curve_fit`` tests (``TestCurveFit`` of the installed ``test_minpack.py``), run against lsq.

Loaded from the installed SciPy under a private name with its ``curve_fit`` replaced by
:func:`lsq.curve_fit`; nothing of SciPy's code is copied here.
"""

import pytest
from scipy_tests import load_scipy_test_module

import lsq

M = load_scipy_test_module("test_minpack.py", "_lsq_retargeted_scipy_test_minpack")
M.curve_fit = lsq.curve_fit


class TestLsqCurveFit(M.TestCurveFit):
    pass


# The reference covariance of test_gh4555b is MINPACK's, computed from the Jacobian at the iterate *before*
# the last step; lsq (like SciPy's own method='trf', which misses it by the same 1.5e-6) uses the Jacobian at
# the solution, so it differs from the reference by more than the test's rtol=2e-7.
KNOWN_GAPS = {"test_gh4555b"}


@pytest.fixture(autouse=True)
def _known_gaps(request):
    if (request.node.originalname or request.node.name) in KNOWN_GAPS:
        request.applymarker(pytest.mark.xfail(strict=True, reason="MINPACK-specific reference, see KNOWN_GAPS"))
