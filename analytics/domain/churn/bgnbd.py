"""BG/NBD, the beta-geometric / negative binomial model of repeat purchases (Fader, Hardie &
Lee 2005, "Counting Your Customers the Easy Way", Marketing Science 24(2)): while alive a
customer buys at a Poisson rate λ ~ Gamma(r, alpha); after each purchase they drop out with
probability p ~ Beta(a, b).

Fitted here by maximum likelihood with scipy on the closed-form likelihood (eq. 6 of the
paper) instead of the ``lifetimes`` package: lifetimes is unmaintained, pins old numpy/pandas
APIs and would add a dependency for about forty lines of arithmetic. Each customer is
summarised by x (repeat purchase days), t_x (time of the last purchase since the first) and T
(time from the first purchase to the cutoff), in one unit of time throughout.

The score for churn is P(no purchase in the next t), not P(alive): a one-time buyer is "alive"
with certainty under BG/NBD (dropout happens only after a purchase) yet rarely buys again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from analytics.store.results import storable


@storable
@dataclass(frozen=True)
class BGNBD:
    r: float
    alpha: float
    a: float
    b: float

    def p_alive(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """P(still alive at T | x, t_x, T) (eq. 11 of Fader, Hardie & Lee, "Computing P(alive)
        using the BG/NBD model", 2008 note)."""
        x, t_x, T = _arrays(x, t_x, T)
        log_ratio = (self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + t_x))
        odds = np.where(x > 0, np.exp(np.log(self.a) - np.log(np.maximum(self.b + x - 1,
                                                                            1e-12))
                                      + log_ratio), 0.0)
        return 1.0 / (1.0 + odds)

    def p_none(self, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """P(no purchase in (T, T + t] | x, t_x, T): dead, or alive with no purchase. Alive at
        T, λ's posterior is Gamma(r + x, alpha + T) and no dropout can happen without a purchase,
        so P(none | alive) = ((alpha + T) / (alpha + T + t))^(r + x)."""
        x, t_x, T = _arrays(x, t_x, T)
        alive = self.p_alive(x, t_x, T)
        quiet = np.exp((self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + T + t)))
        return 1.0 - alive + alive * quiet

    def expected(self, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
                 ) -> np.ndarray:
        """E[purchases in (T, T + t] | x, t_x, T] (eq. 10 of the paper)."""
        x, t_x, T = _arrays(x, t_x, T)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = t / (alpha + T + t)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
        head = (a + b + x - 1) / (a - 1) if abs(a - 1) > 1e-9 else np.nan
        body = 1 - np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t))) * hyp
        return head * body * self.p_alive(x, t_x, T)


def _arrays(*values: np.ndarray) -> list[np.ndarray]:
    return [np.asarray(v, dtype=float) for v in values]


def log_likelihood(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
                   ) -> np.ndarray:
    """Each customer's log-likelihood (eq. 6)."""
    r, alpha, a, b = params
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = (special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b)
          - special.gammaln(a + b + x))
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-12))
                      - (r + x) * np.log(alpha + t_x), -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


def fit(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> BGNBD:
    """Maximum likelihood on the log of the four parameters (they are positive) by L-BFGS;
    Nelder–Mead takes over only where L-BFGS does not converge (it costs a hundred times the
    evaluations, most of a backtest's time when it ran on every fit)."""
    x, t_x, T = _arrays(x, t_x, T)
    if len(x) == 0:
        raise ValueError("no customers to fit")

    def loss(logp: np.ndarray) -> float:
        value = -log_likelihood(np.exp(logp), x, t_x, T).mean()
        return float(value) if np.isfinite(value) else 1e12

    start = np.log([0.5, max(float(np.mean(T)) / 10, 1e-3), 0.8, 2.5])
    best = optimize.minimize(loss, start, method="L-BFGS-B",
                             bounds=[(-12, 8), (-12, 12), (-12, 8), (-12, 8)],
                             options={"ftol": 1e-13, "gtol": 1e-9, "maxiter": 2000})
    chosen = best.x
    if not best.success:   # a flat or awkward surface: Nelder-Mead from where L-BFGS stopped
        polish = optimize.minimize(loss, best.x, method="Nelder-Mead",
                                   options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 2000})
        chosen = polish.x if polish.fun <= best.fun else best.x
    r, alpha, a, b = np.exp(chosen)
    return BGNBD(float(r), float(alpha), float(a), float(b))
