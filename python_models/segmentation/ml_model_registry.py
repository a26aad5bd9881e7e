from custseg.segmentation import ClassifierConfig, SegmentationConfig, pipeline


def model(dbt, session):
    """The one fit of the build: preprocessing, k sweep, final clustering, names, plot PCA,
    classifier and tree. One registry row per model: signed artifact and report tables."""
    settings = dbt.config.get("segmentation_settings")
    config = SegmentationConfig.from_vars(settings)
    customers = pipeline.to_pandas(dbt.ref("int_customers__rfm_scored"))
    if customers.empty:
        # say why: the lines by outcome (a lazy relation, read only on this path)
        lines = dbt.ref("int_transactions__classified")
        outcomes = lines.aggregate("coalesce(quarantine_reason, 'clean') as outcome, count(*) as line_count")
        raise ValueError(pipeline.no_customers_message(dict(pipeline.to_pandas(outcomes).to_numpy())))
    names = pipeline.to_pandas(dbt.ref("segment_names"))
    return pipeline.fit_all(customers, names, config, ClassifierConfig.from_vars(settings))
