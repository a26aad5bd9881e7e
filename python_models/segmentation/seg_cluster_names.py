from custseg.segmentation import pipeline


def model(dbt, session):
    """Each cluster's R/F/M position (scores in [0, 1]) and the business name it was given."""
    return pipeline.cluster_names(pipeline.load_model(pipeline.to_pandas(dbt.ref("seg_model_registry"))))
