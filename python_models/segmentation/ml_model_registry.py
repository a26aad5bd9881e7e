from custseg.relations import to_pandas
from custseg.segmentation import ClassifierConfig, LifecycleConfig, SegmentationConfig, step
from custseg.segmentation.readiness import no_customers_message


def model(dbt, session):
    """The ML layer's fit, appended to the registry (incremental): a run row with the drift
    against the active model and, when the lifecycle decides to fit, one row per model of a new
    version (segmentation, classifier, tree): signed artifact and reports (JSON, unpacked by the
    report marts). Nothing is appended when neither the customers nor the settings changed."""
    # every version ever fitted stays, even through --full-refresh (drop the table to start over)
    dbt.config(
        materialized="incremental", incremental_strategy="append", on_schema_change="fail", full_refresh=False
    )
    settings = dbt.config.get("segmentation_settings")
    customers = to_pandas(dbt.ref("int_customers__segmentation_input"))
    if customers.empty:
        # say why: the lines by outcome (a lazy relation, read only on this path)
        outcomes = to_pandas(dbt.ref("int_input__outcomes"))
        raise ValueError(no_customers_message(dict(outcomes.to_numpy())))
    previous = to_pandas(session.sql(f"select * from {dbt.this}")) if dbt.is_incremental else None
    return step.run(
        customers,
        to_pandas(dbt.ref("segment_names")),
        step.registry_frame(previous),
        SegmentationConfig.from_vars(settings),
        ClassifierConfig.from_vars(settings),
        LifecycleConfig.from_vars(settings),
        to_pandas(dbt.ref("ml_segment_evidence")),
    )
