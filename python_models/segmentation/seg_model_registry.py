from custseg.segmentation import SegmentationConfig, pipeline


def model(dbt, session):
    """Fit the final clustering with the chosen k, name its clusters, register it (joblib)."""
    config = SegmentationConfig.from_vars(dbt.config.get("segmentation_settings"))
    customers = pipeline.to_pandas(dbt.ref("dim_customers"))
    sweep = pipeline.to_pandas(dbt.ref("seg_k_selection"))
    names = pipeline.to_pandas(dbt.ref("segment_names"))
    return pipeline.train(customers, sweep, names, config)
