from custseg.segmentation import SegmentationConfig, pipeline
from custseg.segmentation.classifier import ClassifierConfig


def model(dbt, session):
    """Fit the classifier and the explainable tree on the cluster labels; register both."""
    settings = dbt.config.get("segmentation_settings")
    seg_registry = pipeline.to_pandas(dbt.ref("seg_model_registry"))
    return pipeline.train_classifiers(
        pipeline.to_pandas(dbt.ref("dim_customers")),
        pipeline.to_pandas(dbt.ref("seg_assignments")),
        pipeline.load_model(seg_registry),
        SegmentationConfig.from_vars(settings),
        ClassifierConfig.from_vars(settings),
    )
