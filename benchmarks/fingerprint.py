"""The fit fingerprint: a hash of the bits of many fits, to show a refactoring changed nothing it computes.

``python -m benchmarks.fingerprint [--detail]`` fits NIST StRD (27 problems x 2 starts) through
``least_squares`` with every method and damping rule, robust losses, bounds and both Jacobians, through
``curve_fit`` with built-in and ``@lsq.model`` models, and a batch; prints one hash per group (and with
``--detail`` one line per fit: parameters as hex, calls, iterations, status), then the hash of all.
"""

import argparse
import hashlib

import numpy as np

import lsq
from lsq.datasets import load_nist, nist_names

LS_VARIANTS = {
    "lm": {},
    "lm exact": {"jac": "exact", "ftol": 1e-15, "xtol": 1e-15, "gtol": 1e-15},
    "lm nielsen": {"damping": "nielsen"},
    "lm marquardt": {"damping": "marquardt"},
    "levenberg": {"method": "levenberg"},
    "gn": {"method": "gn"},
    "newton": {"method": "newton"},
    "lm secant": {"hessian": "secant"},
    "lm qr": {"linear_solver": "qr"},
    "lm cholesky": {"linear_solver": "cholesky"},
    "lm soft_l1": {"loss": "soft_l1", "f_scale": 0.1},
    "lm bounded": {"bounds": "start"},
    "lm 3-point": {"jac": "3-point"},
}


def _line(tag, x, *counts):
    x = np.atleast_1d(np.asarray(x, dtype=float))
    return f"{tag}: {' '.join(v.hex() for v in x.tolist())} | {' '.join(str(int(c)) for c in counts)}"


def least_squares_lines():
    for name in nist_names():
        p = load_nist(name)
        for start in (1, 2):
            x0 = p.start(start)
            for tag, kw in LS_VARIANTS.items():
                kw = dict(kw)
                if kw.get("jac") == "exact":
                    kw["jac"] = p.residual_jacobian
                if kw.get("bounds") == "start":  # a box around the start that the solution may touch
                    kw["bounds"] = (x0 - 10 * np.abs(x0) - 1, x0 + 10 * np.abs(x0) + 1)
                r = lsq.least_squares(p.residuals, x0, **kw)
                yield _line(f"{name} {start} {tag}", r.x, r.nfev, r.nit, r.status, r.njev)


def curve_fit_lines():
    rng = np.random.default_rng(7)
    x = np.linspace(-3, 3, 80)
    g = lsq.models.gaussian

    @lsq.model
    def decay(t, a, k, c):
        return a * np.exp(-k * t) + c

    for i in range(20):
        y = g(x, 2.0, 0.3 * i / 20, 0.7, 0.1) + 0.05 * rng.standard_normal(x.size)
        popt, pcov = lsq.curve_fit(g, x, y, p0=[1, 0, 1, 0])
        yield _line(f"gaussian {i}", np.concatenate([popt, pcov.ravel()]))
        t = np.linspace(0, 5, 60)
        yd = 3 * np.exp(-(1 + i / 10) * t) + 0.5 + 0.01 * rng.standard_normal(t.size)
        popt, pcov = lsq.curve_fit(decay, t, yd, p0=[1.0, 1.0, 0.0])
        yield _line(f"decay {i}", np.concatenate([popt, pcov.ravel()]))
        r = lsq.fit(g, x, y)
        yield _line(f"fit {i}", r.values, r.nfev)


def batch_lines():
    x = np.linspace(-3, 3, 40)
    rng = np.random.default_rng(3)
    Y = np.array([lsq.models.gaussian(x, 2.0, c, 0.7, 0.1) for c in np.linspace(-1, 1, 200)])
    Y += 0.02 * rng.standard_normal(Y.shape)
    for kernel in ("per-fit", "lanes"):
        b = lsq.curve_fit_batch(lsq.models.gaussian, x, Y, kernel=kernel)
        for i in range(Y.shape[0]):
            yield _line(f"batch {kernel} {i}", b.params[i], b.nit[i], b.status[i])


GROUPS = {"least_squares": least_squares_lines, "curve_fit": curve_fit_lines, "batch": batch_lines}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--detail", action="store_true")
    ap.add_argument("--groups", default=",".join(GROUPS))
    a = ap.parse_args(argv)
    total = hashlib.sha256()
    for group in a.groups.split(","):
        h = hashlib.sha256()
        n = 0
        for line in GROUPS[group]():
            if a.detail:
                print(line)
            h.update(line.encode())
            n += 1
        total.update(h.digest())
        print(f"{group}: {n} fits, {h.hexdigest()[:16]}")
    print(f"all: {total.hexdigest()[:16]}")


if __name__ == "__main__":
    main()
