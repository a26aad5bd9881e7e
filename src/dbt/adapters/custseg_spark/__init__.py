"""dbt finds adapter plugins as dbt.adapters.<type>: this is the project's Spark adapter (custseg.spark)."""

from custseg.spark import Plugin  # noqa: F401
