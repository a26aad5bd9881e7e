from custseg.segmentation import pipeline


def model(dbt, session):
    """Centroids in model (scaled) units and in original feature units, one row per dimension."""
    return pipeline.centroids(pipeline.load_model(pipeline.to_pandas(dbt.ref("seg_model_registry"))))
