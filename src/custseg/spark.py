"""The ``custseg_spark`` dbt adapter: dbt-spark's local session (``method: session``) plus what
this project needs from Python on the driver.

dbt-spark runs SQL models on Spark, but its session mode has no Python models and no way to call
the project's input checks. This adapter is dbt-spark with two additions:

- ``adapter.custseg_check(kind, options_json)``: the same checks the DuckDB build asks its UDFs
  (:class:`custseg.dbt_plugin.Checks`: input probe, settings), run on the driver;
- the ``session`` submission method for dbt Python models: the model's compiled code runs on
  the driver, in the dbt process, against the same SparkSession. ``dbt.ref()`` gives Spark
  DataFrames; the models bring a bounded set of customers to pandas (the ML layer fits on the
  driver), and the scores of every customer are also computed in Spark SQL by the pure-SQL
  scorer (``fct_sql_centroid_scores``).

Profile (``profiles.yml``, target ``spark``)::

    type: custseg_spark
    method: session
    host: NA
    schema: custseg
    server_side_parameters: {spark.master: "local[2]", ...}

Everything else (macros, materialisations, relations) is dbt-spark's: adapter.dispatch looks
for ``custseg_spark__`` macros, then ``spark__``, then ``default__``. dbt finds the plugin as
``dbt.adapters.custseg_spark`` (src/dbt/adapters/custseg_spark).
"""

from __future__ import annotations

import os
from typing import Any

from dbt.adapters.base import AdapterPlugin, PythonJobHelper, available

try:
    from dbt.adapters.spark.connections import SparkConnectionManager, SparkCredentials
    from dbt.adapters.spark.impl import SparkAdapter
except ImportError as exc:  # the spark extra is not installed
    raise ImportError(
        "The spark target needs dbt-spark and pyspark: run bash scripts/setup.sh --spark "
        "(or bash scripts/spark_build.sh, which also makes sure Java 17 is there)."
    ) from exc

from .dbt_plugin import Checks

ADAPTER_TYPE = "custseg_spark"
# dbt names an adapter's macro project "dbt_" + the folder name: dbt_custseg_spark
INCLUDE_PATH = os.path.join(os.path.dirname(__file__), "include", "custseg_spark")


class CustsegSparkCredentials(SparkCredentials):
    @property
    def type(self) -> str:
        return ADAPTER_TYPE


class CustsegSparkConnectionManager(SparkConnectionManager):
    TYPE = ADAPTER_TYPE


def spark_session(credentials: SparkCredentials):
    """The SparkSession that dbt-spark's session cursor uses (one per process, same settings)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.enableHiveSupport()
    for key, value in (credentials.server_side_parameters or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


class SessionPythonJobHelper(PythonJobHelper):
    """Runs a dbt Python model's compiled code on the driver, against the dbt process's SparkSession."""

    def __init__(self, parsed_model: dict, credentials: SparkCredentials) -> None:
        self.parsed_model = parsed_model
        self.credentials = credentials

    def submit(self, compiled_code: str) -> Any:
        if str(self.credentials.method) != "session":
            raise RuntimeError(
                f"Python model {self.parsed_model.get('alias')}: the session submission method runs "
                "Python models on the driver of a local session (method: session), and this target "
                f"connects with method: {self.credentials.method}. On Databricks set "
                "submission_method: all_purpose_cluster for python_models (docs/spark.md)."
            )
        name = f"<dbt python model {self.parsed_model.get('alias', '?')}>"
        namespace = {"__name__": "__dbt_python_model__", "spark": spark_session(self.credentials)}
        exec(compile(compiled_code, name, "exec"), namespace)
        return None


class CustsegSparkAdapter(SparkAdapter):
    ConnectionManager = CustsegSparkConnectionManager

    @classmethod
    def get_adapter_run_info(cls, config):
        # dbt derives a module name from the class name ("custsegspark"): report dbt-spark's
        return SparkAdapter.get_adapter_run_info.__func__(SparkAdapter, config)

    @property
    def default_python_submission_method(self) -> str:
        # a local session runs Python models on its driver; with method: http (Databricks)
        # dbt-spark's own cluster runner stays the default
        if str(self.config.credentials.method) == "session":
            return "session"
        return super().default_python_submission_method

    @property
    def python_submission_helpers(self) -> dict[str, type[PythonJobHelper]]:
        return {**super().python_submission_helpers, "session": SessionPythonJobHelper}

    @available
    def custseg_check(self, kind: str, options_json: str) -> str:
        """The JSON answer of one of the project's checks (macro custseg_check)."""
        checks = getattr(self, "_custseg_checks", None)
        if checks is None:  # one cache per dbt invocation (one adapter per invocation)
            checks = Checks(os.path.join(os.environ.get("DBT_TARGET_PATH", "target"), "custseg_cache"))
            self._custseg_checks = checks
        return checks(kind, options_json)


Plugin = AdapterPlugin(
    adapter=CustsegSparkAdapter,  # type: ignore[arg-type]
    credentials=CustsegSparkCredentials,
    include_path=INCLUDE_PATH,
    dependencies=["spark"],
)
