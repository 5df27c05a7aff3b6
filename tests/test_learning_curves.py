"""Learning curves of the first-order methods: validation cost per epoch, early stopping, the two plots."""

import numpy as np
import pytest

import lsq
from lsq.plot import ema, learning_curves, validation_curve

RNG = np.random.default_rng(0)
X = np.sort(RNG.uniform(-1, 1, 15))
X_VAL = np.linspace(-1, 1, 200)
Y = np.sin(2.5 * X) + 0.2 * RNG.standard_normal(X.size)
Y_VAL = np.sin(2.5 * X_VAL) + 0.2 * RNG.standard_normal(X_VAL.size)
ADAM = dict(method="adam", epochs=3000, lr=0.05, ftol=None, gtol=None, max_nfev=10**6, history=3000)


def adam_fit(deg, **kw):
    return lsq.fit(lsq.models.polynomial(deg), X, Y, p0=np.zeros(deg + 1), validation_data=(X_VAL, Y_VAL),
                   **{**ADAM, **kw})


def test_an_overfitting_degree_shows_the_validation_cost_rising_after_its_minimum():
    h = adam_fit(12).result.history
    train, val = h["cost"], h["val_cost"]
    assert train.shape == val.shape and train.size == 3001  # every epoch and the end
    best = int(np.argmin(val))
    assert 0 < best < val.size - 1
    assert val[-1] > 1.5 * val[best]  # overfitting: validation rises ...
    assert train[-1] < train[best]  # ... while training keeps falling
    # a degree that cannot overfit these data: the validation cost ends at its minimum (to 1 %)
    h3 = adam_fit(3).result.history
    assert h3["val_cost"][-1] <= 1.01 * h3["val_cost"].min()


def test_patience_stops_early_and_returns_the_best_epoch():
    r = adam_fit(12, patience=50)
    res = r.result
    assert res.status == 5 and res.success and "validation cost did not improve" in res.message
    val = res.history["val_cost"]
    assert int(np.argmin(val)) == val.size - 1 - 50  # 50 epochs without improvement after the best
    # the parameters are the best epoch's: their validation cost is the minimum
    resid = lsq.models.polynomial(12)(X_VAL, *r.values) - Y_VAL
    assert 0.5 * resid @ resid == pytest.approx(val.min(), rel=1e-12)


def test_validation_data_through_least_squares_and_a_held_out_fraction():
    model = lsq.models.polynomial(5)
    res = lsq.least_squares(model.residuals(X, Y), np.zeros(6), validation_data=(X_VAL, Y_VAL), **ADAM)
    assert res.history["val_cost"].size == res.history["cost"].size
    fun_val = model.residuals(X_VAL, Y_VAL)
    same = lsq.least_squares(model.residuals(X, Y), np.zeros(6), validation_data=fun_val, **ADAM)
    np.testing.assert_array_equal(res.history["val_cost"], same.history["val_cost"])
    r = lsq.fit(model, X, Y, p0=np.zeros(6), validation_fraction=0.2, seed=3, **ADAM)
    assert r.n_data == 12 and r.result.history["val_cost"].size > 1
    # minibatches: one cost per batch, at fractional epochs
    r = lsq.fit(model, X, Y, p0=np.zeros(6), method="sgd", batch_size=5, epochs=20, lr=0.05,
                validation_data=(X_VAL, Y_VAL))
    h = r.result.history
    assert h["batch_cost"].size == 20 * 3 and np.all(np.diff(h["batch_epoch"]) > 0)
    with pytest.raises(ValueError, match="go with the first-order methods"):
        lsq.least_squares(model.residuals(X, Y), np.zeros(6), validation_data=fun_val)
    with pytest.raises(ValueError, match="`patience` needs `validation_data`"):
        lsq.least_squares(model.residuals(X, Y), np.zeros(6), method="adam", patience=5)
    with pytest.raises(ValueError, match="not both"):
        lsq.fit(model, X, Y, validation_data=(X_VAL, Y_VAL), validation_fraction=0.2, method="adam")


def test_ema_is_bias_corrected():
    np.testing.assert_allclose(ema(np.full(5, 3.0), 0.9), 3.0)  # a constant stays put from the first point
    v = np.array([1.0, 2.0, 3.0])
    m1, m2 = 0.1 * 1.0, 0.9 * 0.1 + 0.1 * 2.0
    np.testing.assert_allclose(ema(v, 0.9)[:2], [m1 / 0.1, m2 / (1 - 0.81)])


def test_learning_curves_figure_draws_raw_smoothed_and_best_epoch():
    r = adam_fit(12)
    fig = learning_curves(r, smoothing=0.9)
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert {"training", "training (smoothed)", "validation", "validation (smoothed)"} <= set(labels)
    val = r.result.history["val_cost"]
    line = ax.get_lines()[labels.index("validation")]
    np.testing.assert_array_equal(line.get_ydata(), val)
    best = [lbl for lbl in labels if lbl.startswith("best validation epoch")]
    assert best == [f"best validation epoch ({int(np.argmin(val))})"]


def test_validation_curve_against_model_complexity():
    models = [lsq.models.polynomial(d) for d in (1, 3, 5, 9)]
    search = lsq.selection.grid_search(None, X, Y, {"model": models}, k=3)
    fig = validation_curve(search, "model")
    ax = fig.axes[0]
    train = next(line for line in ax.get_lines() if line.get_label() == "training")
    np.testing.assert_allclose(train.get_ydata(), [t["train_mean"] for t in search.trials])
    assert [t.get_text() for t in ax.get_xticklabels()] == [m.name for m in models]
    # training cost falls with the degree; the selected model is the lowest validation cost
    assert np.all(np.diff(train.get_ydata()) < 0)
    assert search.best_settings["model"] is min(search.trials, key=lambda t: t["val_mean"])["settings"]["model"]
