from custseg.segmentation import pipeline


def model(dbt, session):
    """Explained variance per PCA component (plot PCA; clustering PCA when enabled). A report of the fit, decoded; nothing is fitted or unpickled."""
    registry = pipeline.to_pandas(dbt.ref("ml_model_registry").project("model_kind, reports"))
    return pipeline.report(registry, "segmentation", "pca_variance")
