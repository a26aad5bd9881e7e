from custseg.ml_lifecycle import LifecycleConfig
from custseg.relations import to_pandas
from custseg.value import registry
from custseg.value.config import ValueConfig


def model(dbt, session):
    """The value models' fit, appended to their registry (incremental): a new version when
    custseg.value.registry.decide says so, else nothing."""
    # every version ever fitted stays, even through --full-refresh (drop the table to start over);
    # a registry written before a column was added gets it (null in its old rows)
    dbt.config(
        materialized="incremental",
        incremental_strategy="append",
        on_schema_change="append_new_columns",
        full_refresh=False,
    )
    settings = dbt.config.get("value_settings")
    previous = to_pandas(session.sql(f"select * from {dbt.this}")) if dbt.is_incremental else None
    return registry.run(
        to_pandas(dbt.ref("int_customers__repeat_purchases")),
        to_pandas(dbt.ref("int_customers__value_calibration")),
        registry.empty_value_registry() if previous is None else previous,
        ValueConfig.from_vars(settings),
        LifecycleConfig.from_vars(settings),
    )
