from custseg.segmentation import pipeline


def model(dbt, session):
    """The explainable decision tree as a rule table (and its SQL case expression). A report of the fit, decoded; nothing is fitted or unpickled."""
    registry = pipeline.active_registry(dbt.ref("ml_model_registry"))
    return pipeline.report(registry, "classifier_tree", "tree_rules")
