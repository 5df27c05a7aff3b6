"""Benchmark figures (matplotlib, Agg backend, written to PNG files)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from lsq import plot as lsq_plot  # noqa: E402


def _save(fig, ax, path):
    """Legend, layout, PNG, and release the figure."""
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def lre_bars(rows, path, solvers):
    """LRE per NIST problem and start, one bar per solver."""
    keys = list(dict.fromkeys((r["problem"], r["start"]) for r in rows))
    fig, ax = plt.subplots(figsize=(14, 4.5))
    width = 0.8 / len(solvers)
    for k, s in enumerate(solvers):
        vals = {(r["problem"], r["start"]): r["lre"] for r in rows if r["solver"] == s}
        ax.bar(np.arange(len(keys)) + k * width, [vals[q] for q in keys], width, label=s)
    ax.set_xticks(np.arange(len(keys)) + 0.4, [f"{p}-{s}" for p, s in keys], rotation=90, fontsize=7)
    ax.axhline(4, color="k", lw=0.8, ls="--")
    ax.set_ylabel("LRE (min over parameters)")
    ax.set_title(f"NIST StRD, {rows[0]['jacobian']} Jacobian")
    _save(fig, ax, path)


def performance_profile(rows, path, solvers, metric="nfev"):
    """Dolan-More profile (success = LRE >= 4) drawn by :func:`lsq.plot.performance_profile`."""
    keys = list(dict.fromkeys((r["problem"], r["start"]) for r in rows))
    costs = {s: np.full(len(keys), np.inf) for s in solvers}
    for r in rows:
        if r["solver"] in costs and r["lre"] >= 4:
            costs[r["solver"]][keys.index((r["problem"], r["start"]))] = r[metric]
    fig = lsq_plot.performance_profile(costs, xlabel=f"tau (within tau x best {metric})",
                                       title=f"Performance profile ({metric}, {rows[0]['jacobian']} Jacobian)")
    fig.savefig(path, dpi=110)


def convergence_plot(curves, path, title, ylabel="cost"):
    """Cost against iteration (left) and against seconds (right), one line per solver."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name, c in curves.items():
        cost = np.maximum(c["cost"], np.finfo(float).tiny)
        axes[0].semilogy(c["iteration"], cost, marker=".", ms=3, label=name)
        axes[1].loglog(np.maximum(c["seconds"], 1e-6), cost, marker=".", ms=3, label=name)
    axes[0].set_xlabel("iteration")
    axes[1].set_xlabel("seconds")
    for ax in axes:
        ax.set_ylabel(ylabel)
    axes[0].set_title(title)
    _save(fig, axes[1], path)


def size_plot(rows, path):
    """Seconds per fit against the number of residuals, one line per solver (log-log)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for solver in dict.fromkeys(r["solver"] for r in rows):
        pts = [(r["m"], r["seconds"]) for r in rows if r["solver"] == solver]
        ax.loglog(*zip(*pts, strict=True), "o-", label=solver)
    ax.set_xlabel("residuals m")
    ax.set_ylabel("seconds per fit")
    ax.set_title("gaussian fit, 4 parameters")
    _save(fig, ax, path)


def throughput_plot(sweep, path):
    """Fits per second against points per fit: lanes kernel, per-fit kernel and a SciPy loop (2-D spots as
    lines, 1-D peaks as open markers)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    spots = [r for r in sweep if r["name"].startswith("2-D")]
    peaks = [r for r in sweep if not r["name"].startswith("2-D")]
    series = (("lanes", "lsq lanes kernel", "o"), ("per_fit", "lsq per-fit kernel", "s"),
              ("scipy", "SciPy curve_fit loop", "^"))
    for k, (key, label, marker) in enumerate(series):
        ax.loglog([r["points"] for r in spots], [r[key] for r in spots], marker + "-", color=f"C{k}",
                  label=label + " (2-D spots)")
        ax.loglog([r["points"] for r in peaks], [r[key] for r in peaks], marker, color=f"C{k}", mfc="none", ms=9)
    for r in sweep:
        ax.annotate(r["name"], (r["points"], r["lanes"]), textcoords="offset points", xytext=(4, 6), fontsize=7)
    ax.axhline(1e6, color="0.5", ls=":", label="target 1 M fits/s (5x5)")
    ax.set_xlabel("points per fit")
    ax.set_ylabel("fits per second")
    ax.set_title("Batch throughput: 2-D Gaussian spots and 1-D peaks")
    _save(fig, ax, path)


def bundle_plot(b, path):
    """Bundle adjustment: cost after each Jacobian (left) and seconds per iteration (right), per solver."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for r in b["rows"]:
        axes[0].semilogy(np.arange(len(r["costs"])), r["costs"], "o-", ms=3, label=r["solver"])
    axes[0].axhline(b["truth_cost"], color="grey", ls=":", label="cost at the truth")
    axes[0].set_xlabel("Jacobian evaluations")
    axes[0].set_ylabel("cost")
    axes[0].set_title(f"bundle adjustment, n = {b['n']:,}")
    names = [r["solver"] for r in b["rows"]]
    axes[1].bar(names, [r["per_iteration"] for r in b["rows"]], color=["C0", "C1", "C2"][: len(names)])
    axes[1].set_ylabel("seconds per iteration")
    axes[1].tick_params(axis="x", labelsize=8)
    _save(fig, axes[0], path)
