from custseg.segmentation import pipeline


def model(dbt, session):
    """Per feature: log transform, clipping bounds and the scaler's mean and scale."""
    return pipeline.preprocessing(pipeline.load_model(pipeline.to_pandas(dbt.ref("seg_model_registry"))))
