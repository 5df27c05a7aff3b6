"""Exact derivatives of a user's model in the interpreted tier: forward-mode dual numbers on NumPy arrays.

The compiled tier differentiates ``@lsq.model`` functions with jets (:mod:`lsq._kernels.jets`); interpreted, the
same function runs on :class:`Dual` parameters, so both tiers give the derivative to rounding. A dual holds a
value ``v`` (a scalar or an array) and its derivatives ``d`` with respect to every parameter, shape
``(n,) + v.shape``. NumPy's ufuncs reach it through ``__array_ufunc__``, ``np.where`` and ``np.sum`` through
``__array_function__``; anything else (``math.erf`` on a parameter, a reduction other than ``sum``) raises
:class:`NotDifferentiable`, and the model then falls back to differences, as a compiled model does when jets
cannot type it.
"""

import math

import numpy as np

__all__ = ["Dual", "NotDifferentiable", "seeds", "jacobian_rows"]


class NotDifferentiable(TypeError):
    """An operation the dual numbers do not carry derivatives through."""


def _unary_rules():
    rules = {
        np.exp: np.exp,
        np.log: lambda v: 1.0 / v,
        np.log10: lambda v: 1.0 / (v * math.log(10.0)),
        np.log2: lambda v: 1.0 / (v * math.log(2.0)),
        np.sqrt: lambda v: 0.5 / np.sqrt(v),
        np.sin: np.cos,
        np.cos: lambda v: -np.sin(v),
        np.tan: lambda v: 1.0 + np.tan(v) ** 2,
        np.arctan: lambda v: 1.0 / (1.0 + v * v),
        np.arcsin: lambda v: 1.0 / np.sqrt(1.0 - v * v),
        np.arccos: lambda v: -1.0 / np.sqrt(1.0 - v * v),
        np.tanh: lambda v: 1.0 - np.tanh(v) ** 2,
        np.sinh: np.cosh,
        np.cosh: np.sinh,
        np.expm1: np.exp,
        np.log1p: lambda v: 1.0 / (1.0 + v),
        np.absolute: np.sign,
        np.fabs: np.sign,
        np.square: lambda v: 2.0 * v,
        np.negative: lambda v: -np.ones_like(v),
        np.positive: np.ones_like,
        np.reciprocal: lambda v: -1.0 / (v * v),
        np.cbrt: lambda v: 1.0 / (3.0 * np.cbrt(v) ** 2),
    }
    try:
        from scipy import special

        rules[special.erf] = lambda v: (2.0 / math.sqrt(math.pi)) * np.exp(-v * v)
    except ImportError:  # pragma: no cover - scipy is a core dependency
        pass
    return rules


_UNARY = _unary_rules()
_COMPARISONS = {np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal, np.isfinite,
                np.isnan, np.isinf, np.sign, np.floor, np.ceil, np.signbit}


def _parts(a):
    """Value and derivatives of a dual, or of a constant (None: no derivatives)."""
    if isinstance(a, Dual):
        return a.v, a.d
    v = np.asarray(a, dtype=float) if not isinstance(a, float | int) else float(a)
    return v, None


_ZERO = 0.0
"""The derivatives of a constant (one object, so that a rule can tell a constant from a dual by identity)."""


def _aligned(d, v, shape):
    """Derivatives ``d`` of a value of shape ``v.shape`` broadcast against values of ``shape``."""
    if d is None:
        return _ZERO
    extra = len(shape) - np.ndim(v)
    return d.reshape((d.shape[0],) + (1,) * extra + np.shape(v))


class Dual:
    """A value and its derivatives with respect to every parameter (see the module)."""

    __array_priority__ = 1000

    def __init__(self, v, d):
        self.v, self.d = v, d

    @property
    def shape(self):
        return np.shape(self.v)

    @property
    def ndim(self):
        return np.ndim(self.v)

    def __len__(self):
        return len(self.v)

    def __getitem__(self, key):
        return Dual(np.asarray(self.v)[key], self.d[(slice(None),) + (key if isinstance(key, tuple) else (key,))])

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs.get("out") is not None:
            raise NotDifferentiable(f"{ufunc.__name__}.{method} on a model parameter")
        values = [_parts(a)[0] for a in inputs]
        if ufunc in _COMPARISONS:
            return ufunc(*values, **kwargs)
        if len(inputs) == 1 and ufunc in _UNARY:
            v, d = values[0], inputs[0].d
            out = ufunc(v)
            return Dual(out, d * _UNARY[ufunc](v))
        if len(inputs) == 2:
            return _binary(ufunc, inputs[0], inputs[1])
        raise NotDifferentiable(f"numpy.{ufunc.__name__} on a model parameter")

    def __array_function__(self, func, types_, args, kwargs):
        if func is np.where:
            cond, a, b = args
            va, da = _parts(a)
            vb, db = _parts(b)
            v = np.where(cond, va, vb)
            shape = np.shape(v)
            da, db = _aligned(da, va, shape), _aligned(db, vb, shape)
            n = (a if isinstance(a, Dual) else b).d.shape[0]
            return Dual(v, np.broadcast_to(np.where(cond, da, db), (n,) + shape))
        if func is np.sum and len(args) == 1 and not kwargs:
            a = args[0]
            return Dual(np.sum(a.v), a.d.reshape(a.d.shape[0], -1).sum(axis=1))
        if func in (np.shape, np.ndim):
            return func(args[0].v)
        raise NotDifferentiable(f"numpy.{func.__name__} on a model parameter")

    def __float__(self):
        raise NotDifferentiable("float() of a model parameter (math functions take floats: use numpy's)")

    def __bool__(self):
        raise NotDifferentiable("a branch on a model parameter")


def _binary(ufunc, a, b):
    va, da = _parts(a)
    vb, db = _parts(b)
    v = ufunc(va, vb)
    shape = np.shape(v)
    da, db = _aligned(da, va, shape), _aligned(db, vb, shape)
    if ufunc is np.add:
        d = da + db
    elif ufunc is np.subtract:
        d = da - db
    elif ufunc is np.multiply:
        d = da * vb + va * db
    elif ufunc in (np.true_divide, np.divide):
        d = (da - v * db) / vb
    elif ufunc is np.power:
        with np.errstate(divide="ignore", invalid="ignore"):
            d = 0.0
            if da is not _ZERO:
                d = d + vb * np.power(va, vb - 1.0) * da
            if db is not _ZERO:  # d(a**b)/db = a**b log a, taken as 0 where a**b is 0 (as the jets do)
                d = d + np.where(v == 0.0, 0.0, v * np.log(np.where(va > 0, va, 1.0))) * db
    elif ufunc in (np.maximum, np.minimum, np.fmax, np.fmin):
        first = (va >= vb) if ufunc in (np.maximum, np.fmax) else (va <= vb)
        d = np.where(first, da, db)
    else:
        raise NotDifferentiable(f"numpy.{ufunc.__name__} on a model parameter")
    n = (a if isinstance(a, Dual) else b).d.shape[0]
    return Dual(v, np.broadcast_to(d, (n,) + shape))


for _name, _ufunc, _reflected in [("add", np.add, False), ("sub", np.subtract, False),
                                  ("mul", np.multiply, False), ("truediv", np.true_divide, False),
                                  ("pow", np.power, False)]:
    setattr(Dual, f"__{_name}__", lambda a, b, u=_ufunc: u(a, b))
    setattr(Dual, f"__r{_name}__", lambda a, b, u=_ufunc: u(b, a))
for _name, _ufunc in [("neg", np.negative), ("pos", np.positive), ("abs", np.absolute)]:
    setattr(Dual, f"__{_name}__", lambda a, u=_ufunc: u(a))
for _name, _ufunc in [("lt", np.less), ("le", np.less_equal), ("gt", np.greater), ("ge", np.greater_equal)]:
    setattr(Dual, f"__{_name}__", lambda a, b, u=_ufunc: u(a, b))


def seeds(p):
    """The parameters ``p`` as duals, parameter ``j`` with derivative row ``e_j``."""
    n = len(p)
    eye = np.eye(n)
    return [Dual(float(p[j]), eye[j].copy()) for j in range(n)]


def jacobian_rows(result, n, m):
    """``d result / d p`` as ``(n, m)`` rows from a model's result (a dual, or a constant: zeros)."""
    if not isinstance(result, Dual):
        return np.zeros((n, m))
    d = result.d
    return np.broadcast_to(d.reshape(n, -1) if d.ndim > 1 else d[:, None], (n, m))
