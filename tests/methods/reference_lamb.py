"""A plain statement of the LAMB update as ``kdss_bench.methods.lamb`` documents it (optax.lamb), kept as a
test oracle: element by element in Python floats (double precision), one parameter tensor at a time.

For each tensor, at step t = 1, 2, ... with gradient g:

    m <- b1 * m + (1 - b1) * g              v <- b2 * v + (1 - b2) * g^2        (Adam moments)
    m_hat = m / (1 - b1^t)                  v_hat = v / (1 - b2^t)              (bias correction)
    u = m_hat / (sqrt(v_hat) + eps)  [+ weight_decay * w]                       (optax: eps outside the root)
    r = ||w|| / ||u||, or 1 when ||w|| = 0 or ||u|| = 0                         (trust ratio, per tensor)
    w <- w - lr * r * u

optax.lamb = chain(scale_by_adam(b1, b2, eps, eps_root=0), add_decayed_weights(weight_decay),
scale_by_trust_ratio(), scale_by_learning_rate(lr)); the defaults are b1 0.9, b2 0.999, eps 1e-6,
weight decay 0. A tensor without a gradient is not touched and its step count does not advance.
"""

from __future__ import annotations

import math


class ReferenceLamb:
    def __init__(self, params: list[list[float]], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-6, weight_decay: float = 0.0) -> None:
        self.params = [list(map(float, p)) for p in params]
        self.lr, self.betas, self.eps, self.weight_decay = lr, betas, eps, weight_decay
        self.m = [[0.0] * len(p) for p in self.params]
        self.v = [[0.0] * len(p) for p in self.params]
        self.t = [0] * len(self.params)
        self.ratios: list[float | None] = [None] * len(self.params)

    def step(self, grads: list[list[float] | None]) -> None:
        b1, b2 = self.betas
        for k, (w, g) in enumerate(zip(self.params, grads, strict=True)):
            if g is None:
                continue
            self.t[k] += 1
            t = self.t[k]
            m, v = self.m[k], self.v[k]
            for i, gi in enumerate(g):
                m[i] = b1 * m[i] + (1 - b1) * gi
                v[i] = b2 * v[i] + (1 - b2) * gi * gi
            update = []
            for i in range(len(w)):
                m_hat = m[i] / (1 - b1 ** t)
                v_hat = v[i] / (1 - b2 ** t)
                update.append(m_hat / (math.sqrt(v_hat) + self.eps) + self.weight_decay * w[i])
            w_norm = math.sqrt(sum(x * x for x in w))
            u_norm = math.sqrt(sum(x * x for x in update))
            ratio = 1.0 if w_norm == 0.0 or u_norm == 0.0 else w_norm / u_norm
            self.ratios[k] = ratio
            for i in range(len(w)):
                w[i] -= self.lr * ratio * update[i]
