"""Composite models: sums and products of models, compiled into one model with an analytic Jacobian.

``lsq.models.gaussian(prefix="p1_") + lsq.models.gaussian(prefix="p2_") + lsq.models.linear()`` is one
:class:`lsq.Model` whose parameters are the union of the parts' (names must not collide: give the parts
prefixes). Its compiled kernels call the parts' compiled kernels (by address, as the engine does) and combine
them point by point; the Jacobian is assembled from the parts' Jacobians by the sum and product rules, so a
composite of built-ins fits with an analytic Jacobian. A composite of parts that are not all analytic uses
finite differences for the whole.

A sum has one baseline. Built-in models carry an additive constant (``offset``, or a background's
``intercept``/``c``/``c0``); in a sum of several of them only one is kept, since the others would be the
same direction of the fit: a background part (``constant``, ``linear``, ``polynomial``) keeps its own and every
other part's ``offset`` is dropped (held at 0); without a background, the first part's ``offset`` is kept.
"""


import numpy as np

from . import _generated
from ._kernels.drivers.compiled import JAC_SIG, MODEL_SIG, jacobian_at, model_at
from ._tiers.twin import at_address, register_address
from .model import Model, _compile_wrapper, as_points, generated_function

__all__ = ["CompositeModel", "compose"]


def _terms(tree):
    """The terms of the top-level sum of ``tree`` (a leaf index or ``(op, left, right)``)."""
    if isinstance(tree, tuple) and tree[0] == "+":
        return _terms(tree[1]) + _terms(tree[2])
    return [tree]


def _shift(tree, by):
    if isinstance(tree, tuple):
        return (tree[0], _shift(tree[1], by), _shift(tree[2], by))
    return tree + by


def _leaves_of(tree):
    if isinstance(tree, tuple):
        return _leaves_of(tree[1]) + _leaves_of(tree[2])
    return [tree]


def _sums(tree, parent_is_sum=False):
    """The leaf terms of every maximal sum in ``tree`` (a ``'+'`` node not under another ``'+'``)."""
    if not isinstance(tree, tuple):
        return []
    op, left, right = tree
    inner = _sums(left, op == "+") + _sums(right, op == "+")
    if op == "+" and not parent_is_sum:
        inner.append([t for t in _terms(tree) if not isinstance(t, tuple)])
    return inner


def _kept(leaves, tree):
    """Per leaf, a mask of the parameters the composite keeps: one baseline per sum (see the module)."""
    keep = [np.ones(leaf.n_params, dtype=bool) for leaf in leaves]
    for summands in _sums(tree):
        with_baseline = [k for k in summands if leaves[k].baseline is not None]
        backgrounds = [k for k in with_baseline if leaves[k].background]
        keeper = backgrounds[0] if backgrounds else (with_baseline[0] if with_baseline else None)
        for k in with_baseline:
            if k != keeper:
                keep[k][leaves[k].param_names.index(leaves[k].baseline)] = False
    return keep


def compose(op, left, right):
    """``left + right`` or ``left * right`` as a :class:`CompositeModel`."""
    if not isinstance(right, Model):
        return NotImplemented
    lt, ll = (left.tree, left.leaves) if isinstance(left, CompositeModel) else (0, [left])
    rt, rl = (right.tree, right.leaves) if isinstance(right, CompositeModel) else (0, [right])
    return CompositeModel(list(ll) + list(rl), (op, lt, _shift(rt, len(ll))))


class CompositeModel(Model):
    """A sum or product of models, compiled as one (made by ``+`` and ``*`` on models).

    Attributes
    ----------
    leaves : list of Model
        The parts, in the order their parameters appear.
    tree : int or tuple
        The expression: a leaf index, or ``('+' | '*', left, right)``.
    keep : list of ndarray of bool
        Per part, the parameters the composite fits (a dropped baseline is held at 0).
    """

    _generated_names = ("_composite_values", "_composite_jacobian")

    def __init__(self, leaves, tree):
        dims = {leaf.x_ndim for leaf in leaves} - {None}
        if len(dims) > 1:
            raise ValueError(f"cannot combine models of x with {sorted(dims)} coordinates.")
        self.leaves, self.tree = list(leaves), tree
        self.keep = _kept(self.leaves, tree)
        names = [name for leaf, kept in zip(self.leaves, self.keep, strict=True)
                 for name, k in zip(leaf.param_names, kept, strict=True) if k]
        seen, clashes = set(), []
        for name in names:
            if name in seen and name not in clashes:
                clashes.append(name)
            seen.add(name)
        if clashes:
            owners = [leaf.name for leaf in self.leaves if set(leaf.param_names) & set(clashes)]
            raise ValueError(f"parameter names {clashes} appear in more than one part ({', '.join(owners)}); give "
                             f"the parts prefixes, e.g. lsq.models.gaussian(prefix='p1_') + "
                             f"lsq.models.gaussian(prefix='p2_').")
        super().__init__(name=_describe(self.leaves, tree), param_names=names, x_ndim=dims.pop() if dims else None)
        if all(leaf.has_guess for leaf in self.leaves) and all(not isinstance(t, tuple) for t in _terms(tree)):
            self._user_guess = self._guess_sum

    @property
    def has_jacobian(self):
        return all(leaf.has_jacobian for leaf in self.leaves)

    def analytic_jacobian(self, func):
        raise TypeError(f"composite model `{self.name}` assembles its Jacobian from its parts'.")

    def prefixed(self, prefix):
        """The same composite with every parameter name prefixed."""
        return CompositeModel([leaf.prefixed(prefix) for leaf in self.leaves], self.tree)

    def parts(self, *params):
        """``{part name: values}``: each part evaluated with its own parameters (dropped baselines at 0), for
        plotting the components of a fit; call as ``composite.parts(x, *values)``."""
        x, params = params[0], np.asarray(params[1:], dtype=float)
        out = {}
        for leaf, q in zip(self.leaves, self._split(params), strict=True):
            out[leaf.name] = leaf(x, *q)
        return out

    def _split(self, p):
        """The full parameter vector of each part from the composite's parameters ``p``."""
        out, at = [], 0
        for leaf, kept in zip(self.leaves, self.keep, strict=True):
            q = np.zeros(leaf.n_params)
            q[kept] = p[at:at + kept.sum()]
            at += int(kept.sum())
            out.append(q)
        return out

    def _guess_sum(self, x, y):
        """Starting values for a sum: each part guesses from what the parts before it leave unexplained
        (backgrounds last, from the data with the peaks taken out); on 1-D data each peak-like part sees
        a window around the highest remaining point, so two peaks are not taken for one wide one."""
        y = np.asarray(y, dtype=float)
        order = sorted(range(len(self.leaves)), key=lambda k: self.leaves[k].background)
        rest = y.copy()
        guesses = [None] * len(self.leaves)
        X = as_points(x)
        for k in order:
            leaf = self.leaves[k]
            if X.shape[0] == 1 and not leaf.background and len(self.leaves) > 1:
                window = _peak_window(X[0], rest)
                q = np.asarray(leaf.guess(X[0][window], rest[window]), dtype=float)
            else:
                q = np.asarray(leaf.guess(x, rest), dtype=float)
            q = q.copy()
            q[~self.keep[k]] = 0.0
            guesses[k] = q
            rest = rest - np.asarray(leaf(x, *q), dtype=float)
            if self.keep[k].all() and leaf.baseline is not None and not leaf.background:
                rest = rest + q[leaf.param_names.index(leaf.baseline)]  # its baseline stays for the next parts
        return np.concatenate([q[kept] for q, kept in zip(guesses, self.keep, strict=True)])

    # ------------------------------------------------------------------------------------------- compiling
    def _generated(self, x_dims):
        """The module of this composite's kernels (:mod:`lsq._generated`, cached across processes), or None when
        a part is not importable (a user's model) or the cache directory cannot be written."""
        key = ("module", x_dims)
        if key not in self._cfuncs:
            refs = [leaf._importable_kernels(x_dims) for leaf in self.leaves]
            module = None
            if all(r is not None for r in refs):
                imports, defs = ["import numpy as np", "from numba import njit"], []
                for k, r in enumerate(refs):
                    lines, d = _generated.part_imports(k, r if self.has_jacobian else (r[0], r[1], None))
                    imports += lines
                    defs += d
                src = "\n".join(defs) + "\n\n\n" + "\n\n\n".join(self._sources(direct=True))
                module = _generated.generated_module(imports, src, f"composite {self.name}")
            self._cfuncs[key] = module
        return self._cfuncs[key]

    def _sources(self, direct):
        """The source of ``_composite_values`` (and ``_composite_jacobian``): the parts' kernels called as
        ``F{k}``/``J{k}`` (``direct``: jitted functions of a generated module) or through their addresses."""
        call_f = "F{k}" if direct else "model_at(F{k})"
        call_j = "J{k}" if direct else "jacobian_at(J{k})"
        setup = []
        at = 0
        for k, (leaf, kept) in enumerate(zip(self.leaves, self.keep, strict=True)):
            setup.append(f"    q{k} = np.empty({leaf.n_params})")
            for j in range(leaf.n_params):
                setup.append(f"    q{k}[{j}] = p[{at}]" if kept[j] else f"    q{k}[{j}] = 0.0")
                at += int(kept[j])
            setup.append(f"    v{k} = np.empty(m)")
            setup.append(f"    {call_f.format(k=k)}(X, q{k}, v{k})")
        head = "\n".join(setup)
        sources = [f"def _composite_values(X, p, out):\n    m = out.shape[0]\n{head}\n"
                   f"    for i in range(m):\n        out[i] = {_value(self.tree)}\n"]
        if self.has_jacobian:
            body, row = [], 0
            for k, (leaf, kept) in enumerate(zip(self.leaves, self.keep, strict=True)):
                body.append(f"    g{k} = np.empty(({leaf.n_params}, m))")
                body.append(f"    {call_j.format(k=k)}(X, q{k}, g{k})")
                factor = _derivative(self.tree, k)
                for j in np.flatnonzero(kept):
                    rhs = f"g{k}[{j}, i]" if factor == "1.0" else f"g{k}[{j}, i] * ({factor})"
                    body.append(f"    for i in range(m):\n        out[{row}, i] = {rhs}")
                    row += 1
            sources.append(f"def _composite_jacobian(X, p, out):\n    m = out.shape[1]\n{head}\n"
                           + "\n".join(body) + "\n")
        return sources

    def lanes_kernel(self, x_dims=1):
        """The composite's lanes kernel (:meth:`lsq.Model.lanes_kernel`): its parts' lanes kernels, called by
        address, combined point by point by the sum and product rules; None when a part has none."""
        from ._kernels.drivers.lanes import LANES_SIG

        key = ("lanes", x_dims)
        if key not in self._cfuncs:
            self._cfuncs[key] = self._lanes_cfunc(x_dims, LANES_SIG)
        return self._cfuncs[key]

    def _lanes_cfunc(self, x_dims, sig):
        from ._kernels.drivers.lanes import lanes_at
        from ._kernels.lanes import simd

        parts = [leaf.lanes_kernel(x_dims) if leaf.has_jacobian else None for leaf in self.leaves]
        missing = [f"`{leaf.name}`" + (f" ({leaf.lanes_failure})" if leaf.lanes_failure else "")
                   for leaf, kernel in zip(self.leaves, parts, strict=True) if kernel is None]
        if missing:
            self.lanes_failure = "no lanes kernel for " + ", ".join(missing)
            return None
        lines = ["def _composite_lanes(X, P, F, J):", "    m, W = F.shape[0], F.shape[1]"]
        at = 0
        for k, (leaf, kept) in enumerate(zip(self.leaves, self.keep, strict=True)):
            lines.append(f"    Q{k} = np.zeros(({leaf.n_params}, W))")
            for j in np.flatnonzero(kept):
                lines.append(f"    Q{k}[{j}] = P[{at}]")
                at += 1
            lines += [f"    V{k} = np.empty((m, W))", f"    G{k} = np.empty(({leaf.n_params}, m, W))",
                      f"    lanes_at(L{k})(X, Q{k}, V{k}, G{k})"]
        part = "v.load(V{k}[i])"
        lines += ["    for i in range(m):", f"        v.store(F[i], {_value(self.tree, part)})"]
        row = 0
        for k, kept in enumerate(self.keep):
            factor = _derivative(self.tree, k, part)
            for j in np.flatnonzero(kept):
                rhs = f"v.load(G{k}[{j}, i])" + ("" if factor == "1.0" else f" * ({factor})")
                lines.append(f"        v.store(J[{row}, i], {rhs})")
                row += 1
        ns = {"np": np, "v": simd, "lanes_at": lanes_at, **{f"L{k}": p.address for k, p in enumerate(parts)}}
        return _compile_wrapper("\n".join(lines) + "\n", "_composite_lanes", ns, sig, self.name)

    def _python_kernels(self, x_dims):
        """The interpreted kernels: the same generated source, calling the parts' interpreted kernels."""
        ns = {"model_at": at_address, "jacobian_at": at_address}
        for k, leaf in enumerate(self.leaves):
            f, j, has_jac = leaf.python_kernels(x_dims)
            ns[f"F{k}"] = register_address(f)
            ns[f"J{k}"] = register_address(j) if has_jac else 0
        src = self._sources(direct=False)
        values = generated_function(src[0], "_composite_values", ns, self.name)
        if not self.has_jacobian:
            return values, None, False
        return values, generated_function(src[1], "_composite_jacobian", ns, self.name), True

    def _user_cfuncs(self, x_dims):
        module = self._generated(x_dims)
        ns = {"np": np, "model_at": model_at, "jacobian_at": jacobian_at}
        if module is None:
            for k, leaf in enumerate(self.leaves):
                f, j, has_jac = leaf.kernels(x_dims)
                ns[f"F{k}"] = f.address
                ns[f"J{k}"] = j.address if has_jac else 0
        src = self._sources(direct=module is not None)
        fc = _compile_wrapper(src[0], "_composite_values", ns, MODEL_SIG, self.name, module)
        if not self.has_jacobian:
            return fc, None, False
        jc = _compile_wrapper(src[1], "_composite_jacobian", ns, JAC_SIG, self.name, module)
        return fc, jc, True


def _value(tree, part="v{k}[i]"):
    """The composite's value at point ``i`` as source, from the parts' values (``part`` formatted with ``k``)."""
    if isinstance(tree, tuple):
        return f"({_value(tree[1], part)} {tree[0]} {_value(tree[2], part)})"
    return part.format(k=tree)


def _derivative(tree, k, part="v{k}[i]"):
    """``d composite / d v_k`` at point ``i`` as source (sum rule: 1; product rule: the other factor)."""
    if not isinstance(tree, tuple):
        return "1.0"
    op, left, right = tree
    inner, other = (left, right) if k in _leaves_of(left) else (right, left)
    d = _derivative(inner, k, part)
    if op == "+":
        return d
    return _value(other, part) if d == "1.0" else f"{d} * {_value(other, part)}"


def _describe(leaves, tree):
    if isinstance(tree, tuple):
        return f"({_describe(leaves, tree[1])} {tree[0]} {_describe(leaves, tree[2])})"
    return leaves[tree].name


def _peak_window(x, y):
    """Indices of a window around the highest point of ``y(x)``: the contiguous run (in ``x`` order) above
    the midpoint between the baseline and the peak, widened by its own width on each side (so a neighbour
    more than about 1.5 widths away stays outside)."""
    order = np.argsort(x, kind="stable")
    ys = y[order]
    base = np.mean(np.sort(ys)[: max(1, ys.size // 10)])
    top = int(np.argmax(ys))
    half = base + 0.5 * (ys[top] - base)
    lo = top
    while lo > 0 and ys[lo - 1] > half:
        lo -= 1
    hi = top
    while hi < ys.size - 1 and ys[hi + 1] > half:
        hi += 1
    width = max(hi - lo, 2)
    return np.sort(order[max(0, lo - width): min(ys.size, hi + width + 1)])
