"""Which method when: every method of lsq (and SciPy's trf, BFGS, L-BFGS-B) on four kinds of problem -- zero
residual, large residual, ill-conditioned, many residuals -- with exact Jacobians and default tolerances (what a
user gets), timed after a warm-up run (no compilation or cache loading in the times), and convergence curves."""

import time

import numpy as np
from scipy.optimize import least_squares as scipy_least_squares
from scipy.optimize import minimize

import lsq
from lsq.datasets import load_nist

DAMPED = {
    "lsq gn": dict(method="gn"),
    "lsq levenberg": dict(method="levenberg"),
    "lsq lm": dict(method="lm"),
    "lsq lm nielsen": dict(method="lm", damping="nielsen"),
    "lsq lm marquardt": dict(method="lm", damping="marquardt"),
    "lsq newton": dict(method="newton"),
    "lsq lm secant": dict(method="lm", hessian="secant"),
}
FIRST = {
    "lsq adam": dict(method="adam", lr=0.02, schedule="inverse_sqrt"),
    "lsq momentum": dict(method="momentum"),
}


def _gaussian(m, noise, seed=0):
    x = np.linspace(-3, 3, m)
    truth = np.array([2.0, 0.3, 0.7, 0.1])
    y = lsq.models.gaussian(x, *truth) + noise * np.random.default_rng(seed).standard_normal(m)

    def fun(b):
        return lsq.models.gaussian(x, *b) - y

    def jac(b):
        return lsq.models.gaussian.jacobian(x, *b)

    return fun, jac, np.array([1.5, 0.0, 1.0, 0.0]), truth if noise == 0 else None


def problems(many=100_000):
    """``{title: (fun, jac, x0, reference x or None)}``: the four kinds of problem; without a reference the
    solution of the run with the lowest cost is the reference."""
    enso, bennett = load_nist("ENSO"), load_nist("Bennett5")
    return {
        "zero residual: gaussian, 100 exact points": _gaussian(100, 0.0),
        "large residual: NIST ENSO (start 1)": (enso.residuals, enso.residual_jacobian, enso.start(1),
                                                enso.certified),
        "ill-conditioned: NIST Bennett5 (start 2)": (bennett.residuals, bennett.residual_jacobian, bennett.start(2),
                                                     bennett.certified),
        f"many residuals: gaussian, {many:,} noisy points": _gaussian(many, 0.05),
    }


class _Curve:
    """Callback recording (iteration, seconds, cost) of each iterate."""

    def __init__(self, cost_of):
        self.cost_of, self.rows, self.t0 = cost_of, [], time.perf_counter()

    def __call__(self, intermediate_result):
        r = intermediate_result
        cost = float(r.fun) if np.ndim(r.fun) == 0 else float(r.cost) if "cost" in r else self.cost_of(r.x)
        self.rows.append((len(self.rows) + 1, time.perf_counter() - self.t0, cost))


def _solvers(epochs):
    out = {}
    for name, kw in DAMPED.items():
        out[name] = lambda f, j, x0, cb, kw=kw, n=None: lsq.least_squares(f, x0, jac=j, callback=cb, max_nfev=n,
                                                                          **kw)
    for name, kw in FIRST.items():
        out[name] = lambda f, j, x0, cb, kw=kw, n=None: lsq.least_squares(
            f, x0, jac=j, callback=cb, epochs=n or epochs, max_nfev=10**7, **kw)
    out["scipy trf"] = lambda f, j, x0, cb, n=None: scipy_least_squares(f, x0, jac=j, callback=cb, method="trf",
                                                                        max_nfev=n)
    for qn in ("BFGS", "L-BFGS-B"):
        def run(f, j, x0, cb, n=None, qn=qn):
            def cost(x):
                r = f(x)
                return 0.5 * float(r @ r)

            return minimize(cost, x0, jac=lambda x: j(x).T @ f(x), method=qn, callback=cb,
                            options={"maxiter": n or 15000})

        out[f"scipy {qn}"] = run
    return out


def _digits(gap):
    return 15.0 if gap <= 0 else float(np.clip(-np.log10(gap), 0, 15)) if np.isfinite(gap) else 0.0


def method_rows(many=100_000, epochs=2000):
    """Per (problem, solver): digits of the parameters against the reference, digits of the final cost against
    the best any solver reached (relative to that cost, or to the start's for a zero residual), calls of fun
    and of jac, seconds (the second of two runs), and the convergence curve."""
    rows, curves = [], {}
    for title, (fun, jac, x0, reference) in problems(many).items():
        calls = {"f": 0, "j": 0}

        def f(b, fun=fun, calls=calls):
            calls["f"] += 1
            return fun(b)

        def j(b, jac=jac, calls=calls):
            calls["j"] += 1
            return jac(b)

        def cost_of(b, fun=fun):
            r = fun(b)
            return 0.5 * float(r @ r)

        runs = {}
        for name, solve in _solvers(epochs if "many" not in title else max(20, epochs // 10)).items():
            with np.errstate(all="ignore"):
                solve(fun, jac, x0, None, n=2)  # warm-up: compilation and caches out of the times
                calls.update(f=0, j=0)
                rec = _Curve(cost_of)
                t = time.perf_counter()
                try:
                    res = solve(f, j, x0, rec)
                    x = np.asarray(res.x, dtype=float)
                except (ValueError, RuntimeError, np.linalg.LinAlgError):
                    x = np.full(x0.shape, np.nan)
                seconds = time.perf_counter() - t
            runs[name] = dict(x=x, cost=cost_of(x) if np.all(np.isfinite(x)) else np.inf, f=calls["f"],
                              j=calls["j"], seconds=seconds, curve=[(0, 0.0, cost_of(x0))] + rec.rows)
        best_run = min(runs.values(), key=lambda r: r["cost"])
        best = best_run["cost"]
        ref = best_run["x"] if reference is None else np.asarray(reference, dtype=float)
        scale = max(best, 1e-15 * cost_of(x0))
        for name, r in runs.items():
            with np.errstate(all="ignore"):
                x_gap = float(np.max(np.abs(r["x"] - ref) / np.abs(ref)))
            rows.append(dict(problem=title, solver=name, x_digits=_digits(x_gap if np.isfinite(x_gap) else np.inf),
                             digits=_digits((r["cost"] - best) / scale), f=r["f"], j=r["j"], seconds=r["seconds"]))
        curves[title] = {name: {"iteration": np.array([c[0] for c in r["curve"]]),
                                "seconds": np.array([c[1] for c in r["curve"]]),
                                "cost": np.array([c[2] for c in r["curve"]]) - best * (1 - 1e-15)}
                         for name, r in runs.items()}
    return rows, curves


def method_table(rows):
    """One table per problem."""
    out = []
    for title in dict.fromkeys(r["problem"] for r in rows):
        out.append(f"**{title}**\n\n| solver | digits of x | digits of the best cost | calls of fun | calls of jac "
                   "| ms |\n|---|---|---|---|---|---|")
        for r in (r for r in rows if r["problem"] == title):
            out.append(f"| {r['solver']} | {r['x_digits']:.1f} | {r['digits']:.1f} | {r['f']} | {r['j']} | "
                       f"{1e3 * r['seconds']:.1f} |")
        out.append("")
    return "\n".join(out)
