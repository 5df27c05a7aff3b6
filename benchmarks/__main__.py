"""Run the benchmark suite: ``python -m benchmarks [--quick | --full] [--cold] [--out DIR]``.

Prints a table and writes ``report.md`` and PNG plots to ``--out`` (default ``benchmarks/results``).
``--quick`` (the default) shows the headline figures: NIST StRD with exact and 2-point Jacobians (lsq lm beside
SciPy lm and trf), the everyday path (one small fit through every entry point) and start-up, Gpufit's batch
benchmark on 10^5 fits and the synthetic bundle adjustment. ``--full`` adds every lsq method and damping rule
(and SciPy dogbox, curve_fit, BFGS and L-BFGS-B on 0.5 ||f||^2), the damping and scaling comparisons on the
classic problems and random starts, NIST's certified standard deviations, Poisson maximum likelihood, composite
models, the synthetic curve-fitting set, the size sweep, the dense fit, "which method when", convergence plots,
the batch on 10^6 fits and the cold-start section; the docs' figures come from it. ``--cold`` adds the
cold-start section (every entry point compiled from an empty cache in a fresh process: minutes) to a quick run.
"""

import argparse
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

import numba
import numpy as np
import scipy

import lsq
from lsq._tiers.route import configure
from lsq.compile import compile_ahead
from lsq.datasets import nist_names

from .batch import batch_rows
from .classic import PROBLEMS, STARTS, classic_runs, summarise_classic
from .coldstart import cold_section, first_call_section
from .compiled import everyday_rows, startup_seconds
from .convergence import convergence_curves
from .fitting import composite_rows, poisson_rows
from .large import bundle_rows, bundle_table, dense_rows, dense_table
from .methods import method_rows, method_table
from .nist import nist_runs, nist_std_rows, summarise
from .overhead import overhead_rows
from .plots import bundle_plot, convergence_plot, lre_bars, performance_profile, size_plot, throughput_plot
from .robustness import classic_random_problems, family_problems, robustness_runs
from .sizes import size_rows
from .synthetic import synthetic_rows, synthetic_table

QUICK = ["lsq lm", "scipy lm", "scipy trf"]
FULL = ["lsq lm", "lsq lm nielsen", "lsq lm marquardt", "lsq levenberg", "lsq gn", "lsq newton", "lsq lm secant",
        "scipy lm", "scipy trf", "scipy dogbox", "scipy curve_fit", "scipy BFGS", "scipy L-BFGS-B"]
DAMPING = ["lsq lm", "lsq lm x_scale='jac'", "lsq lm nielsen", "lsq lm marquardt", "lsq levenberg",
           "lsq levenberg nielsen", "scipy lm", "scipy trf"]
"""The damping comparison (lsq lm and levenberg default to damping='trust-region')."""
SCALING = ["lsq lm", "lsq lm x_scale='jac'", "lsq levenberg", "scipy lm", "scipy trf"]
"""The scaling comparison (lsq lm defaults to x_scale='jac-restart'; levenberg scales by the identity)."""


def _say(what):
    """One line on stderr saying what the report runs next (no section is silent for long)."""
    print(f"[benchmarks] {what}", file=sys.stderr, flush=True)


def _progress(total, enabled, desc="NIST problems"):
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is optional
        return None
    return tqdm(total=total, desc=desc, disable=not enabled, file=sys.stderr)


def nist_table(summary, base="scipy trf"):
    lines = ["| solver | LRE>=4 | LRE>=6 | mean LRE | calls of fun | calls / " + base + " | fewest calls (tau=1) | "
             "Jacobians | iterations | seconds | seconds / " + base + " |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    ref = summary[base]
    for s, v in summary.items():
        lines.append(f"| {s} | {v['lre4']}/{v['runs']} | {v['lre6']}/{v['runs']} | {v['mean_lre']:.2f} | "
                     f"{v['nfev']} | {v['nfev'] / ref['nfev']:.2f} | {100 * v['fewest']:.0f} % | {v['njev']} | "
                     f"{v['nit']} | {v['seconds']:.2f} | {v['seconds'] / ref['seconds']:.2f} |")
    return "\n".join(lines) + ("\n\n(Jacobians: calls of the exact Jacobian, or the solver's own count with "
                               "finite differences, 0 where it reports none; iterations: nit, else Jacobians.)")


def overhead_table(rows, base="scipy lm"):
    ref = next(r for r in rows if r["solver"] == base)
    lines = ["| solver | median time per fit (ms) | calls of fun | us per call | time / " + base + " | cost |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['solver']} | {1e3 * r['seconds']:.3f} | {r['nfev']} | {r['us_per_call']:.1f} | "
                     f"{r['seconds'] / ref['seconds']:.2f} | {r['cost']:.6g} |")
    return "\n".join(lines)


EVERYDAY_TARGETS = {
    "SciPy least_squares(method='lm'), plain Python f": "",
    "lsq curve_fit, plain Python f": "<= 0.8",
    "lsq least_squares, plain Python f": "<= 0.4 x SciPy lm's",
    "lsq curve_fit, @lsq.model (jets, jac='auto')": "<= 0.2 (5x); <= 1.3 x the built-in's",
    "lsq curve_fit, @lsq.model (jac='2-point')": ">= 1 x the jets'",
    "lsq curve_fit, built-in lsq.models.gaussian": "<= 0.1 (10x)",
    "lsq fit, @lsq.model (jets)": "<= 1.3 x its curve_fit",
    "lsq fit, built-in gaussian": "<= 1.3 x its curve_fit",
}
EVERYDAY_BASES = {
    "lsq least_squares, plain Python f": ("SciPy least_squares(method='lm'), plain Python f", "SciPy lm"),
    "lsq curve_fit, @lsq.model (jets, jac='auto')": ("lsq curve_fit, built-in lsq.models.gaussian", "the built-in's"),
    "lsq curve_fit, @lsq.model (jac='2-point')": ("lsq curve_fit, @lsq.model (jets, jac='auto')", "the jets'"),
    "lsq fit, @lsq.model (jets)": ("lsq curve_fit, @lsq.model (jets, jac='auto')", "its curve_fit"),
    "lsq fit, built-in gaussian": ("lsq curve_fit, built-in lsq.models.gaussian", "its curve_fit"),
}
"""Rows whose target is against another row: the measured ratio is printed beside the target."""


def everyday_table(rows):
    """Time per fit relative to SciPy's curve_fit (the first row), with the targets of the everyday-path
    issue (and, for a target against another row, the measured ratio to it)."""
    ref = rows[0]
    seconds = {r["solver"]: r["seconds"] for r in rows}
    lines = ["| call | us per fit | time / SciPy curve_fit | speed-up | target (time / SciPy curve_fit) | "
             "max abs(x - x_SciPy) |", "|---|---|---|---|---|---|"]
    for r in rows:
        ratio = r["seconds"] / ref["seconds"]
        target = EVERYDAY_TARGETS.get(r["solver"], "reference" if r is ref else "")
        base = EVERYDAY_BASES.get(r["solver"])
        if base is not None and base[0] in seconds:
            target += f" (measured: {r['seconds'] / seconds[base[0]]:.2f} x {base[1]})"
        lines.append(f"| {r['solver']} | {1e6 * r['seconds']:.1f} | {ratio:.2f} | {1 / ratio:.1f}x | {target} | "
                     f"{np.max(np.abs(r['x'] - ref['x'])):.1e} |")
    return "\n".join(lines)


def nist_std_table(rows):
    """Per problem: LRE of the parameters and of the standard errors, lsq beside SciPy."""
    lines = ["| problem | lsq parameters | lsq std errors | SciPy parameters | SciPy std errors |",
             "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['problem']} | {r['lsq'][0]:.1f} | {r['lsq'][1]:.1f} | {r['scipy'][0]:.1f} | "
                     f"{r['scipy'][1]:.1f} |")
    n = len(rows)
    count = {k: sum(r[k][1] >= 4 for r in rows) for k in ("lsq", "scipy")}
    target = {k: sum(r[k][1] >= (3 if r["problem"] == "Lanczos1" else 4) for r in rows) for k in ("lsq", "scipy")}
    lines.append(f"| **std errors with LRE >= 4** | | **{count['lsq']}/{n}** | | **{count['scipy']}/{n}** |")
    lines.append(f"| **target: LRE >= 4, Lanczos1 >= 3** | | **{target['lsq']}/{n}** | | **{target['scipy']}/{n}** |")
    return "\n".join(lines)


def poisson_section(rows, direct):
    """Bias and spread of amplitude and width per estimator, the Cramer-Rao bound, throughput, and the MLE's
    agreement with a direct minimisation of the deviance."""
    lines = ["| estimator | converged | amplitude bias | amplitude spread | width bias | width spread | fits/s "
             "(1 thread) |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        if "bias" not in r:
            lines.append(f"| {r['estimator']} | | | {r['spread'][0]:.2f} % | | {r['spread'][3]:.2f} % | |")
            continue
        lines.append(f"| {r['estimator']} | {100 * r['converged']:.2f} % | {r['bias'][0]:+.2f} % | "
                     f"{r['spread'][0]:.2f} % | {r['bias'][3]:+.2f} % | {r['spread'][3]:.2f} % | "
                     f"{r['rate']:,.0f} |")
    ls_rate, mle_rate = rows[0]["rate"], rows[2]["rate"]
    return ("\n".join(lines) + f"\n\nMLE time / least-squares time: **{ls_rate / mle_rate:.2f}** (target <= 1.5). "
            f"MLE against Nelder-Mead on the deviance (first {direct['n']} spots): median relative difference "
            f"amplitude **{direct['amplitude']:.1e}**, width **{direct['width']:.1e}** (target <= 1e-3).")


def composite_table(rows, compile_seconds):
    ref = rows[1]["seconds"]
    lines = ["| call | us per fit | time / hand-written @lsq.model | max abs(x - truth) |", "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['call']} | {1e6 * r['seconds']:.1f} | {r['seconds'] / ref:.2f} | {r['error']:.1e} |")
    return ("\n".join(lines) + f"\n\nTarget: the composite within 1.2x of the hand-written model's time. Compiling "
            f"the composite's kernels in this process: {compile_seconds:.2f} s.")


def size_table(rows):
    sizes = sorted({r["m"] for r in rows})
    solvers = list(dict.fromkeys(r["solver"] for r in rows))
    t = {(r["solver"], r["m"]): r["seconds"] for r in rows}
    lines = ["| solver | " + " | ".join(f"m = {m:,}" for m in sizes) + " |", "|---|" + "---|" * len(sizes)]
    for s in solvers:
        lines.append(f"| {s} | " + " | ".join(f"{1e3 * t[s, m]:.2f} ms ({t['scipy lm', m] / t[s, m]:.1f}x)"
                                              for m in sizes) + " |")
    return "\n".join(lines) + "\n\n(x: speed-up over scipy lm at the same size)"


def batch_section(b):
    lines = [
        f"{b['k']:,} fits on the lanes kernel (8 fits across SIMD lanes), the first {b['k_per_fit']:,} on the per-fit "
        f"kernel, the first {b['k_scipy']:,} in a SciPy loop; tolerance 1e-4, at most 10 iterations; best of 3.\n",
        "| | fits per second | vs SciPy loop | median abs x0 error (first "
        f"{b['k_scipy']:,}) |",
        "|---|---|---|---|",
        f"| lsq lanes kernel, {b['threads']} threads | **{b['rate_n']:,.0f}** | {b['rate_n'] / b['rate_scipy']:.0f}x | "
        f"{b['err_lsq']:.4f} |",
        f"| lsq lanes kernel, 1 thread | {b['rate1']:,.0f} | {b['rate1'] / b['rate_scipy']:.0f}x | |",
        f"| lsq per-fit kernel, {b['threads']} threads | {b['per_n']:,.0f} | {b['per_n'] / b['rate_scipy']:.0f}x | |",
        f"| lsq per-fit kernel, 1 thread | {b['per1']:,.0f} | {b['per1'] / b['rate_scipy']:.0f}x | |",
        f"| SciPy curve_fit loop | {b['rate_scipy']:,.0f} | 1x | {b['err_scipy']:.4f} |",
        "",
        f"Lanes over per-fit: {b['rate_n'] / b['per_n']:.1f}x on {b['threads']} threads; thread scaling of the lanes "
        f"1 -> {b['threads']}: {b['rate_n'] / b['rate1']:.2f}x; converged {100 * b['converged']:.2f} %; median abs x0 "
        f"error over all {b['k']:,} fits {b['err_lsq_all']:.4f} (SciPy's on its fits {b['err_scipy']:.4f}, ratio "
        f"{b['err_lsq'] / b['err_scipy']:.3f} on the same fits). Target: 1,000,000 fits/s on 2 threads.",
        "",
        f"Fit by fit against the per-fit engine ({b['k_per_fit']:,} fits): same status on "
        f"{100 * b['same_status']:.3f} %, |dx| <= 1e-6 (1 + |x|) on {100 * b['close']:.3f} % of the fits both "
        "converged on (targets 99.9 % and all).",
        "",
        "| points per fit | lanes, fits/s | per-fit, fits/s | SciPy loop, fits/s | lanes / per-fit |",
        "|---|---|---|---|---|",
    ]
    for r in b["sweep"]:
        lines.append(f"| {r['name']} ({r['points']}) | {r['lanes']:,.0f} | {r['per_fit']:,.0f} | {r['scipy']:,.0f} | "
                     f"{r['lanes'] / r['per_fit']:.1f}x |")
    lines += ["", "![throughput](batch_throughput.png)", "",
              f"Users' own `@lsq.model` functions, no hand-written kernel: the lanes run them on jets over lanes "
              f"(exact derivatives); the per-fit kernel with jets and with `jac='2-point'`. {b['threads']} threads; "
              "target: lanes >= 3x the per-fit kernel, same status on >= 99.9 % of fits.", "",
              "| model (parameters, pixels) | lanes, fits/s | per-fit (jets), fits/s | per-fit (2-point), fits/s | "
              "lanes / per-fit | same status | |dx| <= 1e-6 (1 + |x|) |",
              "|---|---|---|---|---|---|---|"]
    for r in b["user"]:
        lines.append(f"| {r['name']} ({r['n']}, {r['points']}) | {r['lanes']:,.0f} | {r['per_fit']:,.0f} | "
                     f"{r['per_fit_fd']:,.0f} | **{r['lanes'] / max(r['per_fit'], r['per_fit_fd']):.1f}x** | "
                     f"{100 * r['same_status']:.2f} % | {100 * r['close']:.2f} % |")
    lines += ["", f"More of the lanes ({b['threads']} threads, Gpufit's tolerance and iteration cap): Poisson maximum "
              "likelihood on Gpufit's spots as photon counts (target >= 0.6x least squares on the lanes), bounded "
              "fits (target >= 0.8x), and the built-ins whose lanes kernels use `log`, `sin`/`cos` or libm's `pow`. "
              "Evaluations per fit (the algorithm's, the same on the per-fit kernel) explain most of a ratio.", "",
              "| fits | lanes, fits/s | per-fit, fits/s | lanes / per-fit | against least squares on the lanes | "
              "evaluations per fit | same status | |dx| <= 1e-6 (1 + |x|) |",
              "|---|---|---|---|---|---|---|---|"]
    for r in b["coverage"]:
        versus = (f"**{r['lanes'] / r['reference']:.2f}x** (target {r['target']}x)" if r["reference"] else "")
        same, close = r["agreement"]
        if np.isnan(same):
            lines.append(f"| {r['name']} | {r['lanes']:,.0f} | | | | {r['nfev']:.2f} | | |")
            continue
        lines.append(f"| {r['name']} | {r['lanes']:,.0f} | {r['per_fit']:,.0f} | {r['lanes'] / r['per_fit']:.1f}x | "
                     f"{versus} | {r['nfev']:.2f} | {100 * same:.2f} % | {100 * close:.2f} % |")
    return "\n".join(lines)


def damping_table(names, problems, progress=True):
    """Every damping rule on NIST (exact and 2-point) and the classic problems (2-point and exact)."""
    bar = _progress(2 * 2 * len(names) + 2 * len(problems) * len(STARTS), progress, "damping rules")  # 2 starts
    ne = summarise(nist_runs(DAMPING, "exact", names, progress=bar))
    nf = summarise(nist_runs(DAMPING, "2-point", names, progress=bar))
    c2 = summarise_classic(classic_runs(DAMPING, "2-point", progress=bar, problems=problems))
    ce = summarise_classic(classic_runs(DAMPING, "exact", progress=bar, problems=problems))
    if bar is not None:
        bar.close()
    lines = ["| solver | NIST exact: LRE>=6 | mean LRE | calls | NIST 2-point: LRE>=4 | mean LRE | classic 2-point: "
             "solved | classic exact: solved | calls on the runs all solve (exact) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for s in DAMPING:
        a, b, c, d = ne[s], nf[s], c2[s], ce[s]
        lines.append(f"| {s} | {a['lre6']}/{a['runs']} | {a['mean_lre']:.2f} | {a['nfev']} | {b['lre4']}/{b['runs']} | "
                     f"{b['mean_lre']:.2f} | {c['solved']}/{c['runs']} | {d['solved']}/{d['runs']} | "
                     f"{d['nfev_common']} ({d['common']} runs) |")
    return "\n".join(lines)


def damping_section(names, problems, no_progress):
    return ("## Damping rules: NIST and the classic problems\n\n"
            "Classic problems: Moré, Garbow & Hillstrom (1981) problems 1-35 from x0, 10 x0 and 100 x0, "
            "ftol = xtol = gtol = 1e-12; solved = within 1e-6 (relative) of the lowest known sum of squares. "
            "lsq lm and lsq levenberg run damping='trust-region' (the default).\n\n"
            + damping_table(names, problems, not no_progress))


def scaling_section(problems, no_progress):
    """The scalings on the robustness sets: curve-fitting families and classic problems from random starts."""
    families = family_problems()
    classic = classic_random_problems()
    if problems:
        families, classic = families[:problems], classic[:problems]
    bar = _progress(len(families) + len(classic), not no_progress, "scalings")
    fam = robustness_runs(SCALING, families, progress=bar)
    cla = robustness_runs(SCALING, classic, progress=bar)
    if bar is not None:
        bar.close()
    lines = ["| solver | families, naive start | families, random starts | classic, random starts |",
             "|---|---|---|---|"]
    for s in SCALING:
        def solved(rows, pick, s=s):
            sel = [r for r in rows if r["solver"] == s and pick(r)]
            return f"{sum(r['success'] for r in sel)}/{len(sel)}"
        lines.append(f"| {s} | {solved(fam, lambda r: r['start'] == 0)} | {solved(fam, lambda r: r['start'] > 0)} | "
                     f"{solved(cla, lambda r: True)} |")
    return ("## Scaling: curve-fitting families and random starts\n\n"
            "Six curve-fitting families (8 noisy instances each) from a naive start and 4 seeded random starts, "
            "and the classic problems from 4 seeded random starts; solved = within 1e-6 of the best known sum of "
            "squares (benchmarks/robustness.py). The NIST and fixed-start columns of the choice are in the damping "
            "table above (lsq lm there is the default, x_scale='jac-restart').\n\n" + "\n".join(lines))


def startup_section():
    start = startup_seconds()
    title = "## Start-up in a fresh process (warm numba cache)\n\n"
    if "error" in start:
        return f"{title}The measurement failed: {start['error']}"
    total = start["import"] + start["first_fit"]
    return (f"{title}Best of 3 fresh processes after one that warms the caches. `import lsq` "
            f"{start['import']:.2f} s, first compiled fit {start['first_fit']:.2f} s, a new @lsq.model's "
            f"first fit {start['new_model']:.2f} s with its exact Jacobian by jets (target: <= 3 s), "
            f"{start['new_model_fd']:.2f} s with jac='2-point' (target: <= 0.5 s)."
            + (f" The floor of any numba package on this machine (`import numpy, numba` and the first call "
               f"of a trivial cached function): {start['floor']:.2f} s, so import + first fit is the "
               f"floor + {total - start['floor']:.2f} s (target: the floor + 0.3 s)."
               if "floor" in start else ""))


def full_sections(args, names, out):
    """The sections only ``--full`` runs (the docs' figures)."""
    small = bool(args.problems)
    sections = [damping_section(names, PROBLEMS[: args.problems], args.no_progress),
                scaling_section(args.problems, args.no_progress),
                "## NIST certified standard deviations through curve_fit (start 2, default settings)\n\n"
                "LRE (digits) of the parameters and of `sqrt(diag(pcov))` against the certified values.\n\n"
                + nist_std_table(nist_std_rows(names))]
    prows, direct = poisson_rows(500 if small else 100_000, 20 if small else 200)
    sections.append("## Poisson maximum likelihood: low-count 2-D spots (5 x 5 pixels, amplitude 30, offset 2 "
                    f"photons, width 1; {len(prows[0]['params']):,} spots)\n\nBias and spread (standard deviation) "
                    "relative to the truth over the "
                    "converged fits, starts 10 % off the truth, and the Cramer-Rao bound of the spread.\n\n"
                    + poisson_section(prows, direct))
    sections.append("## Composite models: three gaussians on a linear background (400 points, 11 parameters)\n\n"
                    + composite_table(*composite_rows(calls=20 if small else 100)))
    sections.append("## Small fit, plain Python residuals (gaussian, 100 points, 4 parameters)\n\n"
                    + overhead_table(overhead_rows(FULL)))
    sections.append("## Synthetic curve-fitting problems (built-in models, analytic Jacobians)\n\n"
                    + synthetic_table(synthetic_rows(full=True)))
    sizes = [100, 1_000, 10_000] if small else [100, 1_000, 10_000, 100_000, 1_000_000]
    srows = size_rows(sizes)
    size_plot(srows, out / "time_vs_size.png")
    sections.append("## Time against problem size (gaussian, 4 parameters)\n\n" + size_table(srows)
                    + "\n\n![sizes](time_vs_size.png)")
    m_dense = 20_000 if small else 1_000_000
    sections.append(f"## Large dense: m x 20 fit (six Gaussian peaks and a baseline), each solver in a fresh "
                    f"process\n\n{dense_table(dense_rows(m_dense), m_dense)}")
    mrows, mcurves = method_rows(many=20_000 if small else 100_000, epochs=200 if small else 2000)
    which = ["## Which method when: zero residual, large residual, ill-conditioned, many residuals\n",
             "Exact Jacobians, default tolerances (what a user gets), times of a second run (no compilation). "
             "Digits of x against the certified values (NIST), the truth (exact data) or the lowest-cost run; "
             "digits of the cost against the lowest any solver reached. The rule of thumb drawn from it is in "
             "`docs/methods.md`.\n", method_table(mrows)]
    for k, (title, curves) in enumerate(mcurves.items()):
        convergence_plot(curves, out / f"methods_{k}.png", title, ylabel="cost - lowest cost")
        which.append(f"![{title}](methods_{k}.png)")
    sections.append("\n".join(which))
    conv = ["## Convergence\n"]
    for k, (title, curves) in enumerate(convergence_curves().items()):
        convergence_plot(curves, out / f"convergence_{k}.png", title)
        conv.append(f"![{title}](convergence_{k}.png)")
    sections.append("\n".join(conv) + "\n\nProfiles: `profile_nfev_*.png`, `profile_time_*.png` "
                    "(Dolan-More, success = LRE >= 4).")
    return sections


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="the default: the headline figures")
    mode.add_argument("--full", action="store_true", help="every section and solver variant (the docs' figures)")
    ap.add_argument("--cold", action="store_true", help="add the cold-start section (minutes) to a quick run")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"), help="output folder")
    ap.add_argument("--problems", type=int, default=None, help="only the first N NIST problems (smoke tests)")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    solvers = FULL if args.full else QUICK
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    names = nist_names()[: args.problems]
    # the report measures the compiled tier: compile every path first (in parallel, a process each; from the disk
    # cache in seconds when they are there), so that no section waits on the compiler or times it
    os.environ["LSQ_TIER"] = "compiled"  # for the processes it starts
    configure(tier="compiled")
    if not args.problems:  # the smoke test compiles in this process, as its sections need
        _say("compiling lsq's kernels (once per environment; seconds when they are in numba's disk cache)")
        compile_ahead(progress=not args.no_progress)
    lsq.least_squares(lambda x: x - 1.0, [0.0])
    lsq.least_squares(lambda x: x - 1.0, [0.0], linear_solver="cholesky")
    bar = _progress(2 * 2 * len(names), not args.no_progress)
    sections = []
    header = (f"# lsq benchmark report\n\n{datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC} · lsq {lsq.__version__} · "
              f"numpy {np.__version__} · scipy {scipy.__version__} · numba {numba.__version__} · "
              f"Python {platform.python_version()} · {platform.machine()} · {platform.processor() or ''} "
              f"· mode {'full' if args.full else 'quick'}\n\n"
              "Calls of fun are counted by one wrapper around the residual function for every solver "
              "(SciPy's own nfev leaves finite-difference calls out).")
    sections.append(header)
    for jacobian in ("exact", "2-point"):
        rows = nist_runs(solvers, jacobian, names, progress=bar)
        summary = summarise(rows)
        title = ("NIST StRD, exact Jacobian, tolerances 1e-15" if jacobian == "exact"
                 else "NIST StRD, default 2-point Jacobian and default tolerances")
        sections.append(f"## {title}\n\n{nist_table(summary)}\n\n![LRE](nist_lre_{jacobian}.png)")
        lre_bars(rows, out / f"nist_lre_{jacobian}.png", solvers)
        performance_profile(rows, out / f"profile_nfev_{jacobian}.png", solvers, "nfev")
        performance_profile(rows, out / f"profile_time_{jacobian}.png", solvers, "seconds")
    if bar is not None:
        bar.close()
    _say("the everyday path: one small fit through every entry point, beside SciPy")
    sections.append("## The everyday path: one small fit through every entry point (gaussian, 100 points, 4 "
                    "parameters, same data and start; best of 5 x 300 calls)\n\n"
                    + everyday_table(everyday_rows(calls=50 if args.problems else 300)))
    _say("start-up in fresh processes (warm cache)")
    sections.append(startup_section())
    if not args.problems:  # fresh processes compiling nothing: a minute, not in the smoke test
        _say("first calls in fresh processes with an empty cache (interpreted), and the compile yardstick")
        sections.append(first_call_section())
    small = bool(args.problems)
    k = 2_000 if small else (1_000_000 if args.full else 100_000)
    _say(f"batch: Gpufit's benchmark on {k:,} fits (lanes, per-fit kernel, a SciPy loop)")
    b = batch_rows(k, k_per_fit=2_000 if small else (100_000 if args.full else 20_000),
                   k_scipy=2_000 if args.full else (100 if small else 300),
                   k_sweep=2_000 if small else (100_000 if args.full else 20_000))
    throughput_plot(b["sweep"], out / "batch_throughput.png")
    sections.append(f"## Batch: Gpufit's 2-D Gaussian benchmark ({k:,} fits)\n\n" + batch_section(b))
    _say("large sparse: synthetic bundle adjustment, beside SciPy trf")
    ba = bundle_rows() if not small else bundle_rows(n_cameras=10, n_points=300)
    bundle_plot(ba, out / "bundle_adjustment.png")
    sections.append("## Large sparse: synthetic bundle adjustment (49 cameras, 7,776 points, 4 views each)\n\n"
                    + bundle_table(ba) + "\n\n![bundle adjustment](bundle_adjustment.png)")
    if args.full:
        sections.extend(full_sections(args, names, out))
    if (args.full or args.cold) and not small:  # minutes of compiling from nothing: not in the smoke test
        sections.append(cold_section())
    report = "\n\n".join(sections) + "\n"
    (out / "report.md").write_text(report)
    print(report)
    print(f"wrote {out / 'report.md'} and {len(list(out.glob('*.png')))} plots")
    return 0


if __name__ == "__main__":
    sys.exit(main())
