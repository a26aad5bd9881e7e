"""The value marts of a built warehouse (the session's demo build): the SQL closed forms equal
the package's Python to 1e-9, the expected purchases and CLV are the scoring model's, and the
per-segment and per-horizon marts add up to the customers'."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from custseg.value import btyd, registry
from custseg.value.purchase_models import MODELS

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def value(demo_warehouse):
    with duckdb.connect(str(demo_warehouse.db_path), read_only=True) as con:
        customers = con.sql(
            "select v.*, s.frequency, s.recency, s.age, s.mean_repeat_value, s.total_value "
            "from marts.dim_customer_value v "
            "join intermediate.int_customers__repeat_purchases s using (customer_id) order by customer_id"
        ).df()
        model = con.sql("select * from marts.dim_clv_models where is_active").df().iloc[0]
        horizons = con.sql("select * from marts.fct_customer_value_horizons").df()
        segments = con.sql("select * from marts.fct_segment_value").df()
        counts = con.execute(
            "select (select count(*) from marts.dim_customers), (select count(*) from marts.fct_clv_holdout_by_frequency),"
            " (select count(*) from marts.fct_clv_holdout_tracking), (select count(*) from marts.fct_clv_holdout_errors)"
        ).fetchone()
    return customers, model, horizons, segments, counts


def test_every_customer_is_valued_by_a_fitted_model(value):
    customers, model, _, _, (dim_customers, *holdout) = value
    assert model["status"] == "fitted" and model["value_model_version"] == 1 and model["bgnbd_converged"]
    assert len(customers) == dim_customers > 500
    assert customers["p_alive"].notna().all() and customers["predicted_clv"].notna().all()
    assert holdout == [0, 0, 0]  # no calibration end: no holdout rows


def _chosen(model):
    """The purchase model the version chose and its parameters (custseg.value.purchase_models)."""
    chosen = MODELS[model["clv_model"]]
    return chosen, [model[c] for c in registry.model_columns(chosen.name)]


def test_the_marts_are_the_chosen_models_and_gamma_gamma_in_sql_equals_python(value):
    """P(alive), the churn risk (no purchase in 90 days) and its bands are the chosen purchase
    model's, as the package computes them (to 1e-9); Gamma-Gamma's expected order value, a
    closed form in SQL, equals the package's Python to 1e-9."""
    customers, model, _, _, _ = value
    chosen, params = _chosen(model)
    assert model["clv_model"] in MODELS and model["clv_model_reason"]
    gg = [model[f"gg_{n}"] for n in btyd.GAMMA_GAMMA_PARAMS]
    x, t_x, T = (customers[c].to_numpy(dtype=float) for c in ("frequency", "recency", "age"))
    alive = chosen.p_alive(params, x, t_x, T)
    assert np.abs(customers["p_alive"].to_numpy() - alive).max() <= 1e-9
    assert ((customers["p_alive"] > 0) & (customers["p_alive"] <= 1)).all()
    spend = btyd.expected_average_value(gg, x, customers["mean_repeat_value"].fillna(0).to_numpy())
    assert np.abs(customers["expected_average_order_value"].to_numpy() / spend - 1).max() <= 1e-9
    no_purchase = chosen.p_no_purchase(params, 90, x, t_x, T)
    assert np.abs(customers["churn_risk"].to_numpy() - no_purchase).max() <= 1e-9
    assert (customers["churn_horizon_days"] == 90).all()
    bands = np.select([no_purchase < 1 / 3, no_purchase < 2 / 3], ["low", "medium"], "high")
    assert (customers["churn_risk_band"].to_numpy() == bands).all()


def test_expected_purchases_and_clv_are_the_scoring_models(value):
    customers, model, horizons, _, _ = value
    chosen, params = _chosen(model)
    x, t_x, T = (customers[c].to_numpy(dtype=float) for c in ("frequency", "recency", "age"))
    year = chosen.expected_purchases(params, 365, x, t_x, T)
    assert customers["predicted_number_of_orders"].to_numpy() == pytest.approx(year, rel=1e-9)
    assert set(horizons["horizon_days"]) == {30, 90, 365} and len(horizons) == 3 * len(customers)
    at_year = horizons[horizons["horizon_days"] == 365].set_index("customer_id").loc[customers["customer_id"]]
    assert at_year["discounted_value"].to_numpy() == pytest.approx(
        customers["predicted_clv"].to_numpy(), rel=1e-12
    )
    assert (at_year["discounted_value"] < at_year["expected_value"]).all()  # a 10% yearly discount
    assert customers["total_clv"].to_numpy() == pytest.approx(
        (customers["historic_clv"] + customers["predicted_clv"]).to_numpy()
    )
    by_horizon = horizons.pivot(index="customer_id", columns="horizon_days", values="expected_purchases")
    assert ((by_horizon[30] <= by_horizon[90]) & (by_horizon[90] <= by_horizon[365])).all()


def test_deciles_rank_the_value_ahead_and_segments_add_up(value):
    customers, _, _, segments, _ = value
    deciles = customers.groupby("value_decile")["predicted_clv"]
    assert (
        list(deciles.size().index) == list(range(1, 11)) and deciles.size().max() - deciles.size().min() <= 1
    )
    assert (deciles.min().to_numpy()[:-1] >= deciles.max().to_numpy()[1:]).all()
    assert segments["customers"].sum() == len(customers)
    assert segments["predicted_clv"].sum() == pytest.approx(customers["predicted_clv"].sum(), rel=1e-9)
    assert segments["predicted_clv_share"].sum() == pytest.approx(1.0)
    per_segment = customers.groupby("cluster_id")["p_alive"].mean()
    assert segments.set_index("cluster_id")["mean_p_alive"].to_numpy() == pytest.approx(
        per_segment.loc[segments["cluster_id"]].to_numpy(), rel=1e-9
    )


def test_new_customers_are_flagged_and_the_next_order_follows_their_rhythm(value):
    customers, _, _, _, _ = value
    age = (customers["as_of_date"] - customers["first_purchase_date"]).dt.days
    assert (customers["too_little_history"] == (age < 30)).all()
    assert customers.loc[age < 30, "prediction_note"].str.contains("fewer than 30 days").all()
    repeat = customers[customers["repeat_purchases"] > 0]
    gap = (repeat["expected_date_of_next_order"] - repeat["last_purchase_date"]).dt.days
    assert (gap - repeat["average_days_between_orders"]).abs().max() <= 0.5
    assert customers.loc[customers["repeat_purchases"] == 0, "expected_date_of_next_order"].isna().all()
