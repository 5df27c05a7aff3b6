"""lsq.plot: Dolan-More ratios and the figures (returned, never shown)."""

import numpy as np
import pytest

import lsq


def test_profile_ratios_against_the_best_solver_per_problem():
    r = lsq.plot.profile_ratios({"a": [1.0, 4.0, np.nan], "b": [2.0, 2.0, 3.0]})
    np.testing.assert_array_equal(r["a"], [1.0, 2.0, np.inf])
    np.testing.assert_array_equal(r["b"], [2.0, 1.0, 1.0])


def test_figures_are_returned_with_their_content(tmp_path):
    x = np.linspace(-2, 2, 30)
    fit = lsq.fit(lsq.models.gaussian, x, lsq.models.gaussian(x, 1, 0, 0.5, 0) + 0.01 * np.sin(7 * x))
    fig = lsq.plot.performance_profile({"a": [1.0, 2.0], "b": [2.0, 1.0]}, title="t")
    assert len(fig.axes[0].lines) == 2
    assert len(lsq.plot.residuals(fit).axes) == 2
    res = lsq.least_squares(lambda p: p - 1.0, [3.0, -2.0])
    conv = lsq.plot.convergence({"lm": res.history}, x="nfev")
    assert conv.axes[0].get_xlabel() == "function evaluations"
    for k, f in enumerate((fig, conv)):
        f.savefig(tmp_path / f"{k}.png")
        assert (tmp_path / f"{k}.png").stat().st_size > 5000


def test_plot_fit_rejects_two_dimensional_x():
    xy = np.stack([g.ravel() for g in np.meshgrid(np.arange(5.0), np.arange(5.0))])
    y = lsq.models.gaussian_2d(xy, 10, 2, 2, 1, 1)
    with pytest.raises(ValueError, match="1-D x"):
        lsq.fit(lsq.models.gaussian_2d, xy, y).plot()
