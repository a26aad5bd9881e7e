from custseg.segmentation import pipeline


def model(dbt, session):
    """Every customer's cluster, distances to its own and the next centroid, and confidence."""
    fitted = pipeline.load_model(pipeline.to_pandas(dbt.ref("seg_model_registry")))
    return pipeline.assignments(fitted, pipeline.to_pandas(dbt.ref("dim_customers")))
