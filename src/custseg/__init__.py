"""custseg: the Python side of the customer-segmentation warehouse.

The dbt project (SQL) does all row-level work; this package holds what SQL cannot do well or
what runs outside dbt: input probing and checks (``inputs``, ``settings``,
called by the dbt plugin and the Spark adapter), the model fitting, naming, scoring and registry
the dbt Python models call (``segmentation``), the CLI (``cli``, ``scoring``), the dashboard's
queries (``dashboard``), reading a warehouse safely (``warehouse``) and the demo-data generator.
"""

__version__ = "0.1.0"
