from custseg.segmentation import pipeline


def model(dbt, session):
    """Per feature: log transform, clipping bounds and the scaler's mean and scale. A report of the fit, decoded; nothing is fitted or unpickled."""
    registry = pipeline.active_registry(dbt.ref("ml_model_registry"))
    return pipeline.report(registry, "segmentation", "preprocessing")
