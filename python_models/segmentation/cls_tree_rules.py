from custseg.segmentation import pipeline


def model(dbt, session):
    """The explainable decision tree as a rule table (and its SQL case expression)."""
    return pipeline.tree_rules(pipeline.to_pandas(dbt.ref("cls_model_registry")))
