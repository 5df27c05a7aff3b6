"""First-order methods, learning-rate schedules, method='auto'."""

import numpy as np
import pytest

import lsq
from lsq import schedules

RNG = np.random.default_rng(0)
A = RNG.standard_normal((200, 5))
X_TRUE = np.arange(1.0, 6.0)
B = A @ X_TRUE + 0.01 * RNG.standard_normal(200)
X_LSTSQ = np.linalg.lstsq(A, B, rcond=None)[0]

T = np.linspace(0, 3, 60)
Y_EXP = 2.0 * np.exp(-0.7 * T) + 0.02 * np.random.default_rng(1).standard_normal(60)
X_EXP = lsq.least_squares(lambda p: p[0] * np.exp(-p[1] * T) - Y_EXP, [1.0, 1.0], ftol=1e-15, xtol=1e-15,
                          gtol=1e-15).x

METHODS = ["gd", "sgd", "momentum", "nesterov", "rmsprop", "adam"]


def linear(x):
    return A @ x - B


def exp_resid(p):
    return p[0] * np.exp(-p[1] * T) - Y_EXP


def exp_jac(p):
    e = np.exp(-p[1] * T)
    return np.stack((e, -p[0] * T * e), axis=1)


@pytest.mark.parametrize("method", METHODS)
def test_linear_least_squares_minimum(method):
    kw = dict(lr=0.003, schedule="inverse_sqrt", epochs=3000) if method == "sgd" else {}
    r = lsq.least_squares(linear, np.zeros(5), jac=lambda x: A, method=method, seed=0, gtol=1e-9, ftol=1e-14,
                          max_nfev=100_000, **kw)
    tol = 2e-3 if method == "sgd" else 1e-6  # sgd on noisy data hovers around the minimum
    np.testing.assert_allclose(r.x, X_LSTSQ, atol=tol)
    assert r.method == method


@pytest.mark.parametrize("method", ["gd", "momentum", "nesterov", "rmsprop", "adam"])
def test_well_conditioned_exponential_fit(method):
    r = lsq.least_squares(exp_resid, [1.5, 0.5], jac=exp_jac, method=method, gtol=1e-10, ftol=1e-15,
                          max_nfev=200_000)
    np.testing.assert_allclose(r.x, X_EXP, rtol=1e-4)
    assert r.cost == pytest.approx(0.5 * np.sum(exp_resid(X_EXP) ** 2), rel=1e-6)


def test_adam_first_step_is_bias_corrected():
    # After one step both moments are exactly g and g**2 once bias-corrected: dx = -lr * g / (|g| + eps).
    x0 = np.array([0.3, -0.2, 0.5, 1.0, 2.0])
    g = A.T @ linear(x0)
    lr, eps = 0.05, 1e-8
    r = lsq.least_squares(linear, x0, jac=lambda x: A, method="adam", lr=lr, eps=eps, epochs=1, history=5)
    np.testing.assert_allclose(r.x, x0 - lr * g / (np.abs(g) + eps), rtol=1e-12)


def test_minibatch_flag_passes_index_arrays():
    seen = []

    def fun(x, idx):
        seen.append(len(B[idx]))
        return A[idx] @ x - B[idx]

    r = lsq.least_squares(fun, np.zeros(5), jac=lambda x, idx: A[idx], method="sgd", minibatch=True,
                          batch_size=50, lr=0.002, epochs=400, seed=1, schedule=schedules.inverse_time(0.002, 0.01))
    assert set(seen) == {50, 200}  # minibatches, and the full set once per epoch for the cost
    np.testing.assert_allclose(r.x, X_LSTSQ, atol=5e-3)


def test_bounds_loss_callback_history_with_first_order():
    stops = []
    r = lsq.least_squares(linear, np.zeros(5), jac=lambda x: A, method="adam", bounds=(0, 3), loss="soft_l1",
                          callback=lambda intermediate_result: stops.append(1) or len(stops) >= 5)
    assert r.status == -2 and len(stops) == 5
    assert np.all((r.x >= 0) & (r.x <= 3))
    assert r.history["cost"].size == 6


def test_schedules_give_documented_values():
    assert schedules.constant(0.1)(7) == 0.1
    assert schedules.inverse_time(0.1, decay=0.5)(4) == pytest.approx(0.1 / 3)
    assert schedules.step(0.1, factor=0.5, every=10)(25) == pytest.approx(0.025)
    assert schedules.exponential(0.1, gamma=0.9)(3) == pytest.approx(0.1 * 0.729)
    assert schedules.inverse_sqrt(0.1)(3) == pytest.approx(0.05)


def test_auto_picks_lm_under_budget_and_adam_over_it():
    under = lsq.least_squares(linear, np.zeros(5), method="auto")
    assert under.method == "lm"
    over = lsq.least_squares(linear, np.zeros(5), jac=lambda x: A, method="auto", memory_budget=2000, epochs=3)
    assert over.method == "adam"


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        (dict(lr=0.0), "`lr` must be a positive number"),
        (dict(lr=-1.0), "`lr` must be a positive number"),
        (dict(beta1=1.0), "`beta1` must be in"),
        (dict(beta2=-0.1), "`beta2` must be in"),
        (dict(batch_size=500), r"`batch_size` must be an int in \[1, m=200\]"),
        (dict(schedule="cosine"), "`schedule` must be one of"),
        (dict(epochs=0), "`epochs` must be a positive int"),
    ],
)
def test_bad_hyper_parameters(kw, match):
    with pytest.raises(ValueError, match=match):
        lsq.least_squares(linear, np.zeros(5), method="adam", **kw)
