"""Large problems: a synthetic bundle adjustment (sparse, ~24k parameters) and a dense m x 20 fit.

Bundle adjustment: lsq LM with the Schur complement and with Jacobi-preconditioned CG, against SciPy trf
(``tr_solver='lsmr'``, ``jac_sparsity``, ``x_scale='jac'``); all three get the same residual function and
sparsity pattern and difference it themselves. Reported: seconds per iteration (one Jacobian), cost after
each Jacobian, and the whole solve to ``ftol=1e-4``.

Dense fit: six Gaussian peaks plus a linear baseline (20 parameters) on ``m`` points. Each solver runs in a
fresh process, which reports its wall time and its peak memory above the process's size before the
solve (data and residual function included in the baseline): lsq with the compiled model (``J^T J`` by
chunks, ``J`` never held), lsq with the same residuals as a plain Python function (``J`` held once) and
as a row function ``fun(x, idx)`` with ``minibatch=True`` (``J^T J`` by chunks), SciPy lm and trf.
"""

import json
import os
import subprocess
import sys
import time

import numpy as np
from scipy.optimize import least_squares as scipy_least_squares

import lsq
from lsq.datasets import make_bundle_adjustment

BA_SOLVERS = ("lsq lm schur", "lsq lm cg", "scipy trf lsmr")
DENSE_SOLVERS = ("lsq lm, compiled model", "lsq lm, Python residuals", "lsq lm, Python rows fun(x, idx)", "scipy lm",
                 "scipy trf")


def _ba_run(name, p, ftol):
    costs = [0.5 * float(np.sum(p.fun(p.x0) ** 2))]
    kw = dict(jac_sparsity=p.jac_sparsity, ftol=ftol)
    t = time.perf_counter()
    if name.startswith("lsq"):
        solver = name.split()[-1]
        res = lsq.least_squares(p.fun, p.x0, linear_solver=solver, schur=p.schur, **kw)
        costs = list(res.history["cost"])
    else:
        def record(intermediate_result):
            costs.append(float(intermediate_result.cost))

        res = scipy_least_squares(p.fun, p.x0, method="trf", tr_solver="lsmr", x_scale="jac", callback=record, **kw)
    seconds = time.perf_counter() - t
    return dict(solver=name, seconds=seconds, njev=int(res.njev), per_iteration=seconds / max(int(res.njev), 1),
                cost=float(res.cost), costs=costs, status=int(res.status))


def bundle_rows(n_cameras=49, n_points=7776, ftol=1e-4):
    """Run each bundle-adjustment solver once (after compiling on a small instance)."""
    small = make_bundle_adjustment(n_cameras=4, n_points=30, views=3)
    for name in BA_SOLVERS:
        _ba_run(name, small, ftol)
    p = make_bundle_adjustment(n_cameras=n_cameras, n_points=n_points)
    return dict(n=p.x0.shape[0], m=p.observed.size, truth_cost=0.5 * float(np.sum(p.fun(p.x_true) ** 2)),
                rows=[_ba_run(name, p, ftol) for name in BA_SOLVERS])


def bundle_table(b):
    ref = next(r for r in b["rows"] if r["solver"].startswith("scipy"))
    k = min(len(r["costs"]) for r in b["rows"])
    lines = [f"{b['n']:,} parameters, {b['m']:,} residuals; cost at the true parameters {b['truth_cost']:.6g}.\n",
             "| solver | seconds per iteration | speed-up per iteration | Jacobians | whole solve (s) | "
             f"final cost | cost after {k - 1} Jacobians |", "|---|---|---|---|---|---|---|"]
    for r in b["rows"]:
        lines.append(f"| {r['solver']} | {r['per_iteration']:.3f} | {ref['per_iteration'] / r['per_iteration']:.1f}x "
                     f"| {r['njev']} | {r['seconds']:.2f} | {r['cost']:.6g} | {r['costs'][k - 1]:.6g} |")
    return "\n".join(lines) + "\n\nTarget (issue 8): 4x faster per iteration than SciPy, equal or lower cost."


@lsq.model
def six_peaks(x, a0, c0, w0, a1, c1, w1, a2, c2, w2, a3, c3, w3, a4, c4, w4, a5, c5, w5, b0, b1):
    """Six Gaussian peaks on a linear baseline (20 parameters)."""
    return (a0 * np.exp(-0.5 * ((x - c0) / w0) ** 2) + a1 * np.exp(-0.5 * ((x - c1) / w1) ** 2)
            + a2 * np.exp(-0.5 * ((x - c2) / w2) ** 2) + a3 * np.exp(-0.5 * ((x - c3) / w3) ** 2)
            + a4 * np.exp(-0.5 * ((x - c4) / w4) ** 2) + a5 * np.exp(-0.5 * ((x - c5) / w5) ** 2) + b0 + b1 * x)


def dense_problem(m, seed=0):
    """Data, truth and start of the dense 20-parameter fit."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 12.0, m)
    truth = np.concatenate([np.column_stack([rng.uniform(1.0, 3.0, 6), np.linspace(1.0, 11.0, 6),
                                             rng.uniform(0.3, 0.6, 6)]).ravel(), [0.5, 0.05]])
    y = six_peaks(x, *truth) + 0.1 * rng.standard_normal(m)
    scale = np.concatenate([np.tile([0.1, 0.05, 0.03], 6), [0.05, 0.005]])  # amplitude, centre, width; baseline
    start = truth + scale * rng.standard_normal(truth.shape[0])
    return x, y, truth, start


def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def _reset_peak():
    """Reset the peak resident size (Linux >= 4.0: writing 5 to clear_refs resets VmHWM)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def dense_child(name, m):
    """Run one solver on the dense problem in this process; print a JSON line (seconds, peak memory)."""
    x, y, _, start = dense_problem(m)

    def resid(p):
        return six_peaks(x, *p) - y

    def rows(p, idx):
        return six_peaks(x[idx], *p) - y[idx]

    compiled = six_peaks.residuals(x, y)
    runs = {
        "lsq lm, compiled model": lambda: lsq.least_squares(compiled, start, jac="2-point"),
        "lsq lm, Python residuals": lambda: lsq.least_squares(resid, start),
        "lsq lm, Python rows fun(x, idx)": lambda: lsq.least_squares(rows, start, minibatch=True),
        "scipy lm": lambda: scipy_least_squares(resid, start, method="lm"),
        "scipy trf": lambda: scipy_least_squares(resid, start, method="trf"),
    }
    xs, ys, _, s0 = dense_problem(2_000)  # compile (or load from the cache) outside the measurement
    lsq.least_squares(six_peaks.residuals(xs, ys), s0, linear_solver="cholesky")
    _reset_peak()
    base = _status_kb("VmRSS")
    t = time.perf_counter()
    res = runs[name]()
    seconds = time.perf_counter() - t
    peak = _status_kb("VmHWM")
    print(json.dumps(dict(solver=name, seconds=seconds, peak_mb=max(peak - base, 0) / 1024, cost=float(res.cost),
                          nfev=int(res.nfev))))


def dense_rows(m):
    """Each dense solver in a fresh process; None for a solver whose process failed."""
    rows = []
    for name in DENSE_SOLVERS:
        code = f"from benchmarks.large import dense_child; dense_child({name!r}, {m})"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=1800,
                             cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        line = out.stdout.strip().splitlines()[-1] if out.returncode == 0 and out.stdout.strip() else None
        rows.append(json.loads(line) if line else dict(solver=name, seconds=float("nan"), peak_mb=float("nan"),
                                                       cost=float("nan"), nfev=0))
    return rows


def dense_table(rows, m):
    ref = next(r for r in rows if r["solver"] == "scipy lm")
    lines = [f"m = {m:,} points, n = 20 parameters; J alone is {8 * m * 20 / 2**20:.0f} MB.\n",
             "| solver | seconds | speed-up over scipy lm | peak memory above baseline (MB) | cost |",
             "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['solver']} | {r['seconds']:.2f} | {ref['seconds'] / r['seconds']:.1f}x | "
                     f"{r['peak_mb']:.0f} | {r['cost']:.6g} |")
    return "\n".join(lines)
