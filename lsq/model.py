"""Compiled fit models: the ``@lsq.model`` decorator and the :class:`Model` object.

A model is written as SciPy's ``curve_fit`` expects, ``f(x, p1, p2, ...)``, with ``x`` of shape ``(m,)`` or
``(d, m)``. ``@lsq.model`` compiles it with numba and wraps it as a first-class function of one fixed
signature (see :mod:`lsq._kernels.drivers.compiled`), so the engine, the compiled driver and the batch kernel are
compiled once for every model and a new model costs only its own compilation.
"""

import copy
import inspect
import linecache
import re
import warnings

import numpy as np
from numba import cfunc, njit
from numba.core.errors import NumbaError

from . import _generated
from ._kernels.drivers.compiled import JAC_SIG, MODEL_SIG, call_jac, call_model
from ._kernels.engine.codes import EPS
from ._tiers import route
from ._tiers.current import INTERPRETED, kernel, tier
from ._tiers.python_models import python_kernels_of
from ._tiers.twin import interpreted, register_address

__all__ = ["JetFallbackWarning", "Model", "model"]

JACOBIAN_MODES = ("auto", "2-point")
"""The ``jac=`` strings of :func:`model`: exact derivatives by jets, or finite differences."""


class JetFallbackWarning(UserWarning):
    """A ``jac='auto'`` model whose function cannot run on jets: its fits use finite differences."""


_CFUNCS = {}


def _cached_cfunc(func, sig):
    """``cfunc(sig, cache=True)(func)`` for a module-level kernel, made once per process."""
    if func is None:
        return None
    if func not in _CFUNCS:
        _CFUNCS[func] = cfunc(sig, cache=True, error_model="numpy")(func)
    return _CFUNCS[func]


def _parameter_names(func):
    """Names of the fit parameters: every positional parameter after ``x``."""
    name = getattr(func, "__name__", repr(func))
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"model `{name}`: cannot read its signature ({exc}).") from exc
    params = list(sig.parameters.values())
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(p.kind not in kinds for p in params):
        raise TypeError(
            f"model `{name}` must have the signature f(x, p1, p2, ...) with plain positional parameters; "
            f"*args, **kwargs and keyword-only parameters are not supported."
        )
    if len(params) < 2:
        raise TypeError(f"model `{name}` must take x and at least one parameter: f(x, p1, ...).")
    return tuple(p.name for p in params[1:])


def as_points(x, name="xdata"):
    """``x`` as a C-ordered float64 ``(d, m)`` array (a 1-D ``x`` becomes ``(1, m)``)."""
    X = np.asarray(x, dtype=float)
    if X.ndim == 1:
        X = X[None, :]
    if X.ndim != 2:
        raise ValueError(f"`{name}` must have shape (m,) or (d, m), got {np.shape(x)}.")
    return np.ascontiguousarray(X)


class Model:
    """A fit model ``f(x, p1, ..., pn)`` that runs in compiled code.

    Create one with :func:`model` (user functions) or take one from :mod:`lsq.models` (built-ins).
    Calling it, ``model(x, *params)``, evaluates it like the plain function.

    Attributes
    ----------
    name : str
    param_names : tuple of str
    n_params : int
    jac : str
        Where fits get the Jacobian: ``'auto'`` (jets, exact), ``'2-point'`` (finite differences) or
        ``'analytic'`` (the user's ``jac=``).
    has_jacobian : bool
        Whether fits get an exact Jacobian: a built-in's, the user's, or from jets (False with ``'2-point'``,
        or once the function is known not to run on jets).
    baseline : str or None
        The name of the model's additive constant, if it has one (a sum of models keeps one baseline, see
        :mod:`lsq.composite`).
    background : bool
        Whether the model is a background (``constant``, ``linear``, ``polynomial``), whose baseline a sum
        keeps over the other parts'.

    Models combine: ``m1 + m2`` and ``m1 * m2`` are compiled composite models (:mod:`lsq.composite`), and
    ``m(prefix="p1_")`` is ``m`` with prefixed parameter names.
    """

    def __init__(self, func=None, *, name=None, param_names=None, jac="auto", guess=None, kernels=None,
                 x_ndim=None, baseline=None, background=False, lanes=None, exact_exp=False):
        self.py_func = func
        self.exact_exp = bool(exact_exp)
        if not (jac is None or callable(jac) or jac in JACOBIAN_MODES):
            raise ValueError(f"`jac` must be 'auto', '2-point' or a function jac(x, p1, ..., pn), got {jac!r}.")
        if func is not None:
            self.name = name or getattr(func, "__name__", "model")
            self.param_names = tuple(param_names) if param_names else _parameter_names(func)
        else:
            self.name = name
            self.param_names = tuple(param_names)
        self.n_params = len(self.param_names)
        self.x_ndim = x_ndim
        self.baseline = baseline
        self.background = background
        self._guess_names = self.param_names  # the names a user guess's dict uses (before any prefix)
        self._user_jac = None
        self.jac = "auto" if jac is None else ("analytic" if callable(jac) else jac)
        self._jets_failed = None  # why the function could not run on jets (jac='auto' then differences)
        self._user_guess = guess
        self._kernel_funcs = kernels  # built-ins: module-level (f, jac, guess) kernels of the fixed signatures
        self._lanes_func = lanes  # built-ins: values and Jacobian for many fits at once (lsq.models._lanes)
        self._cfuncs = {}
        self._jitted = None
        if callable(jac):
            self.analytic_jacobian(jac)
        self.__doc__ = getattr(func, "__doc__", None) if func is not None else self.__doc__

    # ----------------------------------------------------------------------------------------------- set-up
    def analytic_jacobian(self, func):
        """Attach ``jac(x, p1, ..., pn) -> (m, n)`` (decorator); returns the model.

        Examples
        --------
        >>> import numpy as np, lsq
        >>> @lsq.model
        ... def line(x, a, b):
        ...     return a * x + b
        >>> @line.analytic_jacobian
        ... def _(x, a, b):
        ...     return np.stack((x, np.ones_like(x)), axis=1)
        >>> line.has_jacobian
        True
        """
        if self._kernel_funcs is not None:
            raise TypeError(f"built-in model `{self.name}` already has an analytic Jacobian.")
        names = _parameter_names(func)
        if len(names) != self.n_params:
            raise TypeError(
                f"Jacobian `{func.__name__}` of model `{self.name}` takes {len(names)} parameters, "
                f"the model takes {self.n_params}."
            )
        self._user_jac = func
        self.jac = "analytic"
        self._cfuncs.clear()
        return self

    def guesser(self, func):
        """Attach ``guess(x, y) -> params`` (sequence or dict) for data-driven starting values (decorator)."""
        self._user_guess = func
        return self

    @property
    def has_jacobian(self):
        """Whether fits get an exact Jacobian: a built-in's or the user's, or the jets of ``jac='auto'`` (unless
        the function could not run on them, which is known once the model has been compiled)."""
        if self._kernel_funcs is not None or self._user_jac is not None:
            return True
        return self.py_func is not None and self.jac == "auto" and self._jets_failed is None

    @property
    def has_guess(self):
        return self._user_guess is not None or (self._kernel_funcs is not None and self._kernel_funcs[2] is not None)

    # -------------------------------------------------------------------------------------------- evaluation
    def _check_count(self, params):
        if len(params) != self.n_params:
            raise TypeError(f"model `{self.name}` takes {self.n_params} parameters "
                            f"{self.param_names}, got {len(params)}.")

    def _scalars(self, params):
        """The parameters as an ``(n,)`` float array for a compiled kernel (which reads exactly ``n``)."""
        try:
            p = np.asarray(params, dtype=float)
        except (TypeError, ValueError):
            p = np.asarray(params, dtype=object)
        if p.shape != (self.n_params,) or p.dtype != float:
            raise TypeError(f"model `{self.name}`: compiled evaluation needs one scalar per parameter "
                            f"{self.param_names}, got values of shape {p.shape}.")
        return p

    def __call__(self, *args, prefix=None):
        """``model(x, *params)`` evaluates the model; ``model(prefix="p1_")`` is the model with prefixed
        parameter names (for composites), and ``model()`` the model itself."""
        if prefix is not None or not args:
            if args:
                raise TypeError(f"model `{self.name}`: give either (x, *params) or prefix=, not both.")
            return self if prefix is None else self.prefixed(prefix)
        x, params = args[0], args[1:]
        self._check_count(params)
        if self.py_func is not None:
            return self.py_func(x, *params)
        X = as_points(x)
        out = np.empty(X.shape[1])
        on = route.tier_of(self.compile_path, X.shape[1] * self.n_params)
        kernel(call_model, on)(self.tier_kernels(X.shape[0], on)[0], X, self._scalars(params), out)
        return out.reshape(np.shape(x)[-1:]) if np.ndim(x) else out

    def prefixed(self, prefix):
        """The same model (same compiled kernels) with every parameter name prefixed by ``prefix``."""
        if not isinstance(prefix, str):
            raise TypeError(f"`prefix` must be a str, got {type(prefix).__name__}.")
        out = copy.copy(self)
        out.param_names = tuple(prefix + name for name in self.param_names)
        out.baseline = None if self.baseline is None else prefix + self.baseline
        out.name = prefix + self.name
        return out

    def __add__(self, other):
        from .composite import compose

        return compose("+", self, other)

    def __mul__(self, other):
        from .composite import compose

        return compose("*", self, other)

    def jacobian(self, x, *params):
        """``d f / d p`` at ``x``, shape ``(m, n)``: analytic, or central differences when none is attached."""
        self._check_count(params)
        X = as_points(x)
        p = self._scalars(params)
        if self.has_jacobian:
            on = route.tier_of(self.compile_path, X.shape[1] * self.n_params)
            _, jac, has_jac = self.tier_kernels(X.shape[0], on)
            if has_jac:
                out = np.empty((self.n_params, X.shape[1]))
                kernel(call_jac, on)(jac, X, p, out)
                return np.ascontiguousarray(out.T)
        return central_difference_jacobian(self, x, p)

    def guess(self, x, y):
        """Data-driven starting values, an ``(n,)`` array (TypeError if the model has no guess rule)."""
        if self._user_guess is not None:
            g = self._user_guess(x, y)
            if isinstance(g, dict):
                g = [g[name] for name in self._guess_names]
            return np.asarray(g, dtype=float)
        if not self.has_guess:
            raise TypeError(f"model `{self.name}` has no guess(x, y); give p0.")
        X = as_points(x)
        out = np.empty(self.n_params)
        on = route.tier_of(self.compile_path, X.shape[1] * self.n_params)
        kernel(call_model, on)(self.tier_guess(on), X, np.ascontiguousarray(y, dtype=float), out)
        return out

    def residuals(self, x, y, sigma=None):
        """Residual function ``p -> (f(x, *p) - y) / sigma`` for :func:`lsq.least_squares`.

        Passed to ``least_squares`` it runs the whole fit in compiled code.

        Examples
        --------
        >>> import numpy as np, lsq
        >>> x = np.linspace(0, 4, 30)
        >>> res = lsq.least_squares(lsq.models.exponential.residuals(x, 3 * np.exp(-x / 1.5) + 1), [1, 1, 0])
        >>> np.round(res.x, 6)
        array([3. , 1.5, 1. ])
        """
        from ._python.model_problem import ModelResiduals

        return ModelResiduals.from_data(self, x, y, sigma)

    # ------------------------------------------------------------------------------------------- compiling
    def kernels(self, x_dims):
        """The compiled ``(model, jac, has_jac)`` cfuncs for points with ``x_dims`` coordinates (``jac`` is
        None when the model has none)."""
        if self.x_ndim is not None and x_dims != self.x_ndim:
            raise ValueError(f"model `{self.name}` expects x of shape ({self.x_ndim}, m), got {x_dims} rows.")
        key = x_dims
        if key not in self._cfuncs:
            if self._kernel_funcs is not None:
                self._cfuncs[key] = self._builtin_cfuncs()
            else:
                self._cfuncs[key] = self._user_cfuncs(x_dims)
        return self._cfuncs[key]

    @property
    def compile_path(self):
        """The compile path (:data:`lsq.compile.PATHS`) of this model's fits: ``'curve_fit'`` for built-ins,
        ``'model'`` for the rest (the engine is the same; a user's function compiles on its own)."""
        return "curve_fit" if self._kernel_funcs is not None else "model"

    def tier_guess(self, on=None):
        """The address of the built-in guess rule for the tier ``on`` (default: this thread's call's, see
        :meth:`tier_kernels`), or 0 without one."""
        if self._kernel_funcs is None:
            return 0
        if (on or tier()) == INTERPRETED:
            return register_address(interpreted(self._kernel_funcs[2]))
        return self.guess_kernel().address

    def tier_kernels(self, x_dims, on=None):
        """``(model_addr, jac_addr, has_jac)`` for the tier ``on`` (default: this thread's call's,
        :mod:`lsq._tiers.current`): the compiled cfuncs' addresses, or stand-in addresses of the interpreted kernels
        (``jac_addr`` is 0 without a Jacobian)."""
        if (on or tier()) == INTERPRETED:
            f, j, has_jac = self.python_kernels(x_dims)
            return register_address(f), register_address(j) if has_jac else 0, has_jac
        f, j, has_jac = self.kernels(x_dims)
        return f.address, j.address if has_jac else 0, has_jac

    def python_kernels(self, x_dims):
        """The interpreted ``(model, jac, has_jac)`` kernels for points with ``x_dims`` coordinates: the built-in
        kernels' own Python code (:func:`lsq._tiers.twin.interpreted`), or the user's function called from
        Python, its exact Jacobian by dual numbers (:mod:`lsq._tiers.dual`) where the compiled model has jets."""
        if self.x_ndim is not None and x_dims != self.x_ndim:
            raise ValueError(f"model `{self.name}` expects x of shape ({self.x_ndim}, m), got {x_dims} rows.")
        key = ("python", x_dims)
        if key not in self._cfuncs:
            self._cfuncs[key] = self._python_kernels(x_dims)
        return self._cfuncs[key]

    def _python_kernels(self, x_dims):
        if self._kernel_funcs is not None:
            f, j, _ = self._kernel_funcs
            return interpreted(f), interpreted(j), True
        return python_kernels_of(self.py_func, self._user_jac, self.jac == "auto", x_dims)

    def lanes_kernel(self, x_dims=1):
        """The compiled lanes kernel (values and Jacobian of ``LANES`` fits at once, see
        :mod:`lsq.models._lanes`) that :func:`lsq.curve_fit_batch` runs fits across SIMD lanes with, for points
        of ``x_dims`` coordinates, or None (:attr:`lanes_failure` says why, for a user's function)."""
        from ._kernels.drivers.lanes import LANES_SIG

        if self._lanes_func is not None:
            return _cached_cfunc(self._lanes_func, LANES_SIG)
        if self.py_func is None or self._kernel_funcs is not None or self.jac != "auto":
            return None
        key = ("lanes", x_dims)
        if key not in self._cfuncs:
            self._cfuncs[key] = self._user_lanes_cfunc(x_dims, LANES_SIG)
        return self._cfuncs[key]

    def _user_lanes_cfunc(self, x_dims, sig):
        """The user's function on lane jets (:mod:`lsq._kernels.lanes.lane_jets`), called point by point for
        eight fits at once; None when it does not type there (it reduces over points, or uses an operation
        lane jets lack), with the reason in :attr:`lanes_failure`."""
        n = self.n_params
        lines = ["def _model_lanes(X, P, F, J):"]
        lines += [f"    p{j} = seed(v.load(P[{j}]), {j})" for j in range(n)]
        lines += ["    for i in range(F.shape[0]):",
                  f"        r = _user({_lane_point(x_dims, 'X[{k}, i]')}, {_params(n)})",
                  "        v.store(F[i], value_of(r))"]
        lines += [f"        v.store(J[{j}, i], derivative_of(r, {j}))" for j in range(n)]
        return self._lane_jet_wrapper("_model_lanes", lines, sig)

    def _pointwise_jacobian_cfunc(self, x_dims):
        """The Jacobian of ``jac='auto'`` by lane jets across points: the user's function called for 8 points at a
        time with every lane holding the same parameters, so each operation is one vector instruction for 8
        points and nothing is allocated; None when the function does not work point by point."""
        n = self.n_params
        lines = ["def _model_jacobian(X, p, out):",
                 "    m = out.shape[1]",
                 "    full = m - m % 8"]
        lines += [f"    p{j} = seed(v.splat(p[{j}]), {j})" for j in range(n)]
        lines += ["    for a in range(0, full, 8):",
                  f"        r = _user({_lane_point(x_dims, 'X[{k}, a:a + 8]')}, {_params(n)})"]
        lines += [f"        v.store(out[{j}, a:a + 8], derivative_of(r, {j}))" for j in range(n)]
        lines += ["    if full < m:  # the last points, padded to 8 with the last one",
                  "        T = np.empty((X.shape[0], 8))",
                  "        U = np.empty((out.shape[0], 8))",
                  "        for k in range(X.shape[0]):",
                  "            for q in range(8):",
                  "                T[k, q] = X[k, min(full + q, m - 1)]",
                  f"        r = _user({_lane_point(x_dims, 'T[{k}]')}, {_params(n)})"]
        lines += [f"        v.store(U[{j}], derivative_of(r, {j}))" for j in range(n)]
        lines += ["        for j in range(out.shape[0]):",
                  "            for q in range(m - full):",
                  "                out[j, full + q] = U[j, q]"]
        return self._lane_jet_wrapper("_model_jacobian", lines, JAC_SIG)

    def _lane_jet_wrapper(self, name, lines, sig):
        """The cfunc ``name`` of signature ``sig`` from ``lines``, which call the user's function on lane jets;
        None when it does not type there, with numba's reason in :attr:`lanes_failure`."""
        from ._kernels.lanes import lane_jets, simd

        if self._jitted is None:
            self._jitted = _njit_user(self._compiled_source(self.py_func))
        namespace = {"_user": self._jitted, "v": simd, "seed": lane_jets.seed, "coordinate": lane_jets.coordinate,
                     "point": lane_jets.point, "value_of": lane_jets.value_of,
                     "derivative_of": lane_jets.derivative_of}
        try:
            return _compile_wrapper("\n".join(lines) + "\n", name, namespace, sig, self.name)
        except TypeError as exc:
            self.lanes_failure = _jet_failure(exc.__cause__ or exc)
            return None

    lanes_failure = None
    """Why the user's function cannot run on the lanes kernel (:meth:`lanes_kernel` is None), or None."""

    def guess_kernel(self):
        """The compiled starting-value rule ``guess(X, y, p_out)`` of a built-in model, or None (compiled on its
        own, when starting values are guessed: a fit from a given ``p0`` does not pay for it)."""
        if self._kernel_funcs is None:
            return None
        return _cached_cfunc(self._kernel_funcs[2], MODEL_SIG)

    _generated_names = None
    """``(values, jacobian)``: the kernels' names in the module a composite or tied model generates
    (``self._generated(x_dims)``, see :mod:`lsq._generated`)."""

    def _importable_kernels(self, x_dims):
        """``(module, values, jacobian or None)``: the names of plain functions of the kernel signatures that a
        generated module can import (:mod:`lsq._generated`), or None (a user's function, which lives in a script
        or notebook)."""
        if self._generated_names is not None:
            module = self._generated(x_dims)
            if module is None:
                return None
            values, jacobian = self._generated_names
            return module.__name__, values, jacobian if self.has_jacobian else None
        if self._kernel_funcs is None:
            return None
        f, j, _ = self._kernel_funcs
        if _generated.kernel_import(f, "_") is None or (j is not None and _generated.kernel_import(j, "_") is None):
            return None
        return f.__module__, f.__qualname__, None if j is None else j.__qualname__

    def _builtin_cfuncs(self):
        f, j, _ = self._kernel_funcs
        return _cached_cfunc(f, MODEL_SIG), _cached_cfunc(j, JAC_SIG), True

    def _user_cfuncs(self, x_dims):
        if self._jitted is None:
            self._jitted = _njit_user(self._compiled_source(self.py_func))
        xarg = "X[0]" if x_dims == 1 else "X"
        params = ", ".join(f"p[{j}]" for j in range(self.n_params))
        # a result of the wrong length gives NaN (a clear error from the fit), never a read past its end
        src_f = (f"def _model_values(X, p, out):\n"
                 f"    r = _user({xarg}, {params})\n"
                 f"    ok = r.shape[0] == out.shape[0]\n"
                 f"    for i in range(out.shape[0]):\n"
                 f"        out[i] = r[i] if ok else np.nan\n")
        fc = _compile_wrapper(src_f, "_model_values", {"_user": self._jitted}, MODEL_SIG, self.name)
        if self._user_jac is None:
            jc = None
            if self.jac == "auto" and self._jets_failed is None:
                jc = self._pointwise_jacobian_cfunc(x_dims) or self._jet_cfunc(xarg)
            return fc, jc, jc is not None
        src_j = (f"def _model_jacobian(X, p, out):\n"
                 f"    r = _user({xarg}, {params})\n"
                 f"    ok = r.shape[0] == out.shape[1] and r.shape[1] == out.shape[0]\n"
                 f"    for i in range(out.shape[1]):\n"
                 f"        for j in range(out.shape[0]):\n"
                 f"            out[j, i] = r[i, j] if ok else np.nan\n")
        jc = _compile_wrapper(src_j, "_model_jacobian", {"_user": _njit_user(self._compiled_source(self._user_jac))},
                              JAC_SIG, self.name)
        return fc, jc, True

    def _jet_cfunc(self, xarg):
        """The Jacobian of ``jac='auto'``: the function compiled with jet parameters (:mod:`lsq._kernels.jets`),
        or None, with a warning, when it cannot run on them (the model then uses finite differences)."""
        from ._kernels import jets

        params = ", ".join(f"seed(S, {j}, K)" for j in range(self.n_params))
        src = (f"def _model_jacobian(X, p, out):\n"
               f"    S = seeds(p)\n"
               f"    r = _user({xarg}, {params})\n"
               f"    store_jacobian(r, out, K)\n")
        namespace = {"_user": self._jitted, "seeds": jets.seeds, "seed": jets.seed,
                     "store_jacobian": jets.store_jacobian, "K": jets.kernel_address()}
        try:
            return _compile_wrapper(src, "_model_jacobian", namespace, JAC_SIG, self.name)
        except TypeError as exc:
            self._jets_failed = _jet_failure(exc.__cause__ or exc)
            warnings.warn(
                f"model `{self.name}`: jac='auto' cannot evaluate the function with jets (dual numbers), so its "
                f"Jacobian is assembled by finite differences; give jac= or write the function with the "
                f"operations listed under 'Exact derivatives' in the fitting guide. numba said: "
                f"{self._jets_failed}", JetFallbackWarning, stacklevel=4)
            return None

    def _compiled_source(self, func):
        """The function numba compiles for ``func``: with the vectorisable ``exp``
        (:func:`lsq._kernels.user_math.with_vector_exp`) unless ``exact_exp``."""
        if self.exact_exp:
            return func
        from ._kernels.user_math import with_vector_exp

        return with_vector_exp(func)

    def __getstate__(self):
        # compiled kernels are process-local; they are rebuilt (from the disk cache) where the model lands
        state = self.__dict__.copy()
        state["_cfuncs"] = {}
        state["_jitted"] = None
        return state

    def __repr__(self):
        return f"<lsq.Model {self.name}({', '.join(('x',) + self.param_names)})>"


def _lane_point(x_dims, row):
    """Source of the point a lane-jet wrapper passes as ``x``: ``row`` (``'X[{k}, i]'``) formatted for each
    coordinate ``k`` and loaded as a lane vector."""
    if x_dims == 1:
        return f"coordinate(v.load({row.format(k=0)}))"
    return "point((" + "".join(f"v.load({row.format(k=k)}), " for k in range(x_dims)) + "))"


def _params(n):
    return ", ".join(f"p{j}" for j in range(n))


def central_difference_jacobian(f, x, p):
    """``d f(x, *p) / d p``, shape ``(m, n)``, by central differences (step ``eps**(1/3) * max(1, |p_j|)``)."""
    p = np.asarray(p, dtype=float)
    out = np.empty((np.shape(x)[-1], p.size))
    for j in range(p.size):
        h = np.cbrt(EPS) * max(1.0, abs(p[j]))
        hi, lo = p.copy(), p.copy()
        hi[j] += h
        lo[j] -= h
        out[:, j] = (np.asarray(f(x, *hi), float) - np.asarray(f(x, *lo), float)) / (2 * h)
    return out


def _njit_user(func):
    """``njit`` the user's function, cached on disk when numba can locate its source (a file, not ``-c``).

    Lane jets (:mod:`lsq._kernels.lanes.lane_jets`) are imported first: they register typing for operators
    and NumPy functions, which must not change while numba types a function, and a cached user function's
    index names their types, so loading it would import them in the middle of a compilation. A process that
    fits only built-in models never imports them."""
    from ._kernels.lanes import lane_jets  # noqa: F401
    cacheable = not func.__code__.co_freevars
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return njit(cache=cacheable, error_model="numpy")(func)
        except RuntimeError:  # "cannot cache function ...: no locator available"
            return njit(error_model="numpy")(func)


def _jet_failure(exc):
    """What numba could not type in a function run on jets, and where: ``setitem(array(float64, 1d, C), int64,
    Jet(ndim=0)) at model.py line 7: out[i] = a * x[i] + b``."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(exc).splitlines()]
    what = next((line[4:] for line in lines if line.startswith(">>> ")), None)
    if what is None:
        what = next((line for line in lines if line and not line.startswith(("Failed in", "During:"))), lines[0])
    for k, line in enumerate(lines):
        place = re.match(r'File "([^"<]+)", line (\d+)', line)
        if place:
            block = lines[k + 1:]
            mark = next((j for j, c in enumerate(block) if c == "^"), None)
            code = block[mark - 1] if mark else ""
            return f"{what} at {place.group(1)} line {place.group(2)}: {code}"
    return what


def generated_function(src, name, namespace, model_name):
    """The function ``name`` of generated ``src``, executed in ``namespace`` (plus ``np``); its source is
    registered with ``linecache`` so that tracebacks and numba's errors show it."""
    filename = f"<lsq model {model_name}:{name}>"
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    ns = {"np": np, **namespace}
    exec(compile(src, filename, "exec"), ns)
    return ns[name]


def _compile_wrapper(src, name, namespace, sig, model_name, module=None):
    """The cfunc ``name`` of signature ``sig`` from generated ``src``: cached on disk when ``module`` (the
    :func:`lsq._generated.generated_module` holding it) is given, else executed in ``namespace`` for this
    process only."""
    if module is not None:
        func, cache = getattr(module, name), True
    else:
        func, cache = generated_function(src, name, namespace, model_name), False
    try:
        return cfunc(sig, error_model="numpy", cache=cache)(func)
    except NumbaError as exc:
        lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(exc).splitlines()]
        useful = [line for line in lines if line and not line.startswith(("Failed in", "During:", "File ", "^"))]
        detail = useful[0] if useful else lines[0]
        raise TypeError(
            f"model `{model_name}` could not be compiled by numba (write it with NumPy operations on x and "
            f"float parameters, returning an array of shape (m,)): {detail}"
        ) from exc


def model(func=None, *, jac="auto", guess=None, name=None, exact_exp=False):
    """Decorator: make ``f(x, p1, ..., pn)`` a compiled :class:`Model`.

    Parameters
    ----------
    func : callable
        ``f(x, p1, ..., pn) -> (m,)`` written with NumPy operations; ``x`` is ``(m,)`` or ``(d, m)``.
        Parameter names come from the signature.
    jac : {'auto', '2-point'} or callable, optional
        How fits get the Jacobian. ``'auto'`` (default): exact derivatives, by compiling the function a second
        time with jets (forward-mode dual numbers, :mod:`lsq._kernels.jets`) for parameters, so one call gives
        the values and every derivative; a function that uses something jets do not support falls back to
        finite differences with a :class:`JetFallbackWarning` naming it. ``'2-point'``: finite differences in
        compiled code. A callable: the analytic Jacobian ``jac(x, p1, ..., pn) -> (m, n)``.
    guess : callable, optional
        ``guess(x, y) -> params`` (sequence or dict), used when no ``p0`` is given.
    name : str, optional
        Display name (default: the function's name).
    exact_exp : bool, optional
        Compile ``np.exp``/``math.exp`` in the function (and in ``jac``) as numba does, a call into the
        platform's libm per value. By default they are lsq's vectorisable ``exp``: within 2 ulp of the
        correctly rounded value (libm's is within 1), the same bits on every x86-64 CPU, and several times
        faster on arrays. Float32 and complex arguments keep NumPy's ``exp``; functions the model calls keep
        their own.

    Returns
    -------
    Model
        Compiled lazily on the first fit; numba errors are raised then as TypeError naming the model.

    Examples
    --------
    >>> import numpy as np, lsq
    >>> @lsq.model
    ... def decay(x, a, tau):
    ...     return a * np.exp(-x / tau)
    >>> decay.param_names
    ('a', 'tau')
    """
    def wrap(f):
        if not callable(f):
            raise TypeError(f"@lsq.model needs a function, got {type(f).__name__}.")
        return Model(f, jac=jac, guess=guess, name=name, exact_exp=exact_exp)

    return wrap if func is None else wrap(func)
