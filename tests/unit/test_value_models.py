"""The value models' registry and scoring in the package (custseg.value.registry, .score, .config):
when a build fits a new version, what a version records, and what the scoring computes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import approx_fprime

from custseg.ml_lifecycle import LifecycleConfig
from custseg.settings import check_settings
from custseg.value import btyd, registry
from custseg.value.config import ValueConfig
from custseg.value.purchase_models import MODELS
from custseg.value.score import horizon_purchases, new_customer_curve, score_customers

BGNBD = (0.243, 4.414, 0.793, 2.426)
GAMMA_GAMMA = (6.25, 3.74, 15.44)


def _summary(n: int = 3000, seed: int = 1, as_of: str = "2011-12-10") -> pd.DataFrame:
    """Customers drawn from the BG/NBD and Gamma-Gamma processes, in the columns of
    int_customers__repeat_purchases (periods of one day)."""
    rng = np.random.default_rng(seed)
    T = rng.integers(20, 365, size=n).astype(float)
    x, t_x, _ = btyd.simulate_bgnbd(BGNBD, T, seed=seed)
    m = btyd.simulate_gamma_gamma(GAMMA_GAMMA, x, seed=seed)
    return pd.DataFrame({
        "customer_id": [f"c{i:05d}" for i in range(n)], "frequency": x.astype(int), "recency": t_x.round(),
        "age": T, "age_days": T.astype(int), "mean_repeat_value": m, "as_of_date": pd.Timestamp(as_of),
    })  # fmt: skip


def _run(summary, previous=None, config=None, **lifecycle_vars) -> pd.DataFrame:
    previous = registry.empty_value_registry() if previous is None else previous
    new = registry.run(
        summary, summary.iloc[0:0], previous, config or ValueConfig(),
        LifecycleConfig.from_vars(lifecycle_vars),
    ).to_pandas()  # fmt: skip
    return pd.concat([previous, new], ignore_index=True) if len(new) else previous


def test_the_analytic_gradients_equal_finite_differences():
    summary = _summary(500)
    x, t_x, T = (summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "age"))
    negative, value = btyd._bgnbd_negative(x, t_x, T, np.ones_like(x))
    point = np.array([0.5, 6.0, 0.9, 2.0])
    numeric = approx_fprime(point, lambda p: negative(p)[0], 1e-6)
    assert negative(point)[1] == pytest.approx(numeric, rel=1e-4, abs=1e-3)
    # the value alone (Nelder-Mead's) is the gradient function's value to the last bit, both shifts
    for shift in (btyd.BGNBD, btyd.MBGNBD):
        negative, value = btyd._bgnbd_negative(x, t_x, T, np.ones_like(x), shift)
        for p in (point, np.array([0.42, 42.5, 2010.0, 631024.0]), np.array([1e-4, 1e6, 1e-4, 1e6])):
            assert value(p) == negative(p)[0]
            assert -value(p) == pytest.approx(
                btyd._beta_geo_log_likelihood(p, x, t_x, T, shift).sum(), rel=1e-12
            )
    repeat = x > 0
    m = summary["mean_repeat_value"].to_numpy()[repeat]
    negative = btyd._gamma_gamma_negative(x[repeat], m, np.ones(repeat.sum()))
    point = np.array([5.0, 3.0, 12.0])
    assert -negative(point)[0] == pytest.approx(
        btyd.gamma_gamma_log_likelihood(point, x[repeat], m).sum(), rel=1e-12
    )
    numeric = approx_fprime(point, lambda p: negative(p)[0], 1e-6)
    assert negative(point)[1] == pytest.approx(numeric, rel=1e-4, abs=1e-3)


def test_a_first_build_fits_and_records_the_parameters_as_numbers():
    summary = _summary()
    first = _run(summary)
    row = first.iloc[0]
    assert len(first) == 1 and row["value_model_version"] == 1 and row["status"] == "fitted"
    assert row["reason"] == "first value model" and row["customers"] == len(summary)
    assert row["repeat_customers"] == (summary["frequency"] > 0).sum()
    assert row["bgnbd_converged"] and row["gg_converged"] and row["fit_seconds"] > 0
    triples = summary.groupby(["frequency", "recency", "age"]).size().reset_index(name="n")
    direct = btyd.fit_bgnbd(triples["frequency"], triples["recency"], triples["age"], weights=triples["n"])
    assert [row[f"bgnbd_{n}"] for n in btyd.BGNBD_PARAMS] == pytest.approx(list(direct.params.values()))
    assert row["bgnbd_log_likelihood"] == pytest.approx(direct.log_likelihood)


def test_when_a_build_fits_again():
    summary = _summary()
    first = _run(summary)
    assert len(_run(summary, first)) == 1  # nothing changed: nothing appended
    grown = _summary(seed=2)
    # the purchases changed: on_drift and always refit (the value models have no drift test)
    for policy in ("on_drift", "always"):
        refit = _run(grown, first, refit_policy=policy)
        assert refit.iloc[-1]["reason"] == "purchases changed" and len(refit) == 2
    assert len(_run(grown, first, refit_policy="never")) == 1  # keep the parameters
    assert len(_run(grown, first, segmentation_mode="score")) == 1  # frozen
    changed = _run(summary, first, config=ValueConfig(penalizer=0.01))
    assert (
        changed.iloc[-1]["reason"] == "value settings changed"
        and changed.iloc[-1]["value_model_version"] == 2
    )
    # scoring only settings do not refit
    assert len(_run(summary, first, config=ValueConfig(discount_rate=0.2, horizons_days=(7,)))) == 1


def test_score_mode_refuses_a_time_unit_the_frozen_model_was_not_fitted_in():
    first = _run(_summary())
    with pytest.raises(ValueError, match="clv_time_unit: day"):
        _run(_summary(), first, config=ValueConfig(time_unit="week"), segmentation_mode="score")


def test_too_few_customers_record_a_version_without_parameters_and_refit_when_purchases_grow():
    few = _run(_summary(12))
    row = few.iloc[0]
    assert (
        row["status"] == "not_enough_data"
        and pd.isna(row["bgnbd_r"])
        and "at least 20" in row["status_message"]
    )
    grown = _run(_summary(), few)
    assert grown.iloc[-1]["status"] == "fitted" and "without usable parameters" in grown.iloc[-1]["reason"]
    scores = score_customers(_summary(12), _summary(12).iloc[0:0], few.tail(1), ValueConfig()).to_pandas()
    assert scores.empty  # no parameters: no predictions (the marts say why)


def test_a_calibration_end_with_no_customer_before_it_says_what_to_change():
    summary = _summary()
    with pytest.raises(ValueError, match="clv_calibration_end 2009-01-01 leaves no customer"):
        registry.run(summary, summary.iloc[0:0], registry.empty_value_registry(),
                     ValueConfig(calibration_end="2009-01-01"), LifecycleConfig())  # fmt: skip


def discounted_purchases(params, horizon_days: int, unit_days: int, rate: float, x, t_x, T):
    """BG/NBD's (expected purchases over one horizon, their discounted sum)."""
    return horizon_purchases(params, [horizon_days], unit_days, rate, x, t_x, T, MODELS["bgnbd"])[0]


def test_discounting_steps_thirty_days_and_without_a_rate_equals_the_expected_purchases():
    x, t_x, T = np.array([0.0, 3.0, 10.0]), np.array([0.0, 50.0, 200.0]), np.array([60.0, 100.0, 210.0])
    expected, discounted = discounted_purchases(BGNBD, 365, 1, 0.0, x, t_x, T)
    assert expected == pytest.approx(btyd.expected_purchases(BGNBD, 365, x, t_x, T), rel=1e-12)
    assert discounted == pytest.approx(expected, rel=1e-12)
    _, at_ten = discounted_purchases(BGNBD, 365, 1, 0.10, x, t_x, T)
    steps = [min(30 * i, 365) for i in range(1, 14)]
    cumulative = [btyd.expected_purchases(BGNBD, s, x, t_x, T) for s in steps]
    by_hand = sum(
        (c - p) / 1.1 ** (s / 365)
        for c, p, s in zip(cumulative, [0 * x, *cumulative[:-1]], steps, strict=True)
    )
    assert at_ten == pytest.approx(by_hand, rel=1e-12) and (at_ten < expected).all()
    # weeks: the same horizon is 365 / 7 periods
    weekly, _ = discounted_purchases(BGNBD, 365, 7, 0.0, x, t_x, T)
    assert weekly == pytest.approx(btyd.expected_purchases(BGNBD, 365 / 7, x, t_x, T), rel=1e-12)


def test_scores_cover_every_customer_and_horizon_once():
    summary = _summary()
    models = _run(summary)
    config = ValueConfig(horizons_days=(30, 90), horizon_days=365, churn_horizon_days=60)
    scores = score_customers(summary, summary.iloc[0:0], models, config).to_pandas()
    assert len(scores) == len(summary) * 4 and set(scores["horizon_days"]) == {30, 60, 90, 365}
    assert not scores.duplicated(["customer_id", "basis", "horizon_days"]).any()
    one = scores[scores["horizon_days"] == 90].set_index("customer_id").loc[summary["customer_id"]]
    params = [models.iloc[0][f"bgnbd_{n}"] for n in btyd.BGNBD_PARAMS]
    direct = btyd.expected_purchases(params, 90, summary["frequency"], summary["recency"], summary["age"])
    assert one["expected_purchases"].to_numpy() == pytest.approx(direct, rel=1e-12)
    curve = new_customer_curve(summary, models).to_pandas()
    assert (
        curve["expected_repeat_purchases"].iloc[0] == 0
        and curve["expected_repeat_purchases"].is_monotonic_increasing
    )
    assert len(curve) == summary["age_days"].max() + 1


def test_each_row_is_its_customers_own_prediction_ordered_by_basis_customer_and_horizon():
    # shuffled, with many customers sharing a (frequency, recency, age) triple and a holdout
    summary = _summary(400).sample(frac=1.0, random_state=3).reset_index(drop=True)
    summary.loc[::3, ["frequency", "recency", "age"]] = [2, 40.0, 100.0]
    models = _run(summary)
    calibration = summary.iloc[::2].assign(holdout_days=120)
    config = ValueConfig(horizons_days=(90, 30), horizon_days=365, churn_horizon_days=60)
    scores = score_customers(summary, calibration, models, config).to_pandas()
    keys = ["basis", "clv_model", "customer_id", "horizon_days"]
    assert scores[keys].equals(scores[keys].sort_values(keys).reset_index(drop=True))
    # the chosen model at the snapshot; every candidate over the holdout and the churn horizon
    chosen = models.iloc[0]["clv_model"]
    assert len(scores) == 4 * len(summary) + len(MODELS) * 2 * len(calibration)
    assert set(scores.loc[scores["basis"] == "snapshot", "clv_model"]) == {chosen}
    assert (scores["is_chosen"] == (scores["clv_model"] == chosen)).all()
    for (basis, name, horizon), rows in scores.groupby(["basis", "clv_model", "horizon_days"]):
        customers = (
            (calibration if basis == "holdout" else summary).set_index("customer_id").loc[rows["customer_id"]]
        )
        assert horizon in (60, 120) if basis == "holdout" else horizon in (30, 60, 90, 365)
        params = [models.iloc[0][c] for c in registry.model_columns(name)]
        history = [customers[k].to_numpy(dtype=float) for k in ("frequency", "recency", "age")]
        model = MODELS[name]
        np.testing.assert_array_equal(
            rows["expected_purchases"].to_numpy(), model.expected_purchases(params, horizon, *history)
        )
        np.testing.assert_array_equal(rows["p_alive"].to_numpy(), model.p_alive(params, *history))
        np.testing.assert_array_equal(
            rows["p_no_purchase"].to_numpy(), model.p_no_purchase(params, horizon, *history)
        )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"clv_time_unit": "month"}, "clv_time_unit must be one of"),
        ({"clv_horizons_days": [30, "90"]}, "clv_horizons_days must be a list of whole days"),
        ({"clv_discount_rate": -0.1}, "clv_discount_rate is a yearly rate"),
        ({"clv_calibration_end": "2011/06/01"}, "clv_calibration_end must be a date written YYYY-MM-DD"),
        (
            {"clv_calibration_end": "2011-06-01", "customers_path": "c.csv"},
            "clv_calibration_end needs transactions",
        ),
    ],
)
def test_bad_value_settings_are_refused_before_the_build(values, message):
    result = check_settings(values)
    assert not result["ok"] and message in result["error"]


def test_a_far_out_customer_is_set_aside_from_the_fits_not_from_the_value_models():
    """One customer with 9,999 repeat purchase days at pennies each used to pull Gamma-Gamma's q
    below 1 (an infinite order value), so every customer's CLV was null. He is set aside from
    the fit, named in the status message (marts.dim_clv_models), and the fit is the base's."""
    summary = _summary()
    assert registry.frequency_far_out_bound(summary["frequency"]) > summary["frequency"].max()  # none here
    planted = pd.concat([summary, pd.DataFrame([{
        "customer_id": "z99999", "frequency": 9_999, "recency": 10_000.0, "age": 10_001.0, "age_days": 10_001,
        "mean_repeat_value": 0.01, "as_of_date": summary["as_of_date"].iloc[0],
    }])], ignore_index=True)  # fmt: skip
    repeat = planted[planted["frequency"] > 0]
    alone = btyd.fit_gamma_gamma(repeat["frequency"], repeat["mean_repeat_value"])
    assert alone.params["q"] <= 1  # what the plain fit does with him
    row = _run(planted).iloc[0]
    assert row["status"] == "fitted" and row["gg_q"] > 1
    assert "1 customer(s) with more than" in row["status_message"] and "(z99999)" in row["status_message"]
    base = _run(summary).iloc[0]
    assert [row[f"gg_{n}"] for n in btyd.GAMMA_GAMMA_PARAMS] == pytest.approx(
        [base[f"gg_{n}"] for n in btyd.GAMMA_GAMMA_PARAMS]
    )
    assert "set aside" not in str(base["status_message"])
