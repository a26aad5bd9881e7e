from custseg.segmentation import SegmentationConfig, pipeline


def model(dbt, session):
    """k sweep: inertia, silhouette, Davies-Bouldin, Calinski-Harabasz per k; elbow; chosen k."""
    config = SegmentationConfig.from_vars(dbt.config.get("segmentation_settings"))
    customers = pipeline.to_pandas(dbt.ref("dim_customers"))
    return pipeline.k_selection(customers, config)
