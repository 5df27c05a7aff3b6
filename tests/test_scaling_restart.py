"""The default scaling of lm: Moré's running maximum, restarted after MINPACK's budget without convergence."""

import numpy as np
import pytest

import lsq


def chebyquad(x):
    """Moré, Garbow & Hillstrom problem 35 (n = m = 8); lowest sum of squares 3.51687372e-3."""
    y = 2 * x - 1
    t_prev, t = np.ones_like(x), y
    r = []
    for i in range(1, x.shape[0] + 1):
        integral = -1 / (i * i - 1) if i % 2 == 0 else 0.0
        r.append(np.mean(t) - integral)
        t_prev, t = t, 2 * y * t - t_prev
    return np.array(r)


F_STAR = 3.51687372e-3
X0_FAR = 10 * np.arange(1, 9) / 9  # MGH's start, ten times farther out
TOLS = dict(ftol=1e-12, xtol=1e-12, gtol=1e-12)


def test_default_restarts_the_scaling_and_solves_a_far_start():
    res = lsq.least_squares(chebyquad, X0_FAR, max_nfev=20000, **TOLS)
    assert res.success
    assert res.restarts >= 1
    assert 2 * res.cost == pytest.approx(F_STAR, rel=1e-6)


def test_more_scaling_alone_crawls_from_the_far_start():
    # the scales of the far start (column norms up to 1e10 times those at the solution) hold the steps back
    res = lsq.least_squares(chebyquad, X0_FAR, x_scale="jac", max_nfev=3000, **TOLS)
    assert res.restarts == 0
    assert res.status == 0 and 2 * res.cost > 1e3 * F_STAR


def test_no_restart_within_the_budget_gives_the_same_fit_as_more_scaling():
    t = np.linspace(0, 5, 30)
    y = 2.0 * np.exp(-0.7 * t) + 0.3

    def f(p):
        return p[0] * np.exp(-p[1] * t) + p[2] - y

    a = lsq.least_squares(f, [1.0, 0.5, 0.0])
    b = lsq.least_squares(f, [1.0, 0.5, 0.0], x_scale="jac")
    assert a.restarts == 0 and a.nfev < 100 * 4
    np.testing.assert_array_equal(a.x, b.x)
    assert a.nfev == b.nfev


def test_x_scale_names_are_checked():
    with pytest.raises(ValueError, match="`x_scale` must be 'jac', 'jac-restart'"):
        lsq.least_squares(chebyquad, X0_FAR, x_scale="restart")
