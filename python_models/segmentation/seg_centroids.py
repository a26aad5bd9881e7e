from custseg.segmentation import pipeline


def model(dbt, session):
    """Centroids in model (scaled) units and in original feature units, one row per dimension. A report of the fit, decoded; nothing is fitted or unpickled."""
    registry = pipeline.active_registry(dbt.ref("ml_model_registry"))
    return pipeline.report(registry, "segmentation", "centroids")
