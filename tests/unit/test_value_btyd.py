"""BG/NBD and Gamma-Gamma (custseg.value.btyd): log-likelihoods against a straightforward
implementation, parameter recovery from data drawn from the models' own generative processes,
and the per-customer quantities' known properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import hyp2f1

from custseg.value import btyd
from helpers import standard_errors

# the CDNOW estimates of Fader, Hardie & Lee (2005) (weeks) and Fader & Hardie (2013)
BGNBD = (0.243, 4.414, 0.793, 2.426)
GAMMA_GAMMA = (6.25, 3.74, 15.44)
N = 20_000


def _straight_bgnbd(params, x, t_x, T) -> float:
    """Equation (6) of Fader, Hardie & Lee (2005) as written, one customer, math only."""
    r, alpha, a, b = params

    def beta(u, v):
        return math.exp(math.lgamma(u) + math.lgamma(v) - math.lgamma(u + v))

    gamma_ratio = math.exp(math.lgamma(r + x) - math.lgamma(r))
    alive = beta(a, b + x) / beta(a, b) * gamma_ratio * alpha**r / (alpha + T) ** (r + x)
    dropped = 0.0
    if x > 0:
        dropped = beta(a + 1, b + x - 1) / beta(a, b) * gamma_ratio * alpha**r / (alpha + t_x) ** (r + x)
    return math.log(alive + dropped)


def _straight_gamma_gamma(params, x, m) -> float:
    p, q, v = params
    return math.log(
        math.exp(math.lgamma(p * x + q) - math.lgamma(p * x) - math.lgamma(q))
        * v**q * m ** (p * x - 1) * x ** (p * x) / (v + m * x) ** (p * x + q)
    )  # fmt: skip


@pytest.fixture(scope="module")
def cohort():
    """20,000 customers of the BG/NBD process, first purchases spread over a year (T 26-78 weeks),
    with their purchases in the 52 weeks after the observation."""
    T = np.random.default_rng(1).uniform(26, 78, N)
    x, t_x, future = btyd.simulate_bgnbd(BGNBD, T, seed=2, horizon=52.0)
    return x, t_x, T, future


def test_the_log_likelihoods_equal_a_straightforward_implementation():
    rng = np.random.default_rng(3)
    for _ in range(200):
        params = rng.uniform([0.1, 1, 0.2, 0.5], [3, 50, 5, 10])
        T = rng.uniform(1, 100)
        x = float(rng.integers(0, 30))
        t_x = 0.0 if x == 0 else rng.uniform(0, T)
        ours = btyd.bgnbd_log_likelihood(params, [x], [t_x], [T])[0]
        assert ours == pytest.approx(_straight_bgnbd(params, x, t_x, T), rel=1e-9, abs=1e-9)
        # (ranges where the direct products stay inside double precision: m^(px) at most ~1e70)
        gg = rng.uniform([0.5, 1.5, 1], [5, 10, 50])
        m = rng.uniform(1, 50)
        n = float(rng.integers(1, 9))
        assert btyd.gamma_gamma_log_likelihood(gg, [n], [m])[0] == pytest.approx(
            _straight_gamma_gamma(gg, n, m), rel=1e-9, abs=1e-9
        )


def test_bgnbd_recovers_its_parameters_from_its_own_process(cohort):
    """At N = 20,000 each estimate is within 4 asymptotic standard errors of the truth (a
    two-sided 4-sigma band: a false failure about once in 16,000 runs per parameter; the data
    are seeded, so the test is deterministic). The same fit on the unique (x, t_x, T) triples
    with their counts as weights gives the same parameters."""
    x, t_x, T, _ = cohort
    fit = btyd.fit_bgnbd(x, t_x, T)
    assert fit.converged and fit.customers == N
    estimate = np.array([fit.params[name] for name in btyd.BGNBD_PARAMS])
    se = standard_errors(lambda p: -btyd.bgnbd_log_likelihood(p, x, t_x, T).sum(), estimate)
    assert (np.abs(estimate - np.array(BGNBD)) < 4 * se).all(), (estimate, se)
    assert fit.log_likelihood == pytest.approx(btyd.bgnbd_log_likelihood(estimate, x, t_x, T).sum())
    triples, counts = np.unique(np.column_stack([x, t_x, T]), axis=0, return_counts=True)
    weighted = btyd.fit_bgnbd(triples[:, 0], triples[:, 1], triples[:, 2], weights=counts)
    assert [weighted.params[n] for n in btyd.BGNBD_PARAMS] == pytest.approx(estimate.tolist(), rel=1e-4)


def test_gamma_gamma_recovers_its_parameters_from_its_own_process():
    """Mean spends of 20,000 repeat buyers (1-10 repeat purchases each) drawn from the
    Gamma-Gamma process: each estimate within 4 asymptotic standard errors."""
    x = np.random.default_rng(4).integers(1, 11, N).astype(float)
    m = btyd.simulate_gamma_gamma(GAMMA_GAMMA, x, seed=5)
    fit = btyd.fit_gamma_gamma(x, m)
    assert fit.converged and fit.customers == N
    estimate = np.array([fit.params[name] for name in btyd.GAMMA_GAMMA_PARAMS])
    se = standard_errors(lambda p: -btyd.gamma_gamma_log_likelihood(p, x, m).sum(), estimate)
    assert (np.abs(estimate - np.array(GAMMA_GAMMA)) < 4 * se).all(), (estimate, se)


def test_p_alive_is_one_without_a_repeat_purchase_and_falls_as_recency_ages():
    assert btyd.p_alive(BGNBD, [0, 0], [0, 0], [10, 200]).tolist() == [1.0, 1.0]
    last_purchase = np.linspace(52, 1, 30)  # the same 5 repeat purchases, the last ever longer ago
    alive = btyd.p_alive(BGNBD, np.full(30, 5.0), last_purchase, np.full(30, 52.0))
    assert (np.diff(alive) < 0).all() and alive[0] == pytest.approx(1 / (1 + 0.793 / 6.426))
    assert ((alive > 0) & (alive <= 1)).all()


def test_expected_purchases_of_a_new_customer_is_the_unconditional_formula():
    """At x = t_x = T = 0 the conditional expectation is equation (9) of Fader, Hardie & Lee."""
    r, alpha, a, b = BGNBD
    for t in (4.0, 13.0, 52.0):
        unconditional = (
            (a + b - 1)
            / (a - 1)
            * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
        )
        assert btyd.expected_purchases(BGNBD, t, [0], [0], [0])[0] == pytest.approx(unconditional, rel=1e-12)


def test_expected_purchases_predict_the_next_year_of_the_process(cohort):
    """With the true parameters, the predicted purchases of the 52 weeks after the observation
    add up to what the simulated customers did (total within 2%; per frequency the classic
    BTYD check, bins of 1-7+ repeat purchases, within 10%)."""
    x, t_x, T, future = cohort
    predicted = btyd.expected_purchases(BGNBD, 52.0, x, t_x, T)
    assert predicted.sum() == pytest.approx(future.sum(), rel=0.02)
    for low in range(0, 7):
        rows = (x == low) if low < 6 else (x >= low)
        assert predicted[rows].sum() == pytest.approx(future[rows].sum(), rel=0.10), low


def test_expected_average_value_shrinks_toward_the_population_mean():
    p, q, v = GAMMA_GAMMA
    population = p * v / (q - 1)
    assert btyd.expected_average_value(GAMMA_GAMMA, [0], [0])[0] == pytest.approx(population)
    few, many = btyd.expected_average_value(GAMMA_GAMMA, [1, 50], [100.0, 100.0])
    assert population < few < many < 100.0  # more purchases: closer to the customer's own mean


def test_the_penalty_is_scale_free(cohort):
    """The same penalty in other units gives the same fit: time in days instead of weeks scales
    BG/NBD's alpha by 7 and leaves r, a, b; order values in pence instead of pounds scale
    Gamma-Gamma's v by 100 and leave p, q (lifetimes' penalizer_coef, on v itself, weighed v ~ 465
    squared on Online Retail II and took q below 1)."""
    x, t_x, T, _ = cohort
    weeks = btyd.fit_bgnbd(x, t_x, T, penalizer=0.01)
    days = btyd.fit_bgnbd(x, t_x * 7, T * 7, penalizer=0.01)
    assert days.params["alpha"] == pytest.approx(7 * weeks.params["alpha"], rel=1e-4)
    for name in ("r", "a", "b"):
        assert days.params[name] == pytest.approx(weeks.params[name], rel=1e-4)
    plain = btyd.fit_bgnbd(x, t_x, T)
    assert weeks.params["a"] != pytest.approx(plain.params["a"], rel=1e-3)  # the penalty does act
    n = np.random.default_rng(4).integers(1, 11, 5_000).astype(float)
    m = btyd.simulate_gamma_gamma(GAMMA_GAMMA, n, seed=5)
    pounds = btyd.fit_gamma_gamma(n, m, penalizer=0.01)
    pence = btyd.fit_gamma_gamma(n, m * 100, penalizer=0.01)
    assert pence.params["v"] == pytest.approx(100 * pounds.params["v"], rel=1e-4)
    for name in ("p", "q"):
        assert pence.params[name] == pytest.approx(pounds.params[name], rel=1e-4)
    assert pounds.params["q"] > 1


def test_the_churn_risk_is_no_purchase_in_the_horizon(cohort):
    """p_no_purchase equals the share of simulated customers of the same (x, t_x, T) history who
    make no purchase in the next year: checked on the process itself, per churn band."""
    x, t_x, T, future = cohort
    risk = btyd.p_no_purchase(BGNBD, 52.0, x, t_x, T)
    assert (risk >= 0).all() and (risk <= 1).all()
    for low, high in ((0, 1 / 3), (1 / 3, 2 / 3), (2 / 3, 1.0001)):
        band = (risk >= low) & (risk < high)
        assert band.sum() > 500
        assert (future[band] == 0).mean() == pytest.approx(risk[band].mean(), abs=0.03)
