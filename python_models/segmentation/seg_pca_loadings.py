from custseg.segmentation import pipeline


def model(dbt, session):
    """The clustering PCA's loadings and means per component and feature (no rows without PCA). A report of the fit, decoded; nothing is fitted or unpickled."""
    registry = pipeline.active_registry(dbt.ref("ml_model_registry"))
    return pipeline.report(registry, "segmentation", "pca_loadings")
