from custseg.segmentation import pipeline


def model(dbt, session):
    """Explained variance per PCA component (plot PCA; clustering PCA when enabled)."""
    fitted = pipeline.load_model(pipeline.to_pandas(dbt.ref("seg_model_registry")))
    _, variance = pipeline.pca_projection(fitted, pipeline.to_pandas(dbt.ref("dim_customers")))
    return variance
