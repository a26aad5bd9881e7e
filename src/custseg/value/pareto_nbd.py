"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987): while alive a customer buys at his own
Poisson rate lambda (lambda ~ Gamma(r, rate alpha)), and he leaves for good after an
exponential lifetime of rate mu (mu ~ Gamma(s, rate beta)), at any moment, not only at a
purchase as in BG/NBD. The log-likelihood in closed form (Fader & Hardie 2005, "A note on
deriving the Pareto/NBD model and related expressions", equation 22, with the Gauss
hypergeometric function from scipy), its maximum-likelihood fit, and the per-customer
quantities: P(alive), expected purchases, the probability of no purchase.

Same summary as custseg.value.btyd: ``x`` repeat purchases, ``t_x`` the time of the last,
``T`` the time from the first purchase to the snapshot, in one time unit.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln, hyp2f1

from .btyd import Fit, _as_arrays, _fit

PARETO_NBD_PARAMS = ("r", "alpha", "s", "beta")


def _log_hyp2f1_terms(params, x, times):
    """log(2F1(r + s + x, c; r + s + x + 1; |alpha - beta| / (max + time)) / (max + time)^(r+s+x)),
    with c = s + 1 when alpha >= beta, else r + x, and max = max(alpha, beta): the two ends of
    the likelihood's A_0, each computed once per distinct (x, time)."""
    r, alpha, s, beta = params
    rsx = r + s + x
    if alpha >= beta:
        big, c = alpha, s + 1.0
    else:
        big, c = beta, r + x
    z = abs(alpha - beta) / (big + times)
    return np.log(hyp2f1(rsx, c, rsx + 1.0, z)) - rsx * np.log(big + times)


# the series of _log_a0_series is used where its terms fall at least this fast
SERIES_RATIO = 0.5


def _series_setup(params, x, T):
    """Which customers' A_0 the series computes, and the ratio its terms fall by at most: the
    factor with the larger of alpha and beta is smooth over [t_x, T] when that parameter is far
    beyond the other plus T. Exactly there the hypergeometric function's argument is near 1,
    where scipy's hyp2f1 slows down a hundredfold (a fit wandering toward no dropout, beta ->
    infinity, spent seconds there)."""
    r, alpha, s, beta = params
    small, gap = min(alpha, beta), abs(alpha - beta)
    smooth_exponent = s + 1.0 if alpha < beta else r + x
    with np.errstate(divide="ignore"):
        q = (small + T) / gap
    ratio = np.maximum(smooth_exponent, 1.0) * q
    return ratio <= SERIES_RATIO, ratio


def _log_a0_series(params, x, t_x, T, ratio) -> np.ndarray:
    """log A_0 = log((r + s + x) I), I = integral over [t_x, T] of (alpha + tau)^-(r+x)
    (beta + tau)^-(s+1), by expanding the smooth factor (the larger parameter's, M, with the
    other m and D = M - m) in the binomial series of (m + tau) / D and integrating the power law
    term by term:
        I = D^-e2 (m + t_x)^(1-e1) sum_j binom(-e2, j) ((m + t_x) / D)^j expm1(k_j L) / k_j,
    k_j = j - e1 + 1, L = log((m + T) / (m + t_x)); e1, e2 the exponents of m's and M's factors.
    Its terms fall by ``ratio`` at least (<= SERIES_RATIO); enough are summed for 1e-17."""
    r, alpha, s, beta = params
    if alpha < beta:
        small, gap, e1, e2 = alpha, beta - alpha, r + x, np.full_like(x, s + 1.0)
    else:
        small, gap, e1, e2 = beta, alpha - beta, np.full_like(x, s + 1.0), r + x
    terms = int(np.ceil(-39.2 / np.log(max(float(ratio.max()), 1e-300)))) + 1 if len(x) else 0
    u = (small + t_x) / gap
    span = np.log((small + T) / (small + t_x))
    total, coefficient, power = np.zeros_like(x), np.ones_like(x), np.ones_like(x)
    for j in range(max(terms, 1)):
        k = j - e1 + 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            integral = np.where(np.abs(k) > 1e-12, np.expm1(k * span) / k, span)
        total += coefficient * power * integral
        coefficient = coefficient * -(e2 + j) / (j + 1.0)
        power = power * u
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(r + s + x) - e2 * np.log(gap) + (1.0 - e1) * np.log(small + t_x) + np.log(total)


def _log_a0(params, x, t_x, T, hyp_terms=None):
    """log A_0 (-inf when t_x = T): the binomial series where it converges fast, else the note's
    equation 22, log(F(t_x) - F(T)) with F the hypergeometric terms (``hyp_terms(mask)``: their
    values at t_x and at T of the masked customers, when the caller computes them once per
    distinct (x, time))."""
    series, ratio = _series_setup(params, x, T)
    out = np.empty_like(x)
    with np.errstate(all="ignore"):
        if series.any():
            out[series] = _log_a0_series(params, x[series], t_x[series], T[series], ratio[series])
        rest = ~series
        if rest.any():
            if hyp_terms is None:
                first = _log_hyp2f1_terms(params, x[rest], t_x[rest])
                second = _log_hyp2f1_terms(params, x[rest], T[rest])
            else:
                first, second = hyp_terms(rest)
            out[rest] = first + np.log1p(-np.exp(np.minimum(second - first, 0.0)))
    return out


def _log_likelihood_parts(params, x, log_a0, T):
    r, alpha, s, beta = params
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    dropped = np.log(s) - np.log(r + s + x) + log_a0
    return common, alive, dropped


def log_likelihood(params, x, t_x, T) -> np.ndarray:
    """Each customer's log-likelihood under Pareto/NBD (r, alpha, s, beta): Gamma(r+x) alpha^r
    beta^s / Gamma(r) * [1 / ((alpha+T)^(r+x) (beta+T)^s) + s / (r+s+x) * A_0]."""
    x, t_x, T = _as_arrays(x, t_x, T)
    common, alive, dropped = _log_likelihood_parts(params, x, _log_a0(params, x, t_x, T), T)
    return common + np.logaddexp(alive, dropped)


def _negative(x, t_x, T, w):
    """The summed negative log-likelihood and its gradient (forward differences on each
    parameter, relative step 1e-7: the hypergeometric function has no derivative in its
    parameters in scipy, and each likelihood costs its hypergeometric terms). The
    hypergeometric terms are computed once per distinct (x, t_x) and (x, T): in whole days at
    most a few tens of thousands, whatever the customers."""
    ends, inverse = np.unique(np.column_stack([np.r_[x, x], np.r_[t_x, T]]), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    at_t_x, at_T = inverse[: len(x)], inverse[len(x) :]
    # the terms of x alone and of T alone, once per distinct value
    levels, at_x = np.unique(x, return_inverse=True)
    ages, at_age = np.unique(T, return_inverse=True)
    x_weights = np.bincount(at_x.ravel(), weights=w, minlength=len(levels))
    total_w = float(w.sum())

    def value(params):
        r, alpha, s, beta = params

        def hyp_terms(mask):
            # the hypergeometric terms of the distinct (x, time) that the masked customers need
            needed = np.zeros(len(ends), dtype=bool)
            needed[at_t_x[mask]] = True
            needed[at_T[mask]] = True
            terms = np.full(len(ends), np.nan)
            terms[needed] = _log_hyp2f1_terms(params, ends[needed, 0], ends[needed, 1])
            return terms[at_t_x[mask]], terms[at_T[mask]]

        with np.errstate(all="ignore"):
            log_a0 = _log_a0(params, x, t_x, T, hyp_terms)
            common = float((gammaln(r + levels) - gammaln(r)) @ x_weights) + total_w * (
                r * np.log(alpha) + s * np.log(beta)
            )
            alive = -(r + x) * np.log(alpha + ages)[at_age] - (s * np.log(beta + ages))[at_age]
            dropped = (np.log(s) - np.log(r + s + levels))[at_x] + log_a0
            total = -(common + float(np.logaddexp(alive, dropped) @ w))
        # where scipy's hypergeometric function fails (parameters in the thousands: the data
        # look Poisson, and the fit runs off toward infinity) the point is refused
        return total if np.isfinite(total) else np.inf

    def negative(params):
        params = np.asarray(params, dtype=float)
        here = value(params)
        gradient = np.empty(len(params))
        for i in range(len(params)):
            step = 1e-7 * params[i]
            moved = params.copy()
            moved[i] += step
            gradient[i] = (value(moved) - here) / step
        return here, gradient

    return negative, value


def fit(x, t_x, T, weights=None, penalizer: float = 0.0) -> Fit:
    """Maximum-likelihood Pareto/NBD parameters (r, alpha, s, beta), the penalty as BG/NBD's
    (custseg.value.btyd._fit: alpha and beta measured against the mean age)."""
    x, t_x, T = _as_arrays(x, t_x, T)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    mean_age = max(float(np.average(T, weights=w)), 1.0)
    start = np.array([1.0, mean_age, 1.0, mean_age])
    negative, value = _negative(x, t_x, T, w)
    # the numerical gradient makes every step cost nine likelihoods: the fallback search is kept short
    return _fit(negative, start, PARETO_NBD_PARAMS, penalizer, float(w.sum()), scales=[1.0, mean_age, 1.0, mean_age],
                value=value, fallback_iterations=400)  # fmt: skip


def p_alive(params, x, t_x, T) -> np.ndarray:
    """P(alive | x, t_x, T) = 1 / (1 + s / (r+s+x) * (alpha+T)^(r+x) (beta+T)^s A_0)."""
    x, t_x, T = _as_arrays(x, t_x, T)
    _, alive, dropped = _log_likelihood_parts(params, x, _log_a0(params, x, t_x, T), T)
    return 1.0 / (1.0 + np.exp(dropped - alive))


def expected_purchases(params, t, x, t_x, T) -> np.ndarray:
    """Expected purchases in the next ``t`` periods: P(alive) (r+x)(beta+T) / ((alpha+T)(s-1))
    [1 - ((beta+T) / (beta+T+t))^(s-1)] (s = 1: its limit, (r+x)/(alpha+T) (beta+T) log(1 +
    t/(beta+T)))."""
    r, alpha, s, beta = params
    x, t_x, T = _as_arrays(x, t_x, T)
    rate = (r + x) / (alpha + T)
    if abs(s - 1.0) < 1e-9:
        lifetime = (beta + T) * np.log1p(t / (beta + T))
    else:
        lifetime = (beta + T) / (s - 1.0) * (1.0 - ((beta + T) / (beta + T + t)) ** (s - 1.0))
    return p_alive(params, x, t_x, T) * rate * lifetime


def p_no_purchase(params, t, x, t_x, T) -> np.ndarray:
    """The probability of no purchase in the next ``t`` periods. The likelihood of a history
    with the observation stretched to T + t is that of the same purchases and none after them
    up to T + t, so the probability is the ratio L(x, t_x, T + t) / L(x, t_x, T)."""
    x, t_x, T = _as_arrays(x, t_x, T)
    return np.exp(log_likelihood(params, x, t_x, T + t) - log_likelihood(params, x, t_x, T))


def simulate(params, T, seed: int = 0, horizon: float = 0.0):
    """(x, t_x, future) of customers drawn from the Pareto/NBD process observed for ``T``
    periods from the first purchase: lambda ~ Gamma(r, rate alpha), mu ~ Gamma(s, rate beta),
    lifetime ~ Exponential(mu) from the first purchase, repeat purchases a Poisson process of rate
    lambda while alive. ``future``: his purchases in the ``horizon`` periods after ``T``."""
    r, alpha, s, beta = params
    T = np.asarray(T, dtype=float)
    rng = np.random.default_rng(seed)
    n = len(T)
    rate = rng.gamma(r, 1.0 / alpha, size=n)
    lifetime = rng.exponential(1.0 / rng.gamma(s, 1.0 / beta, size=n))
    x, t_x, future = np.zeros(n), np.zeros(n), np.zeros(n)
    for i in range(n):
        end = min(lifetime[i], T[i] + horizon)
        now = rng.exponential(1.0 / rate[i])
        while now <= end:
            if now <= T[i]:
                x[i] += 1
                t_x[i] = now
            else:
                future[i] += 1
            now += rng.exponential(1.0 / rate[i])
    return x, t_x, future
