from custseg.relations import to_pandas
from custseg.segmentation import SegmentationConfig
from custseg.segmentation.score import score_all


def model(dbt, session):
    """Every customer scored once, every way, with the active version's models (each artifact
    loaded and its signature checked once)."""
    return score_all(
        to_pandas(dbt.ref("int_customers__segmentation_input")),
        to_pandas(dbt.ref("ml_active_models")),
        SegmentationConfig.from_vars(dbt.config.get("segmentation_settings")),
    )
