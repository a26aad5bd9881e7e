"""MBG/NBD (custseg.value.btyd, shift 1) and Pareto/NBD (custseg.value.pareto_nbd) tested as
BG/NBD is: log-likelihoods against straightforward implementations, parameter recovery from data
drawn from each model's own process (N = 20,000, within 4 standard errors), and the
per-customer quantities against what the simulated customers did next."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad

from custseg.value import btyd, pareto_nbd, purchase_models
from custseg.value.config import CLV_MODELS
from helpers import standard_errors

# BG/NBD's CDNOW estimates for MBG/NBD too; Pareto/NBD's CDNOW estimates (Fader, Hardie & Lee
# 2005, "Counting your customers the easy way"), weeks
MBGNBD = (0.243, 4.414, 0.793, 2.426)
PARETO = (0.553, 10.58, 0.606, 11.67)
N = 20_000


def _straight_mbgnbd(params, x, t_x, T) -> float:
    """MBG/NBD's likelihood as Batislam, Denizel & Filiztekimen (2007) write it, math only:
    Gamma(r+x) alpha^r / Gamma(r) * B(a, b+x+1) / B(a, b) * [1/(alpha+T)^(r+x) + a/(b+x) /
    (alpha+t_x)^(r+x)]."""
    r, alpha, a, b = params

    def beta(u, v):
        return math.exp(math.lgamma(u) + math.lgamma(v) - math.lgamma(u + v))

    head = math.exp(math.lgamma(r + x) - math.lgamma(r)) * alpha**r * beta(a, b + x + 1) / beta(a, b)
    return math.log(head * (1 / (alpha + T) ** (r + x) + a / (b + x) / (alpha + t_x) ** (r + x)))


def _straight_pareto(params, x, t_x, T) -> float:
    """Pareto/NBD's likelihood from its definition: alive at T, or gone at some tau in (t_x, T]
    (the lifetime's density integrated numerically, not through the hypergeometric function):
    Gamma(r+x) alpha^r / Gamma(r) * [beta^s / ((alpha+T)^(r+x) (beta+T)^s) + s beta^s *
    integral_{t_x}^T (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau]."""
    r, alpha, s, beta = params
    head = math.exp(math.lgamma(r + x) - math.lgamma(r)) * alpha**r * beta**s
    gone, _ = quad(
        lambda tau: (alpha + tau) ** -(r + x) * (beta + tau) ** -(s + 1), t_x, T, epsabs=0, epsrel=1e-12
    )
    return math.log(head * (1 / ((alpha + T) ** (r + x) * (beta + T) ** s) + s * gone))


def test_the_log_likelihoods_equal_straightforward_implementations():
    """Both models against their definitions, 200 random customers and parameter sets each;
    Pareto/NBD in both of its closed-form branches and in the binomial series that stands in
    for the hypergeometric function where one parameter is far beyond the other."""
    rng = np.random.default_rng(3)
    for _ in range(200):
        T = rng.uniform(1, 100)
        x = float(rng.integers(0, 20))
        t_x = 0.0 if x == 0 else rng.uniform(0, T)
        params = rng.uniform([0.1, 1, 0.2, 0.5], [3, 50, 5, 10])
        ours = btyd.mbgnbd_log_likelihood(params, [x], [t_x], [T])[0]
        assert ours == pytest.approx(_straight_mbgnbd(params, x, t_x, T), rel=1e-9, abs=1e-9)
        # both orders of alpha and beta (the closed form takes a different branch for each), and
        # one parameter far beyond the other (the binomial series instead of hyp2f1)
        params = rng.uniform([0.1, 1, 0.1, 1], [3, 50, 3, 50])
        far = params * np.array([1, 1, 1, 10 ** rng.uniform(2, 5)])
        far_alpha = params * np.array([1, 10 ** rng.uniform(2, 5), 1, 1])
        for case in (params, far, far_alpha):
            ours = pareto_nbd.log_likelihood(case, [x], [t_x], [T])[0]
            assert ours == pytest.approx(_straight_pareto(case, x, t_x, T), rel=1e-7, abs=1e-7), case


@pytest.fixture(scope="module")
def mbg_cohort():
    T = np.random.default_rng(1).uniform(26, 78, N)
    x, t_x, future = btyd.simulate_bgnbd(MBGNBD, T, seed=2, horizon=52.0, shift=btyd.MBGNBD)
    return x, t_x, T, future


@pytest.fixture(scope="module")
def pareto_cohort():
    T = np.random.default_rng(1).uniform(26, 78, N)
    x, t_x, future = pareto_nbd.simulate(PARETO, T, seed=2, horizon=52.0)
    return x, t_x, T, future


def test_mbgnbd_recovers_its_parameters_from_its_own_process(mbg_cohort):
    x, t_x, T, _ = mbg_cohort
    fit = btyd.fit_mbgnbd(x, t_x, T)
    assert fit.converged and fit.customers == N
    estimate = np.array([fit.params[name] for name in btyd.MBGNBD_PARAMS])
    se = standard_errors(lambda p: -btyd.mbgnbd_log_likelihood(p, x, t_x, T).sum(), estimate)
    assert (np.abs(estimate - np.array(MBGNBD)) < 4 * se).all(), (estimate, se)
    assert fit.log_likelihood == pytest.approx(btyd.mbgnbd_log_likelihood(estimate, x, t_x, T).sum())


def test_the_series_and_the_hypergeometric_form_agree_where_both_are_fast():
    """Where the series' terms fall by 0.05 to 0.5 per term, hyp2f1 is still fast and exact:
    the two computations of log A_0 agree to 1e-10."""
    rng = np.random.default_rng(8)
    x = rng.integers(0, 15, 2000).astype(float)
    T = rng.uniform(1, 60, 2000)
    t_x = np.where(x > 0, rng.uniform(0, 1, 2000) * T, 0.0)
    params = (0.6, 2.0, 0.4, 400.0)
    series, ratio = pareto_nbd._series_setup(params, x, T)
    assert series.all() and 0.05 < ratio.max() <= pareto_nbd.SERIES_RATIO
    by_series = pareto_nbd._log_a0_series(params, x, t_x, T, ratio)
    first = pareto_nbd._log_hyp2f1_terms(params, x, t_x)
    second = pareto_nbd._log_hyp2f1_terms(params, x, T)
    closed = first + np.log1p(-np.exp(second - first))
    np.testing.assert_allclose(by_series, closed, rtol=1e-10, atol=1e-10)


def test_pareto_nbd_recovers_its_parameters_from_its_own_process(pareto_cohort):
    x, t_x, T, _ = pareto_cohort
    fit = pareto_nbd.fit(x, t_x, T)
    assert fit.converged and fit.customers == N
    estimate = np.array([fit.params[name] for name in pareto_nbd.PARETO_NBD_PARAMS])
    se = standard_errors(lambda p: -pareto_nbd.log_likelihood(p, x, t_x, T).sum(), estimate)
    assert (np.abs(estimate - np.array(PARETO)) < 4 * se).all(), (estimate, se)
    assert fit.log_likelihood == pytest.approx(pareto_nbd.log_likelihood(estimate, x, t_x, T).sum())


@pytest.mark.parametrize("model", ["mbgnbd", "pareto_nbd"])
def test_the_predictions_match_what_the_process_did_next(model, request):
    """With the true parameters: the expected purchases of the next 52 weeks add up to the
    simulated ones (total within 3%, per frequency 0..5, 6+ within 4 standard errors), and the probability of
    no purchase in them is calibrated per band (within 3 points); P(alive) is in (0, 1] and
    falls as the last purchase ages."""
    x, t_x, T, future = request.getfixturevalue("mbg_cohort" if model == "mbgnbd" else "pareto_cohort")
    if model == "mbgnbd":
        expected = btyd.expected_purchases(MBGNBD, 52.0, x, t_x, T, shift=btyd.MBGNBD)
        risk = btyd.p_no_purchase(MBGNBD, 52.0, x, t_x, T, shift=btyd.MBGNBD)
        alive = btyd.p_alive(MBGNBD, np.full(30, 5.0), np.linspace(52, 1, 30), np.full(30, 52.0), btyd.MBGNBD)
    else:
        expected = pareto_nbd.expected_purchases(PARETO, 52.0, x, t_x, T)
        risk = pareto_nbd.p_no_purchase(PARETO, 52.0, x, t_x, T)
        alive = pareto_nbd.p_alive(PARETO, np.full(30, 5.0), np.linspace(52, 1, 30), np.full(30, 52.0))
    assert expected.sum() == pytest.approx(future.sum(), rel=0.03)
    for low in range(0, 7):
        rows = (x == low) if low < 6 else (x >= low)
        # within 4 standard errors of the bin's sum (the rates are heavy-tailed: a bin of a few
        # hundred customers moves by 10% from one seed to the next)
        error = np.sqrt(((future[rows] - expected[rows]) ** 2).sum())
        assert abs(expected[rows].sum() - future[rows].sum()) < 4 * error, low
    for low, high in ((0, 1 / 3), (1 / 3, 2 / 3), (2 / 3, 1.0001)):
        band = (risk >= low) & (risk < high)
        assert band.sum() > 500
        assert (future[band] == 0).mean() == pytest.approx(risk[band].mean(), abs=0.03)
    assert (np.diff(alive) < 0).all() and ((alive > 0) & (alive <= 1)).all()


def test_the_no_purchase_probability_is_the_likelihood_ratio(mbg_cohort):
    """The closed forms of the BG models equal the ratio L(x, t_x, T + t) / L(x, t_x, T) that
    Pareto/NBD's uses: the same identity, checked where both exist."""
    x, t_x, T, _ = mbg_cohort
    for shift, params in ((btyd.BGNBD, (0.243, 4.414, 0.793, 2.426)), (btyd.MBGNBD, MBGNBD)):
        ratio = np.exp(
            btyd._beta_geo_log_likelihood(params, x, t_x, T + 13.0, shift)
            - btyd._beta_geo_log_likelihood(params, x, t_x, T, shift)
        )
        assert btyd.p_no_purchase(params, 13.0, x, t_x, T, shift) == pytest.approx(ratio, rel=1e-9)


def test_a_one_time_buyer_can_be_gone_under_mbgnbd_but_not_bgnbd():
    assert btyd.p_alive(MBGNBD, [0], [0], [52], btyd.BGNBD)[0] == 1.0
    gone = btyd.p_alive(MBGNBD, [0, 0], [0, 0], [10, 52], btyd.MBGNBD)
    assert 0 < gone[1] < gone[0] < 1  # the longer his silence, the likelier he is gone


def test_auto_picks_by_the_holdout_when_there_is_one_else_by_aic_and_a_setting_wins():
    def fit(log_likelihood):
        return btyd.Fit({"r": 1.0, "alpha": 1.0, "a": 1.0, "b": 1.0}, log_likelihood, 10.0, True, 1, "")

    fits = {"bgnbd": fit(-100.0), "mbgnbd": fit(-90.0), "pareto_nbd": fit(-95.0)}
    assert purchase_models.choose("auto", fits, None)[0] == "mbgnbd"  # the lowest AIC
    errors = {"bgnbd": 1.2, "mbgnbd": 1.4, "pareto_nbd": 1.1}
    name, reason = purchase_models.choose("auto", fits, errors)
    assert name == "pareto_nbd" and "holdout" in reason and "Pareto/NBD 1.100" in reason
    assert purchase_models.choose("bgnbd", fits, errors) == ("bgnbd", "clv_model: bgnbd")
    # equal figures: the first in MODELS' order
    assert purchase_models.choose("auto", fits, dict.fromkeys(fits, 1.0))[0] == "bgnbd"
    # the setting's choices (value.config, which does not import the models) are these models
    assert ("auto", *purchase_models.MODELS) == CLV_MODELS


def test_figures_closer_than_the_fits_resolve_are_a_tie_that_goes_to_the_first_model():
    """Online Retail II's calibration (no dropout found): the three holdout errors were 1.333144,
    1.333142 and 1.333144, and the choice flipped to MBG/NBD with a library's sixth digit. Within
    0.1% of the smallest error, or 0.1 of the lowest AIC, the first in MODELS' order is chosen; a
    model better by more than that still wins (the suite's demo: Pareto/NBD's AIC 0.6 below)."""

    def fit(log_likelihood):
        return btyd.Fit({"r": 1.0, "alpha": 1.0, "a": 1.0, "b": 1.0}, log_likelihood, 10.0, True, 1, "")

    fits = {"bgnbd": fit(-100.0), "mbgnbd": fit(-99.98), "pareto_nbd": fit(-99.96)}  # AIC 208, 207.96, 207.92
    name, reason = purchase_models.choose("auto", fits, None)
    assert name == "bgnbd" and "within 0.1 of the lowest is a tie" in reason
    fits["pareto_nbd"] = fit(-99.94)  # AIC 207.88: more than 0.1 below BG/NBD's, within 0.1 of MBG/NBD's
    assert purchase_models.choose("auto", fits, None)[0] == "mbgnbd"
    fits["pareto_nbd"] = fit(-99.7)  # 0.6 below
    assert purchase_models.choose("auto", fits, None)[0] == "pareto_nbd"
    errors = {"bgnbd": 1.333144, "mbgnbd": 1.333142, "pareto_nbd": 1.333144}
    name, reason = purchase_models.choose("auto", fits, errors)
    assert name == "bgnbd" and "within 0.1% of the smallest is a tie" in reason
    errors = {"bgnbd": 1.00101, "mbgnbd": 1.00099, "pareto_nbd": 1.0}  # BG/NBD 0.101% above
    assert purchase_models.choose("auto", fits, errors)[0] == "mbgnbd"
    assert purchase_models.choose("auto", fits, errors | {"mbgnbd": 1.002})[0] == "pareto_nbd"


def test_a_version_records_every_candidate_and_the_one_it_chose(pareto_cohort):
    """On customers of the Pareto/NBD process (in days, as the warehouse's summary), the
    registry row holds every candidate's parameters and figures; auto picks the lowest AIC
    without a holdout, and with one the smallest holdout error (each recorded); a setting is
    obeyed. The scoring uses the chosen model's parameters."""
    import pandas as pd

    from custseg.value import registry
    from custseg.value.config import ValueConfig

    x, t_x, T, future = (column[:4000] for column in pareto_cohort)
    summary = pd.DataFrame({
        "customer_id": [f"c{i:05d}" for i in range(len(x))], "frequency": x, "recency": np.round(t_x * 7),
        "age": np.round(T * 7), "mean_repeat_value": np.where(x > 0, 20.0 + x, np.nan),
    })  # fmt: skip
    row = registry.fit_summary(summary, ValueConfig())
    aics = {name: row[f"{purchase_models.PREFIXES[name]}_aic"] for name in purchase_models.MODELS}
    assert (
        row["status"] == "fitted"
        and row["clv_model"]
        == purchase_models.first_within(aics, min(aics.values()) + purchase_models.AIC_TIE)
        and "AIC" in row["clv_model_reason"]
    )
    for name in purchase_models.MODELS:
        assert all(np.isfinite(row[c]) for c in registry.model_columns(name))
    holdout = summary.assign(holdout_days=364, holdout_purchases=future)
    row = registry.fit_summary(holdout, ValueConfig())
    errors = {name: row[f"{purchase_models.PREFIXES[name]}_holdout_error"] for name in purchase_models.MODELS}
    tie = min(errors.values()) * (1 + purchase_models.HOLDOUT_TIE)
    assert (
        row["clv_model"] == purchase_models.first_within(errors, tie) and "holdout" in row["clv_model_reason"]
    )
    assert registry.fit_summary(summary, ValueConfig(model="mbgnbd"))["clv_model"] == "mbgnbd"
