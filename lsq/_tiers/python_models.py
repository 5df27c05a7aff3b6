"""A user's ``@lsq.model`` as interpreted kernels of the compiled signatures ``model(X, p, out)`` and
``jac(X, p, out)``: the function called from Python, as the compiled wrappers call its compiled version."""

import warnings

import numpy as np

from .dual import NotDifferentiable, jacobian_rows, seeds

__all__ = ["python_kernels_of"]


def python_kernels_of(func, user_jac, auto, x_dims):
    """``(values, jac or None, has_jac)`` for ``func(x, *p)``: ``user_jac(x, *p) -> (m, n)`` when given, else
    (``auto``) exact derivatives by dual numbers, else none (the engine takes differences)."""

    def point_argument(X):
        return X[0] if x_dims == 1 else X

    def values(X, p, out):
        r = np.asarray(func(point_argument(X), *[float(v) for v in p]), dtype=float)
        if r.ndim == 0:
            r = np.broadcast_to(r, out.shape)
        # a result of the wrong length gives NaN, as the compiled wrapper does (a clear error from the fit)
        out[:] = r if r.shape == out.shape else np.nan

    if user_jac is not None:
        def analytic(X, p, out):
            r = np.asarray(user_jac(point_argument(X), *[float(v) for v in p]), dtype=float)
            out[:] = r.T if r.shape == out.shape[::-1] else np.nan

        return values, analytic, True
    if not auto:
        return values, None, False
    state = {"dual": True}

    def exact(X, p, out):
        if state["dual"]:
            try:
                with np.errstate(all="ignore"):
                    out[:] = jacobian_rows(func(point_argument(X), *seeds(p)), out.shape[0], out.shape[1])
                return
            except NotDifferentiable as exc:
                state["dual"] = False
                from ..model import JetFallbackWarning

                warnings.warn(f"model `{getattr(func, '__name__', 'model')}`: the interpreted Jacobian cannot "
                              f"carry dual numbers through {exc}; it is taken by central differences until the "
                              "compiled kernels are ready.", JetFallbackWarning, stacklevel=2)
        _central_differences(values, X, p, out)

    return values, exact, True


def _central_differences(values, X, p, out):
    """``out[j] = d model / d p_j`` by central differences (step ``eps**(1/3) max(1, |p_j|)``)."""
    p = np.array(p, dtype=float)
    hi, lo = np.empty(out.shape[1]), np.empty(out.shape[1])
    for j in range(p.shape[0]):
        h = np.cbrt(np.finfo(float).eps) * max(1.0, abs(p[j]))
        q = p.copy()
        q[j] = p[j] + h
        values(X, q, hi)
        q[j] = p[j] - h
        values(X, q, lo)
        out[j] = (hi - lo) / (2.0 * h)
