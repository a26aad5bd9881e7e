from custseg.segmentation import SegmentationConfig, pipeline


def model(dbt, session):
    """Every customer scored once, every way, with the active model version (each artifact loaded once)."""
    return pipeline.score_all(
        pipeline.to_pandas(dbt.ref("int_customers__segmentation_input")),
        pipeline.active_registry(dbt.ref("ml_model_registry"), "*"),
        SegmentationConfig.from_vars(dbt.config.get("segmentation_settings")),
    )
