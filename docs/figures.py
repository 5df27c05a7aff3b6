"""Regenerate the figures of ``docs/fitting.md``: ``python docs/figures.py`` (writes ``docs/img/*.png``)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import lsq  # noqa: E402

OUT = Path(__file__).parent / "img"


def composite_figure():
    """A doublet on a sloping background: the composite fit, its parts, and a tie between the peaks."""
    g = lsq.models.gaussian
    model = g(prefix="p1_") + g(prefix="p2_") + g(prefix="p3_") + lsq.models.linear()
    x = np.linspace(0, 20, 400)
    truth = [5.0, 4.0, 0.8, 3.0, 9.0, 1.2, 4.0, 14.5, 0.6, 0.05, 1.0]
    y = model(x, *truth) + np.random.default_rng(0).normal(0, 0.05, x.size)
    r = lsq.fit(model, x, y)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(x, y, ".", ms=2, color="0.5", label="data")
    ax.plot(x, r.predict(x), color="C3", label="fit")
    for name, part in model.parts(x, *r.values).items():
        ax.plot(x, part, lw=0.8, ls="--", label=name)
    ax.set_xlabel("x")
    ax.legend(frameon=False, fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(OUT / "composite.png", dpi=110)


def profile_figure():
    x = np.linspace(0, 5, 25)
    y = lsq.models.exponential(x, 3.0, 1.2, 0.4) + np.random.default_rng(1).normal(0, 0.08, x.size)
    r = lsq.fit(lsq.models.exponential, x, y)
    fig = r.profile("decay", n_points=31).plot()
    fig.tight_layout()
    fig.savefig(OUT / "profile.png", dpi=110)


def poisson_figure():
    """Amplitude estimates of 4000 dim spots: least squares against Poisson maximum likelihood."""
    from benchmarks.fitting import PIXELS, poisson_data

    truth, Y, p0 = poisson_data(4000)
    ls = lsq.curve_fit_batch(lsq.models.gaussian_2d, PIXELS, Y, p0=p0)
    mle = lsq.curve_fit_batch(lsq.models.gaussian_2d, PIXELS, Y, p0=p0, estimator="poisson")
    fig, axes = plt.subplots(1, 2, figsize=(7, 3))
    for ax, j, label in ((axes[0], 0, "amplitude"), (axes[1], 3, "width")):
        bins = np.linspace(0.5, 1.6, 60)
        for r, name, color in ((ls, "least squares", "C0"), (mle, "Poisson MLE", "C3")):
            rel = r.params[r.success, j] / truth[r.success, j]
            ax.hist(rel, bins=bins, histtype="step", color=color,
                    label=f"{name}: bias {100 * (rel.mean() - 1):+.1f} %, sd {100 * rel.std():.1f} %")
        ax.axvline(1.0, color="k", lw=0.8)
        ax.set_xlabel(f"{label} / truth")
        ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    fig.savefig(OUT / "poisson.png", dpi=110)


def learning_figures():
    """Adam on a degree-12 polynomial (overfits 15 points), and a validation curve over the degree."""
    from lsq.plot import learning_curves, validation_curve

    rng = np.random.default_rng(0)
    x = np.sort(rng.uniform(-1, 1, 15))
    xv = np.linspace(-1, 1, 200)
    y = np.sin(2.5 * x) + 0.2 * rng.standard_normal(x.size)
    yv = np.sin(2.5 * xv) + 0.2 * rng.standard_normal(xv.size)
    r = lsq.fit(lsq.models.polynomial(12), x, y, p0=np.zeros(13), method="adam", epochs=3000, lr=0.05, ftol=None,
                gtol=None, max_nfev=10**6, history=3000, validation_data=(xv, yv))
    learning_curves(r, smoothing=0.9).savefig(OUT / "learning_curves.png", dpi=110)
    search = lsq.selection.grid_search(None, x, y, {"model": [lsq.models.polynomial(d) for d in range(1, 10)]}, k=5,
                                       seed=0)
    validation_curve(search, "model").savefig(OUT / "validation_curve.png", dpi=110)


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    composite_figure()
    profile_figure()
    poisson_figure()
    learning_figures()
