# ruff: noqa
# The team's compile yardstick, copied unchanged (the benchmark's cold-start units are multiples of its time).
"""The compile yardstick: a fixed numba workload whose cold time (import numba, compile, run once, in a fresh
process with an empty cache) measures how fast a machine compiles numba code. Cold-start figures of lsq are
stated in multiples of it, so they compare across machines.

It is a small damped Gauss-Newton fit of a gaussian: four functions, plain array arguments, about 100 lines.
usage: python ref_compile.py   (prints seconds; run it three times and take the median)
"""
import time, sys, os, tempfile

def main():
    os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="refc_")
    t0 = time.perf_counter()
    import numpy as np
    from numba import njit

    @njit(cache=False)
    def model(x, p, out):
        for i in range(x.size):
            z = (x[i] - p[1]) / p[2]
            out[i] = p[0] * np.exp(-0.5 * z * z) + p[3]

    @njit(cache=False)
    def jac(x, p, J):
        for i in range(x.size):
            z = (x[i] - p[1]) / p[2]
            e = np.exp(-0.5 * z * z)
            J[i, 0] = e
            J[i, 1] = p[0] * e * z / p[2]
            J[i, 2] = p[0] * e * z * z / p[2]
            J[i, 3] = 1.0

    @njit(cache=False)
    def chol_solve(A, b):
        n = b.size
        L = np.zeros((n, n))
        for j in range(n):
            s = A[j, j]
            for k in range(j):
                s -= L[j, k] * L[j, k]
            if s <= 0.0:
                return False
            L[j, j] = np.sqrt(s)
            for i in range(j + 1, n):
                t = A[i, j]
                for k in range(j):
                    t -= L[i, k] * L[j, k]
                L[i, j] = t / L[j, j]
        for i in range(n):
            t = b[i]
            for k in range(i):
                t -= L[i, k] * b[k]
            b[i] = t / L[i, i]
        for i in range(n - 1, -1, -1):
            t = b[i]
            for k in range(i + 1, n):
                t -= L[k, i] * b[k]
            b[i] = t / L[i, i]
        return True

    @njit(cache=False)
    def fit(x, y, p):
        m, n = x.size, p.size
        r = np.empty(m); rn = np.empty(m); J = np.empty((m, n)); pn = np.empty(n)
        lam = 1e-3
        model(x, p, r); r -= y
        cost = 0.5 * (r @ r)
        for it in range(100):
            jac(x, p, J)
            A = J.T @ J; g = J.T @ r
            while True:
                B = A.copy()
                for j in range(n):
                    B[j, j] += lam * A[j, j]
                d = -g.copy()
                if chol_solve(B, d):
                    pn[:] = p + d
                    model(x, pn, rn); rn -= y
                    c = 0.5 * (rn @ rn)
                    if c < cost:
                        p[:] = pn; r[:] = rn
                        done = cost - c < 1e-12 * cost
                        cost = c; lam = max(lam / 3, 1e-12)
                        break
                lam *= 2.0
                if lam > 1e12:
                    return p, cost
            if done:
                break
        return p, cost

    x = np.linspace(-3, 3, 80); y = 2 * np.exp(-0.5 * ((x - 0.3) / 0.7) ** 2) + 0.1
    fit(x, y, np.array([1.0, 0.0, 1.0, 0.0]))
    return time.perf_counter() - t0

if __name__ == "__main__":
    print(f"{main():.2f}")
