"""Parameter ties: some parameters of a model given as expressions of the others, applied in compiled code.

``lsq.fit(model, x, y, tie={"p2_sigma": "p1_sigma", "p2_center": "p1_center + 1.5"})`` fits the parameters
that are not tied. :func:`tie_model` makes the model of those free parameters: its compiled kernels expand
them into the full parameter vector (the expressions, compiled) and call the original model; its Jacobian is
the original's times ``d full / d free``, from the expressions' derivatives (differentiated symbolically
here, so exact). The covariance of the full vector is ``D C D^T`` with ``D = d full / d free`` at the
solution, which gives tied parameters their derived standard errors.

Expressions use the parameter names, numbers, ``+ - * / **`` and the functions in :data:`FUNCTIONS`. A tie
may refer to another tied parameter (the chain is resolved); a circular tie, a tie of an unknown parameter
or an expression with an unknown name is a ValueError naming it.
"""

import ast
import linecache
import math

import numpy as np
from numba import njit

from . import _generated
from ._kernels.drivers.compiled import JAC_SIG, MODEL_SIG, jacobian_at, model_at
from ._tiers.twin import at_address, register_address
from .model import Model, _compile_wrapper, generated_function

__all__ = ["FUNCTIONS", "TiedModel", "tie_model"]

FUNCTIONS = {
    "exp": ("exp({u})", "exp({u})"),
    "log": ("log({u})", "1.0 / ({u})"),
    "sqrt": ("sqrt({u})", "0.5 / sqrt({u})"),
    "sin": ("sin({u})", "cos({u})"),
    "cos": ("cos({u})", "-sin({u})"),
    "tan": ("tan({u})", "1.0 / cos({u}) ** 2"),
    "arctan": ("atan({u})", "1.0 / (1.0 + ({u}) ** 2)"),
}
"""Functions an expression may call: name -> (source of f(u), source of f'(u))."""


class _Expr:
    """Source of an expression over the free parameters ``q[j]``, and of its derivative in one ``q[j]``."""

    @staticmethod
    def source(node, env):
        """Source of ``node`` with each name replaced by its source in ``env``."""
        if isinstance(node, ast.Constant):
            return repr(float(node.value))
        if isinstance(node, ast.Name):
            return env[node.id]
        if isinstance(node, ast.UnaryOp):
            return f"({'-' if isinstance(node.op, ast.USub) else '+'}{_Expr.source(node.operand, env)})"
        if isinstance(node, ast.BinOp):
            op = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}[type(node.op)]
            return f"({_Expr.source(node.left, env)} {op} {_Expr.source(node.right, env)})"
        return FUNCTIONS[node.func.id][0].format(u=_Expr.source(node.args[0], env))

    @staticmethod
    def derivative(node, env, denv):
        """Source of the derivative of ``node`` given each name's source (``env``) and derivative source
        (``denv``, None for zero); None when it is zero."""
        if isinstance(node, ast.Constant):
            return None
        if isinstance(node, ast.Name):
            return denv[node.id]
        if isinstance(node, ast.UnaryOp):
            d = _Expr.derivative(node.operand, env, denv)
            return None if d is None else (f"(-{d})" if isinstance(node.op, ast.USub) else d)
        if isinstance(node, ast.Call):
            d = _Expr.derivative(node.args[0], env, denv)
            if d is None:
                return None
            return f"(({FUNCTIONS[node.func.id][1].format(u=_Expr.source(node.args[0], env))}) * {d})"
        a, b = _Expr.source(node.left, env), _Expr.source(node.right, env)
        da, db = _Expr.derivative(node.left, env, denv), _Expr.derivative(node.right, env, denv)
        if isinstance(node.op, ast.Add | ast.Sub):
            sign = "+" if isinstance(node.op, ast.Add) else "-"
            if da is None and db is None:
                return None
            return f"({da or '0.0'} {sign} {db or '0.0'})"
        if isinstance(node.op, ast.Mult):
            terms = [f"{da} * {b}" if da else None, f"{a} * {db}" if db else None]
        elif isinstance(node.op, ast.Div):
            terms = [f"{da} / {b}" if da else None, f"(-{a} * {db} / {b} ** 2)" if db else None]
        else:  # a ** b
            terms = [f"{b} * {a} ** ({b} - 1.0) * {da}" if da else None,
                     f"{a} ** {b} * log({a}) * {db}" if db else None]
        terms = [t for t in terms if t]
        return f"({' + '.join(terms)})" if terms else None


def _parse(name, text, names):
    """The AST of one tie expression, checked: only names of the model, numbers, arithmetic and FUNCTIONS."""
    try:
        tree = ast.parse(str(text).strip(), mode="eval").body
    except SyntaxError as exc:
        raise ValueError(f"`tie` of {name!r}: cannot parse {text!r} ({exc.msg}).") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in names and node.id not in FUNCTIONS:
            raise ValueError(f"`tie` of {name!r}: {node.id!r} is not a parameter of the model {list(names)}.")
        if isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS and len(node.args) == 1
                    and not node.keywords):
                raise ValueError(f"`tie` of {name!r}: only {sorted(FUNCTIONS)} of one argument may be called "
                                 f"in {text!r}.")
        elif isinstance(node, ast.Constant) and not isinstance(node.value, int | float):
            raise ValueError(f"`tie` of {name!r}: {node.value!r} is not a number.")
        elif not isinstance(node, ast.Expression | ast.Name | ast.Constant | ast.BinOp | ast.UnaryOp | ast.Call
                            | ast.Load | ast.operator | ast.unaryop):
            raise ValueError(f"`tie` of {name!r}: {type(node).__name__} is not allowed in {text!r}.")
        if isinstance(node, ast.BinOp) and not isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div | ast.Pow):
            raise ValueError(f"`tie` of {name!r}: only + - * / ** are allowed in {text!r}.")
        if isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.USub | ast.UAdd):
            raise ValueError(f"`tie` of {name!r}: only + - * / ** are allowed in {text!r}.")
    return tree


def _order(ties, trees):
    """The tied names in an order where each comes after the tied names its expression uses."""
    done, order = set(), []

    def visit(name, path):
        if name in done:
            return
        if name in path:
            cycle = path[path.index(name):] + [name]
            raise ValueError(f"`tie` is circular: {' -> '.join(cycle)}.")
        for node in ast.walk(trees[name]):
            if isinstance(node, ast.Name) and node.id in ties:
                visit(node.id, path + [name])
        done.add(name)
        order.append(name)

    for name in ties:
        visit(name, [])
    return order


def expansion_source(names, ties):
    """Source of ``_expand(q, p)`` (full parameters from the free ones) and ``_expand_jac(q, D)``
    (``D[k, j] = d p_k / d q_j``, shape ``(n_full, n_free)``), and the free names."""
    if not isinstance(ties, dict):
        raise TypeError(f"`tie` must be a dict of name -> expression, got {type(ties).__name__}.")
    unknown = [k for k in ties if k not in names]
    if unknown:
        raise ValueError(f"`tie` names unknown parameters {unknown}; the model has {list(names)}.")
    trees = {k: _parse(k, v, names) for k, v in ties.items()}
    free = [k for k in names if k not in ties]
    if not free:
        raise ValueError("`tie` ties every parameter; nothing is left to fit.")
    env = {k: f"q[{j}]" for j, k in enumerate(free)}
    denv = [{k: ("1.0" if i == j else None) for i, k in enumerate(free)} for j in range(len(free))]
    for k in _order(ties, trees):
        for j in range(len(free)):
            denv[j][k] = _Expr.derivative(trees[k], env, denv[j])
        env[k] = _Expr.source(trees[k], env)
    lines = ["def _expand(q, p):"] + [f"    p[{i}] = {env[k]}" for i, k in enumerate(names)]
    lines += ["", "def _expand_jac(q, D):"]
    for i, k in enumerate(names):
        for j in range(len(free)):
            lines.append(f"    D[{i}, {j}] = {denv[j][k] or '0.0'}")
    return "\n".join(lines) + "\n", free


def _expansion(src, filename):
    """The functions ``_expand(q, p)`` and ``_expand_jac(q, D)`` of :func:`expansion_source`'s ``src``: plain
    Python (for results), and what numba compiles into a tied model's kernels."""
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    ns = {"exp": math.exp, "log": math.log, "sqrt": math.sqrt, "sin": math.sin, "cos": math.cos,
          "tan": math.tan, "atan": math.atan}
    exec(compile(src, filename, "exec"), ns)
    return ns["_expand"], ns["_expand_jac"]


def _expanded(fn, q, shape):
    """``fn(q, out)`` into a new array of ``shape``."""
    out = np.empty(shape)
    fn(np.asarray(q, dtype=float), out)
    return out


class TiedModel(Model):
    """The model of the free parameters of ``base`` under ``ties`` (see the module).

    Attributes
    ----------
    base : Model
    ties : dict
        Tied name -> expression, as given.
    """

    _generated_names = ("_tied_values", "_tied_jacobian")

    def __init__(self, base, ties):
        src, free = expansion_source(base.param_names, ties)
        self.base, self.ties, self._source = base, dict(ties), src
        self._py_expand, self._py_expand_jac = _expansion(src, f"<lsq ties of {base.name}>")
        super().__init__(name=f"{base.name} (tied)", param_names=free, x_ndim=base.x_ndim)
        self.py_func = None
        self._jit = None
        if base.has_guess:
            index = [base.param_names.index(k) for k in free]
            self._user_guess = lambda x, y: np.asarray(base.guess(x, y), dtype=float)[index]

    def __getstate__(self):
        state = super().__getstate__()
        state["_py_expand"] = state["_py_expand_jac"] = state["_jit"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._py_expand, self._py_expand_jac = _expansion(self._source, f"<lsq ties of {self.base.name}>")

    @property
    def has_jacobian(self):
        return self.base.has_jacobian

    def analytic_jacobian(self, func):
        raise TypeError(f"tied model `{self.name}` takes its Jacobian from `{self.base.name}`.")

    def expand(self, q):
        """The full parameter vector of the base model from the free parameters ``q``."""
        return _expanded(self._py_expand, q, self.base.n_params)

    def expand_jacobian(self, q):
        """``d full / d free`` at ``q``, shape ``(n_base, n_free)``."""
        return _expanded(self._py_expand_jac, q, (self.base.n_params, self.n_params))

    def _generated(self, x_dims):
        """The module of this model's kernels (:mod:`lsq._generated`, cached across processes), or None when the
        base's kernels are not importable or the cache directory cannot be written."""
        key = ("module", x_dims)
        if key not in self._cfuncs:
            refs = self.base._importable_kernels(x_dims)
            module = None
            if refs is not None:
                lines, defs = _generated.part_imports(0, refs if self.has_jacobian else (refs[0], refs[1], None))
                imports = ["import numpy as np", "from math import atan, cos, exp, log, sin, sqrt, tan",
                           "from numba import njit"] + lines
                src = ("\n".join(defs) + "\n\n\n" + self._source.replace("def ", "@njit(error_model='numpy', "
                                                                               "cache=True)\ndef ")
                       + "\n\n" + "\n\n\n".join(self._sources("F0", "J0")))
                module = _generated.generated_module(imports, src, f"ties of {self.base.name}")
            self._cfuncs[key] = module
        return self._cfuncs[key]

    def _sources(self, call_f, call_j):
        """The source of ``_tied_values`` (and ``_tied_jacobian``), the base's kernels called as ``call_f`` and
        ``call_j``."""
        nb, nf = self.base.n_params, self.n_params
        sources = [f"def _tied_values(X, q, out):\n    p = np.empty({nb})\n    _expand(q, p)\n"
                   f"    {call_f}(X, p, out)\n"]
        if self.has_jacobian:
            sources.append(
                f"def _tied_jacobian(X, q, out):\n    m = out.shape[1]\n    p = np.empty({nb})\n    _expand(q, p)\n"
                f"    G = np.empty(({nb}, m))\n    {call_j}(X, p, G)\n    D = np.empty(({nb}, {nf}))\n"
                f"    _expand_jac(q, D)\n"
                f"    for j in range({nf}):\n        for i in range(m):\n            s = 0.0\n"
                f"            for k in range({nb}):\n                s += D[k, j] * G[k, i]\n"
                f"            out[j, i] = s\n")
        return sources

    def _python_kernels(self, x_dims):
        """The interpreted kernels: the same generated source, calling the base's interpreted kernels."""
        f, j, has_jac = self.base.python_kernels(x_dims)
        ns = {"model_at": at_address, "jacobian_at": at_address, "_expand": self._py_expand,
              "_expand_jac": self._py_expand_jac, "F": register_address(f), "J": register_address(j) if has_jac else 0}
        src = self._sources("model_at(F)", "jacobian_at(J)")
        values = generated_function(src[0], "_tied_values", ns, self.name)
        if not self.has_jacobian:
            return values, None, False
        return values, generated_function(src[1], "_tied_jacobian", ns, self.name), True

    def _user_cfuncs(self, x_dims):
        module = self._generated(x_dims)
        ns = {}
        if module is None:
            if self._jit is None:
                self._jit = _jit_uncached(self._py_expand), _jit_uncached(self._py_expand_jac)
            f_cf, j_cf, has_jac = self.base.kernels(x_dims)
            ns = {"np": np, "model_at": model_at, "jacobian_at": jacobian_at, "_expand": self._jit[0],
                  "_expand_jac": self._jit[1], "F": f_cf.address, "J": j_cf.address if has_jac else 0}
            src = self._sources("model_at(F)", "jacobian_at(J)")
        else:
            src = self._sources("F0", "J0")
        fc = _compile_wrapper(src[0], "_tied_values", ns, MODEL_SIG, self.name, module)
        if not self.has_jacobian:
            return fc, None, False
        return fc, _compile_wrapper(src[1], "_tied_jacobian", ns, JAC_SIG, self.name, module), True

    def __call__(self, *args, prefix=None):
        if prefix is None and len(args) > 1 and self.base.py_func is not None:
            self._check_count(args[1:])
            return self.base(args[0], *self.expand(args[1:]))
        return super().__call__(*args, prefix=prefix)


def _jit_uncached(func):
    """``njit`` for generated source (nothing on disk to cache it by)."""
    return njit(error_model="numpy")(func)


def tie_model(model, ties):
    """:class:`TiedModel` of a compiled model, or, for a plain ``f(x, p1, ...)``, a plain function of the
    free parameters (same expansion, in Python). Returns ``(model of the free parameters, expand,
    expand_jacobian)``."""
    if isinstance(model, Model):
        tied = TiedModel(model, ties)
        return tied, tied.expand, tied.expand_jacobian
    import inspect

    names = tuple(list(inspect.signature(model).parameters)[1:])
    src, free = expansion_source(names, ties)
    py_expand, py_expand_jac = _expansion(src, "<lsq ties>")

    def expand(q):
        return _expanded(py_expand, q, len(names))

    def expand_jacobian(q):
        return _expanded(py_expand_jac, q, (len(names), len(free)))

    def tied(x, *q):
        return model(x, *expand(q))

    params = [inspect.Parameter("x", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    params += [inspect.Parameter(k, inspect.Parameter.POSITIONAL_OR_KEYWORD) for k in free]
    tied.__signature__ = inspect.Signature(params)
    tied.__name__ = getattr(model, "__name__", "model")
    return tied, expand, expand_jacobian
