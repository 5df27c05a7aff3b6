"""First-order update rules: one step ``x <- x - lr * direction(g, state)`` per gradient.

=============  =====================================================================================
rule           update (``g`` the gradient at ``x``; ``t`` the step count from 1)
=============  =====================================================================================
``gd``/``sgd`` ``x -= lr g``
``momentum``   ``v = mu v + g``; ``x -= lr v`` (heavy ball)
``nesterov``   ``v = mu v + g``; ``x -= lr (g + mu v)`` (Nesterov's look-ahead, in the form that needs
               the gradient at ``x`` only)
``rmsprop``    ``s = beta2 s + (1 - beta2) g**2``; ``x -= lr g / (sqrt(s) + eps)``
``adam``       ``v = beta1 v + (1 - beta1) g``; ``s = beta2 s + (1 - beta2) g**2``;
               ``x -= lr (v / (1 - beta1**t)) / (sqrt(s / (1 - beta2**t)) + eps)`` (both moments
               bias-corrected)
=============  =====================================================================================
"""

import math

from ..._setup.jit import jit

RULE_GD = 0
RULE_MOMENTUM = 1
RULE_NESTEROV = 2
RULE_RMSPROP = 3
RULE_ADAM = 4


@jit
def first_order_step(rule, x, g, v, s, t, lr, beta1, beta2, eps, mu, lb, ub, out):
    """Write the next point into ``out`` (projected onto ``[lb, ub]``); ``v`` and ``s`` are updated in place."""
    for j in range(x.shape[0]):
        gj = g[j]
        if rule == RULE_GD:
            d = gj
        elif rule == RULE_MOMENTUM:
            v[j] = mu * v[j] + gj
            d = v[j]
        elif rule == RULE_NESTEROV:
            v[j] = mu * v[j] + gj
            d = gj + mu * v[j]
        elif rule == RULE_RMSPROP:
            s[j] = beta2 * s[j] + (1.0 - beta2) * gj * gj
            d = gj / (math.sqrt(s[j]) + eps)
        else:
            v[j] = beta1 * v[j] + (1.0 - beta1) * gj
            s[j] = beta2 * s[j] + (1.0 - beta2) * gj * gj
            v_hat = v[j] / (1.0 - beta1**t)
            s_hat = s[j] / (1.0 - beta2**t)
            d = v_hat / (math.sqrt(s_hat) + eps)
        out[j] = min(max(x[j] - lr * d, lb[j]), ub[j])
