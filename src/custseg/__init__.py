"""custseg: the Python side of the customer-segmentation warehouse.

The dbt project (SQL) does all row-level work; this package holds what SQL cannot do well:
the demo-data generator, input probing (incl. XLSX), and later the model fitting and scoring
that dbt Python models and the CLI call.
"""

__version__ = "0.1.0"
