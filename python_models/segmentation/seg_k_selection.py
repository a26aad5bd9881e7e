from custseg.segmentation import SegmentationConfig, pipeline


def model(dbt, session):
    """k sweep: inertia, silhouette, Davies-Bouldin, Calinski-Harabasz per k; elbow; chosen k."""
    config = SegmentationConfig.from_vars(dbt.config.get("segmentation_settings"))
    customers = pipeline.to_pandas(dbt.ref("dim_customers"))
    if customers.empty:
        # say why: the lines by outcome (a lazy relation, read only on this path)
        lines = dbt.ref("int_transactions__classified")
        outcomes = lines.aggregate("coalesce(quarantine_reason, 'clean') as outcome, count(*) as line_count")
        raise ValueError(pipeline.no_customers_message(dict(pipeline.to_pandas(outcomes).to_numpy())))
    return pipeline.k_selection(customers, config)
