"""The dashboard's "Value ahead" page (run by dashboard/app.py's navigation)."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from custseg.dashboard import look, queries
from custseg.value.purchase_models import MODELS


def _value_holdout(value: dict) -> None:
    """Predicted against actual in the holdout (a build with clv_calibration_end)."""
    errors = value["holdout_errors"].iloc[0]
    st.subheader("Predicted against actual in the holdout")
    st.caption(
        f"Fitted on the purchases up to {pd.Timestamp(errors['calibration_end']).date()}; "
        f"{errors['predicted_purchases']:,.0f} repeat purchases predicted for the next {errors['holdout_days']} "
        f"days, {errors['actual_purchases']:,.0f} made ({errors['relative_error']:+.1%}); per customer "
        f"MAE {errors['mean_absolute_error']:.2f}."
    )
    bins = value["holdout_bins"].melt(
        id_vars="calibration_frequency_label", value_vars=["predicted_mean_purchases", "actual_mean_purchases"],
        var_name="series", value_name="mean_purchases",
    ).replace({"series": {"predicted_mean_purchases": "Predicted", "actual_mean_purchases": "Actual"}})  # fmt: skip
    figure = px.bar(bins, x="calibration_frequency_label", y="mean_purchases", color="series", barmode="group",
                    labels={"calibration_frequency_label": "Repeat purchases up to the calibration end",
                            "mean_purchases": "Mean repeat purchases in the holdout", "series": ""})  # fmt: skip
    # labels, not numbers: as numbers, "7+" (the most frequent buyers, the largest misfit) was dropped
    figure.update_xaxes(type="category", categoryorder="array",
                        categoryarray=list(value["holdout_bins"]["calibration_frequency_label"]))  # fmt: skip
    st.plotly_chart(figure, key="holdout_bins")
    curve = value["holdout_curve"].melt(
        id_vars="week_end_date",
        value_vars=["predicted_cumulative_repeat_purchases", "actual_cumulative_repeat_purchases"],
        var_name="series", value_name="repeat_purchases",
    ).replace({"series": {"predicted_cumulative_repeat_purchases": "Predicted",
                          "actual_cumulative_repeat_purchases": "Actual"}})  # fmt: skip
    figure = px.line(curve, x="week_end_date", y="repeat_purchases", color="series",
                     labels={"week_end_date": "Week", "repeat_purchases": "Cumulative repeat purchases",
                             "series": ""})  # fmt: skip
    figure.add_vline(x=pd.Timestamp(errors["calibration_end"]).timestamp() * 1000, line_dash="dash")
    st.plotly_chart(figure, key="holdout_curve")


def _value_backtest(value: dict) -> None:
    """How the answers ranked and sized what customers did after the calibration end."""
    backtest = value["backtest"].iloc[0]  # the chosen model's
    horizon = int(backtest["churn_horizon_days"])
    st.subheader("Backtest: did the answers find who stopped buying?")
    cols = st.columns(3)
    cols[0].metric("Churn risk AUC", f"{backtest['churn_risk_auc']:.2f}")
    cols[1].metric("Days since last purchase AUC", f"{backtest['days_since_last_purchase_auc']:.2f}")
    cols[2].metric("P(alive) AUC", f"{backtest['p_alive_auc']:.2f}")
    covered = (
        ""
        if backtest["churn_horizon_covered"]
        else f" The holdout ({int(backtest['holdout_days'])} days) is shorter than the churn horizon: read these as rough."
    )
    st.caption(
        f"Of {int(backtest['customers']):,} customers at the calibration end, {int(backtest['churned_customers']):,} "
        f"({backtest['actual_churn_rate']:.1%}) made no purchase in the next {horizon} days; the model predicted "
        f"{backtest['predicted_churn_rate']:.1%}. AUC: how often a customer who stopped is ranked above one who "
        f"bought (0.5 = chance, 1 = always); days since the last purchase is the baseline to beat.{covered}"
    )
    models = value["backtest"][["clv_model", "is_chosen", "churn_risk_auc", "days_since_last_purchase_auc",
                                "p_alive_auc", "predicted_churn_rate", "actual_churn_rate"]].assign(
        clv_model=lambda frame: frame["clv_model"].map(lambda name: MODELS[name].label))  # fmt: skip
    st.dataframe(look.table(models), hide_index=True, key="backtest_models")
    st.dataframe(look.table(value["backtest_bands"]), hide_index=True, key="backtest_bands")
    st.dataframe(look.table(value["backtest_segments"]), hide_index=True, key="backtest_segments")


def _matrix(table: pd.DataFrame, title: str, color: str, fmt: str, key: str, scale: str) -> None:
    figure = px.imshow(
        table, text_auto=fmt, aspect="auto", color_continuous_scale=scale,
        labels={"x": "Days since the last purchase", "y": "Repeat purchases", "color": color},
    )  # fmt: skip
    figure.update_xaxes(type="category")
    figure.update_yaxes(type="category", autorange="reversed")
    st.markdown(f"**{title}**")
    st.plotly_chart(figure, key=key)


def page_value() -> None:
    st.title("Value ahead")
    value = queries.value()
    if value is None:
        st.info(
            "Value ahead (churn risk, CLV) needs purchases over time: a customer table has none (docs/value.md)."
        )
        return
    model, totals = value["model"], value["totals"]
    if model is None or model["status"] != "fitted":
        st.warning(f"No usable value model: {model['status_message'] if model else 'none fitted yet'}")
        return
    horizon = int(totals["churn_horizon_days"])
    identified = bool(totals["dropout_identified"])
    if not identified:
        st.info(
            "These purchases show no sign of customers leaving for good: the model finds almost no one who has "
            "stopped for ever, so P(alive) is close to 100% for nearly every customer and tells them apart on "
            f"nothing. It is not shown. Read the churn risk instead: the probability of no purchase in the next "
            f"{horizon} days, which does rise as a customer's silence grows (docs/value.md)."
        )
    cols = st.columns(4)
    cols[0].metric(f"Mean churn risk ({horizon} days)", f"{totals['mean_churn_risk']:.0%}")
    cols[1].metric("High churn risk", f"{int(totals['high_churn_risk']):,}")
    cols[2].metric("Predicted CLV, next year", look.money(totals["predicted_clv"]))
    if identified:
        cols[3].metric("Mean P(alive)", f"{totals['mean_p_alive']:.0%}")
    else:
        cols[3].metric("Too little history", f"{int(totals['too_little_history']):,}")
    fits = queries.candidates(model)
    chosen = fits[fits["is_chosen"]].iloc[0]
    st.caption(
        f"{chosen['model']} + Gamma-Gamma, value model version {model['value_model_version']} fitted "
        f"{pd.Timestamp(model['fitted_at']):%Y-%m-%d %H:%M} on {model['customers']:,} customers ({chosen['parameters']}), "
        f"chosen by {model['clv_model_reason']}. docs/value.md says when not to trust it."
    )
    st.dataframe(look.table(fits), hide_index=True, key="value_candidates")
    if model.get("status_message"):
        st.warning(f"The value model says: {model['status_message']}")
    st.subheader("What the model expects, by repeat purchases and days since the last purchase")
    st.caption(
        f"For a customer who first bought {int(totals['max_age_days']):,} days ago (the longest history); a "
        "customer without a repeat purchase last bought on his first day, so his row does not change across."
    )
    matrices = queries.frequency_recency_matrices(model, totals)
    _matrix(matrices["churn_risk"], f"Churn risk: no purchase in the next {horizon} days", "Churn risk", ".0%",
            "churn_matrix", "RdYlGn_r")  # fmt: skip
    _matrix(matrices["expected_purchases"], f"Expected purchases in the next {horizon} days", "Purchases", ".1f",
            "expected_matrix", "Blues")  # fmt: skip
    st.subheader("Where next year's revenue comes from")
    segments = value["segments"] if identified else value["segments"].drop(columns=["mean_p_alive"])
    st.dataframe(look.table(segments), hide_index=True, key="segment_value")
    st.subheader(f"Top {len(value['top'])} customers by value ahead")
    st.dataframe(look.table(value["top"]), hide_index=True, key="top_customers")
    if len(value["holdout_errors"]):
        _value_holdout(value)
        if len(value["backtest"]):
            _value_backtest(value)
    else:
        st.caption("Set clv_calibration_end to check the predictions against a holdout (docs/value.md).")


page_value()
