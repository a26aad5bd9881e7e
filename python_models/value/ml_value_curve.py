from custseg.relations import to_pandas
from custseg.value.score import new_customer_curve


def model(dbt, session):
    """A new customer's expected repeat purchases by days since the first purchase."""
    return new_customer_curve(
        to_pandas(dbt.ref("int_customers__repeat_purchases")),
        to_pandas(dbt.ref("ml_active_value_model")),
    )
