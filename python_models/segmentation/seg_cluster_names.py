from custseg.segmentation import pipeline


def model(dbt, session):
    """Each cluster's R/F/M position (scores in [0, 1]) and the business name it was given. A report of the fit, decoded; nothing is fitted or unpickled."""
    registry = pipeline.active_registry(dbt.ref("ml_model_registry"))
    return pipeline.report(registry, "segmentation", "cluster_names")
