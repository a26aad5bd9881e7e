"""The dashboard's "Value ahead" page (run by dashboard/app.py's navigation)."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from custseg.dashboard import look, queries


def _value_holdout(value: dict) -> None:
    """Predicted against actual in the holdout (a build with clv_calibration_end)."""
    errors = value["holdout_errors"].iloc[0]
    st.subheader("Predicted against actual in the holdout")
    st.caption(
        f"Fitted on the purchases before {pd.Timestamp(errors['calibration_end']).date()}; "
        f"{errors['predicted_purchases']:,.0f} repeat purchases predicted for the next {errors['holdout_days']} "
        f"days, {errors['actual_purchases']:,.0f} made ({errors['relative_error']:+.1%}); per customer "
        f"MAE {errors['mean_absolute_error']:.2f}."
    )
    bins = value["holdout_bins"].melt(
        id_vars="calibration_frequency_label", value_vars=["predicted_mean_purchases", "actual_mean_purchases"],
        var_name="series", value_name="mean_purchases",
    ).replace({"series": {"predicted_mean_purchases": "Predicted", "actual_mean_purchases": "Actual"}})  # fmt: skip
    st.plotly_chart(
        px.bar(bins, x="calibration_frequency_label", y="mean_purchases", color="series", barmode="group",
               labels={"calibration_frequency_label": "Repeat purchases before the calibration end",
                       "mean_purchases": "Mean repeat purchases in the holdout", "series": ""}),
        key="holdout_bins",
    )  # fmt: skip
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


def page_value() -> None:
    st.title("Value ahead")
    value = queries.value()
    if value is None:
        st.info(
            "Value ahead (P(alive), churn risk, CLV) needs purchases over time: a customer table has none "
            "(docs/value.md)."
        )
        return
    model, totals = value["model"], value["totals"]
    if model is None or model["status"] != "fitted":
        st.warning(f"No usable value model: {model['status_message'] if model else 'none fitted yet'}")
        return
    cols = st.columns(4)
    cols[0].metric("Predicted CLV, next year", look.money(totals["predicted_clv"]))
    cols[1].metric("Mean P(alive)", f"{totals['mean_p_alive']:.0%}")
    cols[2].metric("High churn risk", f"{int(totals['high_churn_risk']):,}")
    cols[3].metric("Too little history", f"{int(totals['too_little_history']):,}")
    st.caption(
        f"BG/NBD + Gamma-Gamma, value model version {model['value_model_version']} fitted {model['fitted_at']} "
        f"on {model['customers']:,} customers (r = {model['bgnbd_r']:.3g}, alpha = {model['bgnbd_alpha']:.3g}, "
        f"a = {model['bgnbd_a']:.3g}, b = {model['bgnbd_b']:.3g}). docs/value.md says when not to trust it."
    )
    st.subheader("P(alive) by repeat purchases and days since the last purchase")
    grid = px.imshow(
        queries.alive_matrix(value["grid"]), text_auto=".0%", aspect="auto", color_continuous_scale="RdYlGn",
        zmin=0, zmax=1, labels={"x": "Days since the last purchase", "y": "Repeat purchases", "color": "P(alive)"},
    )  # fmt: skip
    grid.update_xaxes(type="category")  # "0-29", "6-9": labels, not numbers
    grid.update_yaxes(type="category", autorange="reversed")
    st.plotly_chart(grid, key="alive_matrix")
    st.subheader("Where next year's revenue comes from")
    st.dataframe(look.table(value["segments"]), hide_index=True, key="segment_value")
    st.subheader(f"Top {len(value['top'])} customers by value ahead")
    st.dataframe(look.table(value["top"]), hide_index=True, key="top_customers")
    if len(value["holdout_errors"]):
        _value_holdout(value)
    else:
        st.caption("Set clv_calibration_end to check the predictions against a holdout (docs/value.md).")


page_value()
