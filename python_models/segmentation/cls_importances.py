from custseg.segmentation import pipeline


def model(dbt, session):
    """The classifier's holdout feature importances, stored in its registered artifact."""
    return pipeline.classifier_report(pipeline.to_pandas(dbt.ref("cls_model_registry")), "importances")
