from custseg.segmentation import pipeline


def model(dbt, session):
    """Explained variance per PCA component (plot PCA; clustering PCA when enabled). A report of the fit, decoded; nothing is fitted or unpickled."""
    registry = pipeline.active_registry(dbt.ref("ml_model_registry"))
    return pipeline.report(registry, "segmentation", "pca_variance")
