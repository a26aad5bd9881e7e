"""BG/NBD (Fader, Hardie & Lee 2005) and Gamma-Gamma (Fader & Hardie 2013): log-likelihoods in
closed form, maximum-likelihood fits with scipy on log-parameters, and the per-customer
quantities a marketer reads (P(alive), expected purchases, expected average order value).

Per customer: ``x`` repeat purchase periods (purchases after the first, same-day purchases
counted once), ``t_x`` the time from the first to the last purchase, ``T`` the time from the
first purchase to the snapshot (one time unit: days by default), and for Gamma-Gamma ``m`` the
mean value of the repeat purchases (customers with ``x > 0`` only). Fits accept weights, so the
unique (x, t_x, T) triples can be fitted with their counts; an optional L2 penalty on the
parameters, each measured in its data's own scale (so the same penalty means the same in days or
weeks, pounds or pence; lifetimes' ``penalizer_coef`` is not), steadies small samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, digamma, gammaln, hyp2f1


@dataclass(frozen=True)
class Fit:
    """A maximum-likelihood fit: parameters by name, the log-likelihood at them (summed over the
    weighted customers, without the penalty), customers used, convergence and iterations."""

    params: dict[str, float]
    log_likelihood: float
    customers: float
    converged: bool
    iterations: int
    message: str
    at_bound: tuple[str, ...] = ()


def _as_arrays(*columns):
    return [np.asarray(c, dtype=float) for c in columns]


# -- BG/NBD --------------------------------------------------------------------------------------

BGNBD_PARAMS = ("r", "alpha", "a", "b")


MBGNBD_PARAMS = BGNBD_PARAMS
# the two models of the beta-geometric family differ by one: BG/NBD's customer may drop out after
# each repeat purchase (shift 0), MBG/NBD's (Batislam, Denizel & Filiztekimen 2007) after every
# purchase, the first included (shift 1): a one-time buyer can be gone
BGNBD, MBGNBD = 0, 1


def _beta_geo_log_likelihood(params, x, t_x, T, shift: int) -> np.ndarray:
    r, alpha, a, b = params
    x, t_x, T = _as_arrays(x, t_x, T)
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    alive = betaln(a, b + x + shift) - betaln(a, b) - (r + x) * np.log(alpha + T)
    dropped = np.where(
        (x > 0) | (shift > 0),
        betaln(a + 1, np.maximum(b + x + shift - 1, 1e-300)) - betaln(a, b) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    return common + np.logaddexp(alive, dropped)


def bgnbd_log_likelihood(params, x, t_x, T) -> np.ndarray:
    """Each customer's log-likelihood under BG/NBD (r, alpha, a, b), equation (6) of Fader,
    Hardie & Lee (2005), the two terms combined by log-sum-exp."""
    return _beta_geo_log_likelihood(params, x, t_x, T, BGNBD)


def mbgnbd_log_likelihood(params, x, t_x, T) -> np.ndarray:
    """Each customer's log-likelihood under MBG/NBD (r, alpha, a, b): BG/NBD's with the beta
    terms of x + 1 purchase occasions and the drop-out term for every customer."""
    return _beta_geo_log_likelihood(params, x, t_x, T, MBGNBD)


# every parameter is searched in [1e-4, 1e6]: data whose likelihood grows toward a boundary
# (e.g. BG/NBD's a and b toward 0 when customers either never or always drop out) stop there,
# where the closed forms are still accurate, and the fit says which parameter reached it
BOUNDS = (np.log(1e-4), np.log(1e6))


def _fit(
    negative, start, names, penalizer, customers, scales=None, value=None, fallback_iterations=5000
) -> Fit:
    """Minimise the mean negative log-likelihood (plus the L2 penalty) over log-parameters.
    ``negative(params)`` returns the summed negative log-likelihood and its gradient. The penalty
    is ``penalizer * sum((param / scale)^2)``: shapes are unitless (scale 1), and a parameter in
    the data's units (BG/NBD's alpha in periods, Gamma-Gamma's v in money) is divided by the
    data's own scale (the mean age, the mean repeat value), so the penalty is scale-free: in
    pounds it once weighed v ~ 465 squared and took Gamma-Gamma's q below 1. L-BFGS-B with the
    analytic gradient; should it stop short, Nelder-Mead from there (on ``value(params)``, the
    negative log-likelihood alone, when given: a model whose gradient is numerical pays it only
    where L-BFGS-B needs it; at most ``fallback_iterations``) and L-BFGS-B again."""
    scales = np.ones(len(start)) if scales is None else np.asarray(scales, dtype=float)

    def penalty(params):
        """The penalty and its gradient in the log-parameters."""
        standard = params / scales
        return penalizer * float((standard**2).sum()), 2 * penalizer * standard**2

    def objective(log_params):
        params = np.exp(log_params)
        total, gradient = negative(params)
        added, added_gradient = penalty(params)
        return total / customers + added, (gradient * params) / customers + added_gradient

    def plain(log_params):
        """The objective alone: with ``value``, no gradient is computed for it."""
        if value is None:
            return objective(log_params)[0]
        params = np.exp(log_params)
        return value(params) / customers + penalty(params)[0]

    bounds = [BOUNDS] * len(start)
    result = minimize(objective, np.log(start), jac=True, method="L-BFGS-B", bounds=bounds,
                      options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-9})  # fmt: skip
    iterations = int(result.nit)
    if not result.success:
        simplex = minimize(plain, result.x, method="Nelder-Mead", bounds=bounds,
                           options={"maxiter": fallback_iterations, "xatol": 1e-8, "fatol": 1e-12})  # fmt: skip
        result = minimize(objective, simplex.x, jac=True, method="L-BFGS-B", bounds=bounds)
        iterations += int(simplex.nit) + int(result.nit)
    params = np.exp(result.x)
    at_bound = [
        name
        for name, value in zip(names, result.x, strict=True)
        if min(abs(value - b) for b in BOUNDS) < 1e-3
    ]
    return Fit(
        params=dict(zip(names, (float(p) for p in params), strict=True)),
        log_likelihood=-float(value(params) if value is not None else negative(params)[0]),
        customers=float(customers),
        converged=bool(result.success),
        iterations=iterations,
        message=str(result.message),
        at_bound=tuple(at_bound),
    )


def _bgnbd_negative(x, t_x, T, w, shift: int = BGNBD):
    """The summed negative BG/NBD (or, shift 1, MBG/NBD) log-likelihood: ``negative(params)``
    with its gradient in (r, alpha, a, b), ``value(params)`` without (the same number, to the
    last bit: what Nelder-Mead needs, at a fraction of the cost); the terms that depend on x
    alone are computed once per distinct x."""
    levels, index = np.unique(x, return_inverse=True)
    repeat = (x > 0) | (shift > 0)
    occasions = levels + shift
    log_T, log_tx = np.empty_like(T), np.empty_like(T)

    def terms(params):
        """Per customer: the terms of x alone, the alive term and log(alive + dropped)."""
        r, alpha, a, b = params
        np.log(alpha + T, out=log_T)
        np.log(alpha + t_x, out=log_tx)
        bx = np.maximum(b + occasions - 1, 1e-300)
        common = (gammaln(r + levels) - gammaln(r) + r * np.log(alpha))[index]
        alive = (betaln(a, b + occasions) - betaln(a, b))[index] - (r + x) * log_T
        dropped = np.where(repeat, (betaln(a + 1, bx) - betaln(a, b))[index] - (r + x) * log_tx, -np.inf)
        return common, alive, np.logaddexp(alive, dropped), bx

    def value(params):
        common, _, total, _ = terms(params)
        return -float((common + total) @ w)

    def negative(params):
        r, alpha, a, b = params
        common, alive, total, bx = terms(params)
        share_alive = np.exp(alive - total)
        share_dropped = 1.0 - share_alive
        psi_ab, psi_abx = digamma(a + b), digamma(a + b + occasions)
        d_alive_a = (psi_ab - psi_abx)[index]
        d_alive_b = (digamma(b + occasions) - psi_abx - digamma(b) + psi_ab)[index]
        d_dropped_a = (digamma(a + 1) - psi_abx - digamma(a) + psi_ab)[index]
        d_dropped_b = (digamma(bx) - psi_abx - digamma(b) + psi_ab)[index]
        gradient = np.array([
            ((digamma(r + levels) - digamma(r))[index] + np.log(alpha)
             - share_alive * log_T - share_dropped * log_tx) @ w,
            (r / alpha - (r + x) * (share_alive / (alpha + T) + share_dropped / (alpha + t_x))) @ w,
            (share_alive * d_alive_a + np.where(repeat, share_dropped * d_dropped_a, 0.0)) @ w,
            (share_alive * d_alive_b + np.where(repeat, share_dropped * d_dropped_b, 0.0)) @ w,
        ])  # fmt: skip
        return -float((common + total) @ w), -gradient

    return negative, value


def fit_bgnbd(x, t_x, T, weights=None, penalizer: float = 0.0, shift: int = BGNBD) -> Fit:
    """Maximum-likelihood BG/NBD parameters (r, alpha, a, b); shift 1: MBG/NBD's."""
    x, t_x, T = _as_arrays(x, t_x, T)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    mean_age = max(float(np.average(T, weights=w)), 1.0)
    start = np.array([1.0, mean_age, 1.0, 1.0])
    negative, value = _bgnbd_negative(x, t_x, T, w, shift)
    return _fit(negative, start, BGNBD_PARAMS, penalizer, float(w.sum()), scales=[1.0, mean_age, 1.0, 1.0],
                value=value)  # fmt: skip


def fit_mbgnbd(x, t_x, T, weights=None, penalizer: float = 0.0) -> Fit:
    """Maximum-likelihood MBG/NBD parameters (r, alpha, a, b)."""
    return fit_bgnbd(x, t_x, T, weights, penalizer, shift=MBGNBD)


def p_alive(params, x, t_x, T, shift: int = BGNBD) -> np.ndarray:
    """P(alive | x, t_x, T) under BG/NBD: 1 for a customer with no repeat purchase (BG/NBD lets
    a customer drop out only after a purchase), else 1 / (1 + a / (b + x - 1) * ((alpha + T) /
    (alpha + t_x))^(r + x)). Shift 1, MBG/NBD: 1 / (1 + a / (b + x) * (...)^(r + x)) for everyone."""
    r, alpha, a, b = params
    x, t_x, T = _as_arrays(x, t_x, T)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds = (
            np.log(a)
            - np.log(np.maximum(b + x + shift - 1, 1e-300))
            + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        )
    return np.where((x > 0) | (shift > 0), 1.0 / (1.0 + np.exp(log_odds)), 1.0)


def p_no_purchase(params, t, x, t_x, T, shift: int = BGNBD) -> np.ndarray:
    """The probability of no purchase in the next ``t`` periods (the churn risk): dropped out, or
    alive without a purchase of the Poisson process whose rate is Gamma(r + x, alpha + T):
    1 - P(alive) (1 - ((alpha + T) / (alpha + T + t))^(r + x)) (both BG models: an alive
    customer drops out only at a purchase). macros/value has the BG/NBD one in SQL."""
    r, alpha, _, _ = params
    x, t_x, T = _as_arrays(x, t_x, T)
    return 1.0 - p_alive(params, x, t_x, T, shift) * (1.0 - ((alpha + T) / (alpha + T + t)) ** (r + x))


def expected_purchases(params, t, x, t_x, T, shift: int = BGNBD) -> np.ndarray:
    """Expected purchases in the next ``t`` periods of a customer with history (x, t_x, T),
    equation (10) of Fader, Hardie & Lee (2005) (Gauss hypergeometric function from scipy); shift
    1: MBG/NBD's, the same with x + 1 purchase occasions in the beta terms."""
    r, alpha, a, b = params
    x, t_x, T = _as_arrays(x, t_x, T)
    occasions = x + shift
    z = t / (alpha + T + t)
    head = (a + b + occasions - 1) / (a - 1)
    bracket = 1.0 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(
        r + x, b + occasions, a + b + occasions - 1, z
    )
    odds = np.where(
        (x > 0) | (shift > 0),
        a / np.maximum(b + occasions - 1, 1e-300) * ((alpha + T) / (alpha + t_x)) ** (r + x),
        0.0,
    )
    return head * bracket / (1.0 + odds)


def simulate_bgnbd(params, T, seed: int = 0, horizon: float = 0.0, shift: int = BGNBD):
    """(x, t_x, future) of customers drawn from the BG/NBD process, each observed for ``T``
    periods from the first purchase: lambda ~ Gamma(r, rate alpha), p ~ Beta(a, b); repeat
    purchases arrive as a Poisson process of rate lambda, and after each the customer drops out
    with probability p (shift 1, MBG/NBD: after the first purchase too). ``future``: his
    purchases in the ``horizon`` periods after ``T``."""
    r, alpha, a, b = params
    T = np.asarray(T, dtype=float)
    rng = np.random.default_rng(seed)
    rate = rng.gamma(r, 1.0 / alpha, size=len(T))
    dropout = rng.beta(a, b, size=len(T))
    x, t_x, future = np.zeros(len(T)), np.zeros(len(T)), np.zeros(len(T))
    for i in range(len(T)):
        now = 0.0
        if shift and rng.random() < dropout[i]:
            continue  # gone after the first purchase
        while True:
            now += rng.exponential(1.0 / rate[i])
            if now > T[i] + horizon:
                break
            if now > T[i]:
                future[i] += 1
            else:
                x[i] += 1
                t_x[i] = now
            if rng.random() < dropout[i]:
                break
    return x, t_x, future


# -- Gamma-Gamma ---------------------------------------------------------------------------------

GAMMA_GAMMA_PARAMS = ("p", "q", "v")


def gamma_gamma_log_likelihood(params, x, m) -> np.ndarray:
    """Each customer's log-likelihood of his mean repeat-purchase value ``m`` over ``x`` repeat
    purchases under Gamma-Gamma (p, q, v), Fader & Hardie (2013), equation (4)."""
    p, q, v = params
    x, m = _as_arrays(x, m)
    return (
        gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v)
        + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(x * m + v)
    )  # fmt: skip


def _gamma_gamma_negative(x, m, w):
    """The summed negative Gamma-Gamma log-likelihood and its gradient in (p, q, v); the terms
    that depend on x alone are computed once per distinct x, the rest once per customer."""
    levels, index = np.unique(x, return_inverse=True)
    xm = x * m
    log_m, log_x = np.log(m), np.log(x)
    # the parts of the log-likelihood linear in p: p * sum w x (log m + log x), and -sum w log m
    linear = float((w * x) @ (log_m + log_x))
    log_m_total = float(w @ log_m)
    level_weights = np.bincount(index, weights=w, minlength=len(levels))
    total_w = float(w.sum())

    def negative(params):
        p, q, v = params
        px = p * levels
        log_xmv = np.log(xm + v)
        per_level = gammaln(px + q) - gammaln(px) - gammaln(q)
        px_q_customer = (px + q)[index]
        value = (per_level @ level_weights + total_w * q * np.log(v) + p * linear - log_m_total
                 - (px_q_customer * log_xmv) @ w)  # fmt: skip
        psi_pxq, psi_px = digamma(px + q), digamma(px)
        gradient = np.array([
            (levels * (psi_pxq - psi_px)) @ level_weights + linear - (x * log_xmv) @ w,
            (psi_pxq - digamma(q)) @ level_weights + total_w * np.log(v) - log_xmv @ w,
            total_w * q / v - (px_q_customer / (xm + v)) @ w,
        ])  # fmt: skip
        return -float(value), -gradient

    return negative


def fit_gamma_gamma(x, m, weights=None, penalizer: float = 0.0) -> Fit:
    """Maximum-likelihood Gamma-Gamma parameters (p, q, v), from customers with x > 0."""
    x, m = _as_arrays(x, m)
    keep = (x > 0) & (m > 0)
    w = (np.ones_like(x) if weights is None else np.asarray(weights, dtype=float))[keep]
    x, m = x[keep], m[keep]
    mean_value = float(np.average(m, weights=w))
    start = np.array([1.0, 1.0, max(mean_value, 1.0)])
    return _fit(_gamma_gamma_negative(x, m, w), start, GAMMA_GAMMA_PARAMS, penalizer, float(w.sum()),
                scales=[1.0, 1.0, mean_value])  # fmt: skip


def expected_average_value(params, x, m) -> np.ndarray:
    """E(M | x, m): the expected value of a customer's next purchases, (p (v + x m)) / (p x + q - 1);
    with no repeat purchase, the population mean p v / (q - 1)."""
    p, q, v = params
    x, m = _as_arrays(x, m)
    return np.where(x > 0, p * (v + x * m) / (p * x + q - 1), p * v / (q - 1))


def simulate_gamma_gamma(params, x, seed: int = 0) -> np.ndarray:
    """Mean repeat-purchase values: nu ~ Gamma(q, rate v) per customer, each of his x purchases
    ~ Gamma(p, rate nu); the mean of his purchases (NaN when x = 0)."""
    p, q, v = params
    x = np.asarray(x, dtype=int)
    rng = np.random.default_rng(seed)
    nu = rng.gamma(q, 1.0 / v, size=len(x))
    totals = np.array([rng.gamma(p, 1.0 / nu[i], size=n).sum() if n else np.nan for i, n in enumerate(x)])
    with np.errstate(invalid="ignore"):
        return totals / np.where(x > 0, x, np.nan)
