from custseg.relations import to_pandas
from custseg.value.config import ValueConfig
from custseg.value.score import score_customers


def model(dbt, session):
    """Every customer's expected purchases over each horizon, with the active value model."""
    return score_customers(
        to_pandas(dbt.ref("int_customers__repeat_purchases")),
        to_pandas(dbt.ref("int_customers__value_calibration")),
        to_pandas(dbt.ref("ml_active_value_model")),
        ValueConfig.from_vars(dbt.config.get("value_settings")),
    )
