from custseg.segmentation import pipeline


def model(dbt, session):
    """3-D PCA coordinates of every customer for plots."""
    fitted = pipeline.load_model(pipeline.to_pandas(dbt.ref("seg_model_registry")))
    coordinates, _ = pipeline.pca_projection(fitted, pipeline.to_pandas(dbt.ref("dim_customers")))
    return coordinates
