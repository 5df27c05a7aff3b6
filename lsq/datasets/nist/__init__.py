"""NIST StRD nonlinear regression problems (public domain), with certified values and exact Jacobians.

Each problem gives data ``x`` (1-D, or ``(2, m)`` for Nelson), ``y`` (``log(y)`` for Nelson, whose model is
for the logarithm), two starting points, certified parameters, standard deviations and residual sum of
squares, and ``model(x, b)`` / ``jacobian(x, b)``. Roszman1 uses the one-argument ``arctan`` with which the
certified values were computed.
"""

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from . import _models
from .formulas import FORMULAS

_DIR = Path(__file__).parent

LEVELS = {
    "lower": ["Misra1a", "Chwirut2", "Chwirut1", "Lanczos3", "Gauss1", "Gauss2", "DanWood", "Misra1b"],
    "average": ["Kirby2", "Hahn1", "Nelson", "MGH17", "Lanczos1", "Lanczos2", "Gauss3", "Misra1c", "Misra1d",
                "Roszman1", "ENSO"],
    "higher": ["MGH09", "Thurber", "BoxBOD", "Rat42", "MGH10", "Eckerle4", "Rat43", "Bennett5"],
}


@dataclass(frozen=True)
class NistProblem:
    """One NIST StRD problem."""

    name: str
    level: str
    x: np.ndarray
    y: np.ndarray
    start1: np.ndarray
    start2: np.ndarray
    certified: np.ndarray
    certified_std: np.ndarray
    certified_rss: float
    dof: int
    model: object = field(repr=False)
    jacobian: object = field(repr=False)
    formula: object = field(repr=False)
    """The model as a ``curve_fit`` function ``f(x, b1, ..., bp)`` (:mod:`.formulas`), for ``lsq.model``."""

    @property
    def n_params(self):
        return self.certified.shape[0]

    def start(self, k):
        """Starting point ``k`` (1 or 2)."""
        return (self.start1 if k == 1 else self.start2).copy()

    def residuals(self, b):
        """``model(x, b) - y``."""
        return self.model(self.x, b) - self.y

    def residual_jacobian(self, b):
        """Exact Jacobian of :meth:`residuals`."""
        return self.jacobian(self.x, b)

    def lre(self, b):
        """Log relative error per parameter, ``-log10(|b - cert| / |cert|)``, capped at 11 digits."""
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.abs(np.asarray(b) - self.certified) / np.abs(self.certified)
            out = -np.log10(rel)
        out = np.where(np.isfinite(out), out, np.where(rel == 0, 11.0, 0.0))
        return np.clip(out, 0.0, 11.0)


def nist_names():
    """The 27 problem names, lower difficulty first."""
    return [n for level in LEVELS.values() for n in level]


@cache
def load_nist(name):
    """Load one NIST StRD problem by name (case-insensitive).

    Parameters
    ----------
    name : str
        For example ``'Misra1a'`` or ``'MGH09'``; see :func:`nist_names`.

    Returns
    -------
    NistProblem
    """
    lookup = {n.lower(): n for n in nist_names()}
    if not isinstance(name, str) or name.lower() not in lookup:
        raise ValueError(f"`name` must be one of {nist_names()}, got {name!r}.")
    name = lookup[name.lower()]
    lines = (_DIR / f"{name}.dat").read_text().splitlines()
    params = []
    rss = dof = None
    for line in lines[40:60]:
        s = line.strip()
        if s[:1] == "b" and "=" in s:
            params.append([float(v) for v in s.split("=", 1)[1].split()])
        elif s.startswith("Residual Sum of Squares:"):
            rss = float(s.split(":")[1])
        elif s.startswith("Degrees of Freedom:"):
            dof = int(s.split(":")[1])
    data_start = 60  # line 60 is the column header, observations follow (the file layout is fixed)
    params = np.array(params)
    data = np.array([[float(v) for v in ln.split()] for ln in lines[data_start:] if ln.strip()])
    y = data[:, 0]
    x = data[:, 1] if data.shape[1] == 2 else data[:, 1:].T.copy()
    if name == "Nelson":
        y = np.log(y)
    if name == "Rat43":
        dof = y.shape[0] - params.shape[0]  # the header says 9; n - p = 11 (see the data README)
    level = next(lv for lv, names in LEVELS.items() if name in names)
    model, jac = _models.MODELS[name]
    return NistProblem(name=name, level=level, x=np.ascontiguousarray(x), y=y, start1=params[:, 0].copy(),
                       start2=params[:, 1].copy(), certified=params[:, 2].copy(),
                       certified_std=params[:, 3].copy(), certified_rss=rss, dof=dof, model=model,
                       jacobian=jac, formula=FORMULAS[name])
