"""Running dbt in a workspace of its own: one definition of the environment that keeps a build's
database, serving copy, spill, target and logs inside one folder, so it never touches the user's
``warehouse/`` or ``target/``; and :func:`run_build`, which runs dbt with structured events
(``--log-format json``) and reads what happened from them, not from dbt's console wording. Used
by ``custseg score`` (a transactions file's features), the dashboard's upload, the tests and
the benchmarks.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path


def dbt_executable() -> str:
    """dbt beside this Python (the project's .venv), else the one on PATH."""
    beside = Path(sys.executable).with_name("dbt")
    if beside.exists():
        return str(beside)
    found = shutil.which("dbt")
    if found is None:
        raise FileNotFoundError("dbt is not installed in this environment (pip install -e .)")
    return found


def workspace_env(
    workdir: str | os.PathLike, db_name: str = "wh.duckdb", file_log: bool = True, **extra: str | os.PathLike
) -> dict:
    """This process's environment with a build's files in ``workdir``: the database
    ``workdir/<db_name>``, its published copy ``workdir/serving/<db_name>``, DuckDB's spill, dbt's
    target and logs; ``extra`` adds or overrides variables (a signing key, thread caps).
    ``file_log=False``: no dbt debug file log (``logs/dbt.log``, every event and statement: about
    1 s of a demo build), for a workspace removed when its build ends (the upload, the scoring
    copy), where nobody could read it."""
    workdir = Path(workdir)
    env = dict(os.environ)
    env.update(
        CUSTSEG_DB_PATH=str(workdir / db_name),
        CUSTSEG_SERVING_PATH=str(workdir / "serving" / db_name),
        CUSTSEG_TEMP_DIR=str(workdir / "spill"),
        DBT_TARGET_PATH=str(workdir / "target"),
        DBT_LOG_PATH=str(workdir / "logs"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        NO_COLOR="1",
    )
    if not file_log:
        env["DBT_LOG_LEVEL_FILE"] = "none"
    env.update({name: str(value) for name, value in extra.items()})
    return env


# The project's own message prefixes: the line of an error that says what is wrong and how to fix it
PROBLEM_MARKERS = (
    "Transactions input problem",
    "Customer table problem",
    "Setting problem",
    "Segmentation input problem",
    "Not published",
    "The warehouse file",
)
# dbt's events that report a node's outcome (each has node_info with unique_id and node_status)
_RESULT_EVENTS = ("LogModelResult", "LogTestResult", "LogSeedResult", "LogSnapshotResult", "SkippingDetails")
_ERROR_EVENTS = ("MainEncounteredError", "RunResultError", "RunResultFailure")


@dataclass
class BuildResult:
    """What a ``dbt ... --log-format json`` run reported, read from its structured events (never
    from dbt's console wording): the nodes started and their outcomes, the first error, and the
    messages as text (the events' ``msg``, plus any line that was not an event)."""

    returncode: int
    log: str
    started: list[str] = field(default_factory=list)  # unique ids, in start order
    statuses: dict[str, str] = field(
        default_factory=dict
    )  # unique id -> success, pass, error, fail, skipped ...
    errors: list[str] = field(default_factory=list)  # the error events' texts, in order

    @property
    def failed(self) -> list[str]:
        """The nodes that did not succeed (an error, a failed test, or skipped after one)."""
        return [
            node
            for node, status in self.statuses.items()
            if status in ("error", "fail", "runtime error", "skipped")
        ]

    @property
    def problem(self) -> str:
        """The first line of the errors that states the project's own message, else the errors'
        first line ("" when there was no error)."""
        lines = [line.strip() for text in self.errors for line in text.splitlines() if line.strip()]
        for line in lines:
            for marker in PROBLEM_MARKERS:
                if marker in line:
                    return line[line.index(marker) :]
        return lines[0] if lines else ""


class Events:
    """Reads the lines of a ``--log-format json`` run one by one into a :class:`BuildResult`;
    ``on_event(event)`` sees each event as it comes (a progress bar)."""

    def __init__(self, on_event=None) -> None:
        self.on_event = on_event
        self.result = BuildResult(returncode=-1, log="")
        self._text: list[str] = []

    def feed(self, line: str) -> None:
        try:
            event = json.loads(line)
            info = event["info"]
        except (json.JSONDecodeError, KeyError, TypeError):
            self._text.append(line.rstrip("\n"))  # not an event (a script's own line, a warning)
            return
        data = event.get("data") or {}
        self._text.append(info.get("msg", ""))
        node = (data.get("node_info") or {}).get("unique_id")
        name = info.get("name")
        if name in ("LogStartLine", "NodeStart") and node and node not in self.result.started:
            self.result.started.append(node)
        if name in _RESULT_EVENTS and node:
            # the result event's own status (node_info's can still read "None" for unit tests)
            status = "skipped" if name == "SkippingDetails" else data.get("status")
            if status in (None, "", "None"):
                status = (data.get("node_info") or {}).get("node_status", "")
            self.result.statuses[node] = str(status)
        if name in _ERROR_EVENTS:
            self.result.errors.append(data.get("exc") or data.get("msg") or info.get("msg", ""))
        if self.on_event is not None:
            self.on_event(event)

    def finish(self, returncode: int) -> BuildResult:
        self.result.returncode = returncode
        self.result.log = "\n".join(self._text)
        return self.result


def progress_of(event: dict) -> tuple[float, str] | None:
    """(fraction done, what) from an event that counts nodes (index of total), else None."""
    data = event.get("data") or {}
    if (
        data.get("index")
        and data.get("total")
        and event["info"].get("name") in ("LogStartLine", *_RESULT_EVENTS)
    ):
        return min(1.0, int(data["index"]) / int(data["total"])), event["info"].get("msg", "")
    return None


def run_build(
    args: list[str], env: dict, cwd: str | os.PathLike, on_event=None, timeout: float | None = None
) -> BuildResult:
    """``dbt <args> --log-format json`` in ``cwd`` with ``env`` (:func:`workspace_env`), its events
    read as they come; past ``timeout`` seconds dbt is killed (returncode -9)."""
    import subprocess
    import threading

    cmd = [dbt_executable(), *args, "--log-format", "json"]
    if os.environ.get("CUSTSEG_DBT_RUNS"):  # the test suite counts its dbt invocations
        test = os.environ.get("PYTEST_CURRENT_TEST", "(no test)").split(" ")[0]
        with open(os.environ["CUSTSEG_DBT_RUNS"], "a") as runs:
            runs.write(f"{test}\t{' '.join(cmd[1:3])}\n")
    events = Events(on_event)
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    watchdog = threading.Timer(timeout, proc.kill) if timeout else None
    if watchdog is not None:
        watchdog.start()
    try:
        for line in proc.stdout:
            events.feed(line)
        proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        if watchdog is not None:
            watchdog.cancel()
    return events.finish(proc.returncode)
