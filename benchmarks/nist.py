"""NIST StRD: 27 problems x 2 starts, exact and default (2-point) Jacobians."""

import numpy as np

from lsq.datasets import load_nist, nist_names

from .solvers import Counted, run

EXACT_TOLS = dict(ftol=1e-15, xtol=1e-15, gtol=1e-15, max_nfev=10000)


def nist_runs(solvers, jacobian, names=None, progress=None):
    """One row per (solver, problem, start): LRE (min over parameters), calls of fun, Jacobian evaluations
    (counted calls of the exact Jacobian; the solver's ``njev`` with finite differences, 0 where it reports
    none), iterations (``nit`` where the solver reports it, else ``njev``), seconds."""
    rows = []
    for name in names or nist_names():
        p = load_nist(name)
        for start in (1, 2):
            for s in solvers:
                jac = Counted(p.residual_jacobian)
                kw = dict(EXACT_TOLS, jac=jac) if jacobian == "exact" else {}
                x, calls, sec, res = run(s, p.residuals, p.start(start), **kw)
                lre = float(p.lre(x).min()) if np.all(np.isfinite(x)) else 0.0
                njev = jac.calls if jacobian == "exact" else (getattr(res, "njev", None) or 0)
                nit = getattr(res, "nit", None)
                rows.append(dict(solver=s, problem=name, start=start, jacobian=jacobian, lre=lre, nfev=calls,
                                 njev=int(njev), nit=int(nit) if nit is not None else int(njev), seconds=sec))
            if progress is not None:
                progress.update(1)
    return rows


def fewest_calls_share(rows, solver, min_lre=4.0):
    """The Dolan-More profile of calls of fun at tau = 1: the share of runs where ``solver`` reaches
    ``min_lre`` with the fewest calls among the solvers in ``rows`` (ties count for each)."""
    runs = {}
    for r in rows:
        runs.setdefault((r["problem"], r["start"]), []).append(r)
    wins = 0
    for group in runs.values():
        ok = [r["nfev"] for r in group if r["lre"] >= min_lre]
        mine = [r for r in group if r["solver"] == solver and r["lre"] >= min_lre]
        wins += bool(mine and mine[0]["nfev"] == min(ok))
    return wins / max(len(runs), 1)


def summarise(rows):
    """Per solver: runs with LRE >= 4 and >= 6, mean LRE, total calls of fun, the share of runs with the
    fewest calls (Dolan-More at tau = 1), total seconds."""
    out = {}
    for s in dict.fromkeys(r["solver"] for r in rows):
        sel = [r for r in rows if r["solver"] == s]
        lre = np.array([r["lre"] for r in sel])
        out[s] = dict(runs=len(sel), lre4=int((lre >= 4).sum()), lre6=int((lre >= 6).sum()),
                      fewest=fewest_calls_share(rows, s),
                      mean_lre=float(lre.mean()), nfev=int(sum(r["nfev"] for r in sel)),
                      njev=int(sum(r["njev"] for r in sel)), nit=int(sum(r["nit"] for r in sel)),
                      seconds=float(sum(r["seconds"] for r in sel)))
    return out


def _lre(estimate, certified):
    """Smallest log relative error over the entries, capped at 11 digits (0 for a non-finite estimate)."""
    estimate, certified = np.asarray(estimate, dtype=float), np.asarray(certified, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.abs(estimate - certified) / np.abs(certified)
        out = -np.log10(rel)
    out = np.where(np.isfinite(out), out, np.where(rel == 0, 11.0, 0.0))
    return float(np.clip(out, 0.0, 11.0).min())


def nist_std_rows(names=None):
    """LRE of the parameters and of their standard errors, ``sqrt(diag(pcov))``, against the certified
    values, from ``lsq.curve_fit`` and SciPy's ``curve_fit`` with default settings from start 2."""
    import warnings

    from scipy.optimize import curve_fit as scipy_curve_fit

    import lsq

    rows = []
    for name in names or nist_names():
        p = load_nist(name)

        def f(x, *b, p=p):
            return p.model(x, np.array(b))

        row = {"problem": name}
        for label, curve_fit in (("lsq", lsq.curve_fit), ("scipy", scipy_curve_fit)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    popt, pcov = curve_fit(f, p.x, p.y, p0=p.start(2))
                    row[label] = (_lre(popt, p.certified), _lre(np.sqrt(np.diag(pcov)), p.certified_std))
                except (RuntimeError, ValueError):
                    row[label] = (0.0, 0.0)
        rows.append(row)
    return rows
