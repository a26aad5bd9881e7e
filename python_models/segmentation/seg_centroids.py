from custseg.segmentation import pipeline


def model(dbt, session):
    """Centroids in model (scaled) units and in original feature units, one row per dimension. A report of the fit, decoded; nothing is fitted or unpickled."""
    registry = pipeline.to_pandas(dbt.ref("ml_model_registry").project("model_kind, reports"))
    return pipeline.report(registry, "segmentation", "centroids")
