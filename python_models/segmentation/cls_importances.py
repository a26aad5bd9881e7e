from custseg.segmentation import pipeline


def model(dbt, session):
    """The classifier's holdout feature importances. A report of the fit, decoded; nothing is fitted or unpickled."""
    registry = pipeline.to_pandas(dbt.ref("ml_model_registry").project("model_kind, reports"))
    return pipeline.report(registry, "classifier", "importances")
