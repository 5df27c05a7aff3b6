"""The bad-input table: what lsq and SciPy do with each bad input.

``python tests/bad_inputs.py > docs/bad-input.md`` writes the docs page; ``test_bad_input_table.py`` runs every
case and checks lsq's column (a clear error naming the argument, or a result with a status).
"""

import warnings

import numpy as np
import scipy.optimize as so

import lsq

X = np.linspace(-3, 3, 40)
Y = lsq.models.gaussian(X, 2.0, 0.3, 0.7, 0.1)
G = lsq.models.gaussian


def rosen(x):
    return np.array([10 * (x[1] - x[0] ** 2), 1 - x[0]])


def gauss(x, a, c, s, o):
    return a * np.exp(-0.5 * ((x - c) / s) ** 2) + o


def _changing(x, calls=[0]):  # noqa: B006 - the call count must persist between calls
    calls[0] += 1
    return np.ones(3) * x[0] if calls[0] < 3 else np.ones(4) * x[0]


# (entry, input, lsq call, SciPy call or None, lsq's exception type or None for a result, word the message names)
CASES = [
    ("least_squares", "`x0` 2-D", lambda: lsq.least_squares(rosen, [[1.0, 2.0]]),
     lambda: so.least_squares(rosen, [[1.0, 2.0]]), ValueError, "`x0`"),
    ("least_squares", "`x0` with NaN", lambda: lsq.least_squares(rosen, [np.nan, 1.0]),
     lambda: so.least_squares(rosen, [np.nan, 1.0]), ValueError, "`x0`"),
    ("least_squares", "`x0` complex", lambda: lsq.least_squares(rosen, [1j, 1.0]),
     lambda: so.least_squares(rosen, [1j, 1.0]), ValueError, "`x0`"),
    ("least_squares", "`x0` empty", lambda: lsq.least_squares(rosen, []),
     lambda: so.least_squares(rosen, []), ValueError, "`x0`"),
    ("least_squares", "`x0` a string", lambda: lsq.least_squares(rosen, "ab"),
     lambda: so.least_squares(rosen, "ab"), TypeError, "`x0`"),
    ("least_squares", "unknown `method`", lambda: lsq.least_squares(rosen, [1.0, 2.0], method="newtonish"),
     lambda: so.least_squares(rosen, [1.0, 2.0], method="newtonish"), ValueError, "`method`"),
    ("least_squares", "unknown `loss`", lambda: lsq.least_squares(rosen, [1.0, 2.0], loss="hinge"),
     lambda: so.least_squares(rosen, [1.0, 2.0], loss="hinge"), ValueError, "`loss`"),
    ("least_squares", "unknown `jac`", lambda: lsq.least_squares(rosen, [1.0, 2.0], jac="5-point"),
     lambda: so.least_squares(rosen, [1.0, 2.0], jac="5-point"), ValueError, "`jac`"),
    ("least_squares", "`bounds` with lower > upper", lambda: lsq.least_squares(rosen, [1.0, 2.0], bounds=(1, 0)),
     lambda: so.least_squares(rosen, [1.0, 2.0], bounds=(1, 0)), ValueError, "`bounds`"),
    ("least_squares", "`bounds` of the wrong length",
     lambda: lsq.least_squares(rosen, [1.0, 2.0], bounds=([0.0], [1.0, 2.0])),
     lambda: so.least_squares(rosen, [1.0, 2.0], bounds=([0.0], [1.0, 2.0])), ValueError, "`bounds`"),
    ("least_squares", "`bounds` with NaN", lambda: lsq.least_squares(rosen, [1.0, 2.0], bounds=(np.nan, 5)),
     lambda: so.least_squares(rosen, [1.0, 2.0], bounds=(np.nan, 5)), ValueError, "`bounds`"),
    ("least_squares", "`x0` outside `bounds`", lambda: lsq.least_squares(rosen, [1.0, 2.0], bounds=(3, 4)),
     lambda: so.least_squares(rosen, [1.0, 2.0], bounds=(3, 4)), ValueError, "`x0`"),
    ("least_squares", "negative `x_scale`", lambda: lsq.least_squares(rosen, [1.0, 2.0], x_scale=-1.0),
     lambda: so.least_squares(rosen, [1.0, 2.0], x_scale=-1.0), ValueError, "`x_scale`"),
    ("least_squares", "`f_scale` = 0", lambda: lsq.least_squares(rosen, [1.0, 2.0], f_scale=0.0),
     lambda: so.least_squares(rosen, [1.0, 2.0], f_scale=0.0), ValueError, "`f_scale`"),
    ("least_squares", "`verbose` = 3", lambda: lsq.least_squares(rosen, [1.0, 2.0], verbose=3),
     lambda: so.least_squares(rosen, [1.0, 2.0], verbose=3), ValueError, "`verbose`"),
    ("least_squares", "every tolerance None",
     lambda: lsq.least_squares(rosen, [1.0, 2.0], ftol=None, xtol=None, gtol=None),
     lambda: so.least_squares(rosen, [1.0, 2.0], ftol=None, xtol=None, gtol=None), ValueError, "tolerances"),
    ("least_squares", "`max_nfev` = 0", lambda: lsq.least_squares(rosen, [1.0, 2.0], max_nfev=0),
     lambda: so.least_squares(rosen, [1.0, 2.0], max_nfev=0), ValueError, "`max_nfev`"),
    ("least_squares", "`fun` returns a 2-D array", lambda: lsq.least_squares(lambda x: np.ones((2, 2)) * x[0], [1.0]),
     lambda: so.least_squares(lambda x: np.ones((2, 2)) * x[0], [1.0]), ValueError, "`fun`"),
    ("least_squares", "`fun` returns a string", lambda: lsq.least_squares(lambda x: "a", [1.0]),
     lambda: so.least_squares(lambda x: "a", [1.0]), TypeError, "`fun`"),
    ("least_squares", "`fun` is NaN at `x0`", lambda: lsq.least_squares(lambda x: np.array([np.nan, x[0]]), [1.0]),
     lambda: so.least_squares(lambda x: np.array([np.nan, x[0]]), [1.0]), ValueError, "`x0`"),
    ("least_squares", "`fun` changes length mid-fit", lambda: lsq.least_squares(_changing, [1.0]), None, ValueError,
     "`fun`"),
    ("least_squares", "`jac` of the wrong shape",
     lambda: lsq.least_squares(rosen, [1.0, 2.0], jac=lambda x: np.ones((3, 2))),
     lambda: so.least_squares(rosen, [1.0, 2.0], jac=lambda x: np.ones((3, 2))), ValueError, "`jac`"),
    ("least_squares", "unknown `tr_options` key", lambda: lsq.least_squares(rosen, [1.0, 2.0], tr_options={"tol": 1}),
     lambda: so.least_squares(rosen, [1.0, 2.0], tr_options={"tol": 1}), TypeError, "`tr_options`"),
    ("least_squares", "compiled model residuals, `x0` too short",
     lambda: lsq.least_squares(G.residuals(X, Y), [1.0, 2.0]), None, ValueError, "`x0`"),
    ("curve_fit", "`p0` too short for a 4-parameter model", lambda: lsq.curve_fit(G, X, Y, p0=[1, 2]),
     lambda: so.curve_fit(gauss, X, Y, p0=[1, 2]), ValueError, "`p0`"),
    ("curve_fit", "`p0` too long for a 4-parameter model", lambda: lsq.curve_fit(G, X, Y, p0=list(range(1, 9))),
     lambda: so.curve_fit(gauss, X, Y, p0=list(range(1, 9))), ValueError, "`p0`"),
    ("curve_fit", "`bounds` for 2 of 4 parameters",
     lambda: lsq.curve_fit(G, X, Y, p0=[1, 0, 1, 0], bounds=([0, 0], [10, 10])),
     lambda: so.curve_fit(gauss, X, Y, p0=[1, 0, 1, 0], bounds=([0, 0], [10, 10])), ValueError, "`bounds`"),
    ("curve_fit", "`ydata` one point short", lambda: lsq.curve_fit(lambda x, a, b: a * x + b, X, Y[:-1]),
     lambda: so.curve_fit(lambda x, a, b: a * x + b, X, Y[:-1]), ValueError, "`ydata`"),
    ("curve_fit", "model returns shape (m, 1)", lambda: lsq.curve_fit(lambda x, a, b: (a * x + b)[:, None], X, Y),
     lambda: so.curve_fit(lambda x, a, b: (a * x + b)[:, None], X, Y), ValueError, "`ydata`"),
    ("curve_fit", "`sigma` of the wrong length", lambda: lsq.curve_fit(G, X, Y, p0=[1, 0, 1, 0], sigma=np.ones(3)),
     lambda: so.curve_fit(gauss, X, Y, p0=[1, 0, 1, 0], sigma=np.ones(3)), ValueError, "`sigma`"),
    ("curve_fit", "`sigma` with a zero", lambda: lsq.curve_fit(G, X, Y, p0=[1, 0, 1, 0], sigma=np.r_[0.0, np.ones(39)]),
     lambda: so.curve_fit(gauss, X, Y, p0=[1, 0, 1, 0], sigma=np.r_[0.0, np.ones(39)]), ValueError, "`sigma`"),
    ("curve_fit", "`sigma` a matrix that is not positive definite",
     lambda: lsq.curve_fit(G, X, Y, p0=[1, 0, 1, 0], sigma=-np.eye(40)),
     lambda: so.curve_fit(gauss, X, Y, p0=[1, 0, 1, 0], sigma=-np.eye(40)), ValueError, "`sigma`"),
    ("curve_fit", "NaN in `ydata`", lambda: lsq.curve_fit(G, X, np.r_[np.nan, Y[1:]], p0=[1, 0, 1, 0]),
     lambda: so.curve_fit(gauss, X, np.r_[np.nan, Y[1:]], p0=[1, 0, 1, 0]), ValueError, "`ydata`"),
    ("curve_fit", "unknown `nan_policy`", lambda: lsq.curve_fit(G, X, Y, p0=[1, 0, 1, 0], nan_policy="skip"),
     lambda: so.curve_fit(gauss, X, Y, p0=[1, 0, 1, 0], nan_policy="skip"), ValueError, "nan_policy"),
    ("curve_fit", "`method='lm'` with bounds",
     lambda: lsq.curve_fit(G, X, Y, p0=[1, 0, 1, 0], method="lm", bounds=(-10, 10)),
     lambda: so.curve_fit(gauss, X, Y, p0=[1, 0, 1, 0], method="lm", bounds=(-10, 10)), ValueError, "'lm'"),
    ("fit", "`p0` of the wrong length", lambda: lsq.fit(G, X, Y, p0=[1, 2]), None, ValueError, "`p0`"),
    ("fit", "`fixed` names an unknown parameter", lambda: lsq.fit(G, X, Y, fixed={"width": 1.0}), None, ValueError,
     "`fixed`"),
    ("curve_fit_batch", "`Y` 1-D", lambda: lsq.curve_fit_batch(G, X, Y, p0=[1, 0, 1, 0]), None, ValueError, "`Y`"),
    ("curve_fit_batch", "`p0` of the wrong shape", lambda: lsq.curve_fit_batch(G, X, Y[None], p0=[1, 0]), None,
     ValueError, "`p0`"),
    ("curve_fit_batch", "a row of `Y` with NaN", lambda: lsq.curve_fit_batch(G, X, np.array([Y, Y * np.nan]),
                                                                            p0=[1, 0, 1, 0]), None, None, ""),
    ("Model", "built-in called with 3 of 4 parameters", lambda: G(X, 1.0, 2.0, 3.0), None, TypeError, "takes 4"),
    ("Model", "built-in Jacobian with 2 of 4 parameters", lambda: G.jacobian(X, 1.0, 2.0), None, TypeError,
     "takes 4"),
]


def outcome(call):
    """``(exception type or None, short text)`` of a call."""
    if call is None:
        return None, "(no such call)"
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            out = call()
    except Exception as exc:  # noqa: BLE001 - the table reports whatever the library raises
        text = " ".join(str(exc).split())
        return type(exc), f"{type(exc).__name__}: {text[:110]}{'...' if len(text) > 110 else ''}"
    if hasattr(out, "status"):
        status = int(out.status) if np.ndim(out.status) == 0 else [int(v) for v in out.status]
        return None, f"returns a result, status {status}"
    return None, "returns a result"


def table():
    rows = ["# What lsq does with bad input", "",
            "Each row is a test (`tests/test_bad_input_table.py`); the page is written by "
            "`python tests/bad_inputs.py > docs/bad-input.md`. lsq never crashes the process: a bad argument is a "
            "`ValueError` or `TypeError` that names it, a bad fit in a batch is a status.", "",
            "| entry | input | lsq | SciPy |", "|---|---|---|---|"]
    for entry, what, lsq_call, scipy_call, _, _ in CASES:
        cell = [outcome(lsq_call)[1], outcome(scipy_call)[1]]
        cell = [c.replace("|", "\\|").replace("`", "'") for c in cell]
        rows.append(f"| `{entry}` | {what} | {cell[0]} | {cell[1]} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(table(), end="")
