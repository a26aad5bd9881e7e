"""How the dashboard shows numbers: one label per column (units in the label), number formats
(money with the currency and thousands separators, shares as percentages with one decimal,
dates without times) and one colour per segment on every page (colour-blind safe; the noise
group grey). dashboard/app.py passes every table through :func:`table` and every chart that
colours by segment through :func:`segment_colors`.
"""

from __future__ import annotations

import re

import pandas as pd

from ..project import project_var

CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$", "JPY": "¥", "CHF": "CHF ", "SEK": "SEK "}
NOISE = "Unclustered (noise)"
NOISE_COLOR = "#9E9E9E"
# Okabe & Ito (2008), then Paul Tol's muted scheme: distinguishable with the common colour-vision
# deficiencies; grey is kept for the noise group
PALETTE = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
    "#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255", "#AA4499",
)  # fmt: skip

# the words for the columns the dashboard shows (a column not listed is humanised)
LABELS = {
    "segment_name": "Segment", "cluster_id": "Segment id", "description": "Description",
    "recommended_action": "Recommended action", "customer_count": "Customers", "customers": "Customers",
    "customer_share": "Share of customers", "revenue": "Revenue", "revenue_share": "Share of revenue",
    "mean_confidence": "Mean confidence", "distinguishing_features": "What sets it apart",
    "outcome": "Outcome", "row_count": "Raw lines", "row_share": "Share of lines", "k": "k",
    "inertia": "Inertia", "silhouette": "Silhouette", "davies_bouldin": "Davies-Bouldin",
    "calinski_harabasz": "Calinski-Harabasz", "is_elbow": "Elbow", "is_chosen": "Chosen",
    "selection_reason": "Why", "rfm_segment": "RFM segment", "recency_score": "Recency score",
    "fm_score": "Frequency-monetary score", "precision": "Precision", "recall": "Recall",
    "f1_score": "F1 score", "support": "Customers in the holdout", "rule": "Rule", "sql_case": "SQL",
    "importance": "Importance", "feature": "Feature", "run_id": "Run", "as_of_date": "As of",
    "measure": "Measure", "subject": "Of", "value": "Value", "status": "Status", "run_status": "Run status",
    "decision": "Decision", "customer_id": "Customer", "repeat_purchases": "Repeat purchases",
    "historic_clv": "Historic CLV", "predicted_clv": "Predicted CLV, next year", "total_clv": "Total CLV",
    "p_alive": "P(alive)", "mean_p_alive": "Mean P(alive)", "churn_risk": "Churn risk",
    "mean_churn_risk": "Mean churn risk", "churn_risk_band": "Churn risk band",
    "high_churn_risk_customers": "Customers at high churn risk", "predicted_clv_share": "Share of predicted CLV",
    "predicted_number_of_orders": "Expected orders, next year", "expected_date_of_next_order": "Next order expected",
    "expected_average_order_value": "Expected order value", "predicted_churn_rate": "Predicted churn rate",
    "actual_churn_rate": "Actual churn rate", "predicted_buyer_share": "Expected to buy in the holdout",
    "actual_buyer_share": "Bought in the holdout", "predicted_holdout_revenue": "Predicted holdout revenue",
    "actual_holdout_revenue": "Actual holdout revenue", "clv_model": "Purchase model",
    "churn_risk_auc": "Churn risk AUC", "days_since_last_purchase_auc": "Days since last purchase AUC",
    "p_alive_auc": "P(alive) AUC", "aic": "AIC", "holdout_error": "Holdout error (purchases per customer)",
    "parameters": "Parameters", "model": "Model", "recency_days": "Days since last purchase",
    "order_count": "Orders", "monetary_value": "Spend", "tenure_days": "Days since first purchase",
    "avg_order_value": "Average order value", "confidence": "Confidence", "pc_1": "Component 1",
    "pc_2": "Component 2", "pc_3": "Component 3", "stock_code": "Product", "country": "Country",
    "segment_mean": "Segment mean", "overall_mean": "Everyone's mean", "segment_median": "Segment median",
    "overall_median": "Everyone's median", "standardised_difference": "Difference (standard deviations)",
    "distance_to_centroid": "Distance to the segment's centre", "value_decile": "Value decile (1 = top 10%)",
    "is_control": "Control group",
    # values shown in tables: quarantine reasons (seeds/quarantine_reasons.csv) and drift measures
    "clean": "Clean", "null_customer": "No customer id", "null_customer_id": "No customer id", "unparseable_value": "Unreadable value",
    "out_of_range_value": "Value out of range", "non_product_line": "Not a product (postage, fees)",
    "cancellation": "Cancellation or return", "non_positive_quantity": "Quantity zero or below",
    "non_positive_price": "Price zero or below", "feature_psi": "Feature PSI", "segment_share_psi": "Segment share PSI",
}  # fmt: skip
MONEY = {
    "revenue", "historic_clv", "predicted_clv", "total_clv", "expected_average_order_value", "monetary_value",
    "avg_order_value", "monetary_gross", "returned_value", "predicted_holdout_revenue", "actual_holdout_revenue",
}  # fmt: skip
SHARES = {
    "customer_share", "revenue_share", "row_share", "predicted_clv_share", "p_alive", "mean_p_alive",
    "churn_risk", "mean_churn_risk", "mean_confidence", "confidence", "predicted_churn_rate", "actual_churn_rate",
    "predicted_buyer_share", "actual_buyer_share",
}  # fmt: skip
_SNAKE = re.compile(r"[a-z0-9]+(_[a-z0-9]+)+")


def currency() -> str:
    """The currency of the money columns: the var currency in dbt_project.yml (ISO code)."""
    return str(project_var("currency") or "")


def money(value: float, code: str | None = None) -> str:
    """A money amount with the currency and thousands separators, no decimals: £1,234,567."""
    if value is None or pd.isna(value):
        return "—"
    code = currency() if code is None else code
    symbol = CURRENCY_SYMBOLS.get(code, f"{code} " if code else "")
    return f"-{symbol}{abs(value):,.0f}" if value < 0 else f"{symbol}{value:,.0f}"


def label(column: str) -> str:
    """The column's words: its label, else the name humanised ("days_to_go" -> "Days to go")."""
    text = LABELS.get(column) or column.replace("_", " ").strip().capitalize()
    code = currency()
    return f"{text} ({code})" if column in MONEY and code else text


def words(values: pd.Series) -> pd.Series:
    """A column of codes shown as words: each listed or snake_case value by its label (quarantine
    reasons, drift measures, feature names); other values (segment names) as they are."""
    return values.map(lambda v: label(v) if isinstance(v, str) and (v in LABELS or is_raw_name(v)) else v)


def is_raw_name(text: str) -> bool:
    """True for a snake_case identifier shown as it is (what no header may be)."""
    return bool(_SNAKE.fullmatch(str(text)))


def _number(value, decimals: int) -> str:
    return "—" if pd.isna(value) else f"{value:,.{decimals}f}"


def table(frame: pd.DataFrame):
    """A styled table for st.dataframe: labelled headers, money with thousands separators (the
    currency in the header), shares as percentages with one decimal, other numbers with
    separators, dates without a midnight time. The values underneath stay numbers (sorting),
    except in a column with a missing value: Streamlit's grid draws a missing value as the word
    "None" whatever the style says, so such a column is shown as its formatted text, a missing
    value as a dash."""
    formats = {}
    for column in frame.columns:
        series = frame[column]
        if column in SHARES:
            formats[column] = lambda v: f"{v:.1%}"
        elif column in MONEY:
            formats[column] = lambda v: _number(v, 0)
        elif pd.api.types.is_bool_dtype(series):
            formats[column] = lambda v: "yes" if v is True or v == 1 else "no"
        elif pd.api.types.is_integer_dtype(series):
            formats[column] = lambda v: _number(v, 0)
        elif pd.api.types.is_float_dtype(series):
            formats[column] = lambda v: _number(v, 2)
        elif pd.api.types.is_datetime64_any_dtype(series):
            formats[column] = lambda v: pd.Timestamp(v).strftime("%Y-%m-%d")
    frame = frame.copy()
    for column in frame.columns:
        missing = frame[column].isna()
        if missing.any():
            shown = formats.pop(column, str)
            frame[column] = [
                MISSING if gone else shown(v) for v, gone in zip(frame[column], missing, strict=True)
            ]
    renamed = frame.rename(columns=label)
    return renamed.style.format({label(c): f for c, f in formats.items()})


# how a missing value reads in a table
MISSING = "—"


def segment_colors(names: list[str]) -> dict[str, str]:
    """One colour per segment, by the segments' order (their cluster id): the same segment has
    the same colour on every chart; the noise group is grey."""
    colors, i = {}, 0
    for name in names:
        if name == NOISE:
            colors[name] = NOISE_COLOR
        elif name not in colors:
            colors[name] = PALETTE[i % len(PALETTE)]
            i += 1
    return colors


def axis_labels(*columns: str) -> dict[str, str]:
    """Plotly's labels argument for these columns."""
    return {c: label(c) for c in columns}
