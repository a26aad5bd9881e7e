from custseg.segmentation import pipeline


def model(dbt, session):
    """k sweep: inertia, silhouette, Davies-Bouldin, Calinski-Harabasz per k; elbow; chosen k. A report of the fit, decoded; nothing is fitted or unpickled."""
    registry = pipeline.active_registry(dbt.ref("ml_model_registry"))
    return pipeline.report(registry, "segmentation", "k_selection")
