from custseg.segmentation import SegmentationConfig, pipeline


def model(dbt, session):
    """Score every customer with the classifier, the tree and the nearest centroid."""
    return pipeline.score_customers(
        pipeline.to_pandas(dbt.ref("dim_customers")),
        pipeline.to_pandas(dbt.ref("seg_model_registry")),
        pipeline.to_pandas(dbt.ref("cls_model_registry")),
        SegmentationConfig.from_vars(dbt.config.get("segmentation_settings")),
    )
