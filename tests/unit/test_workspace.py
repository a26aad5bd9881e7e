"""Reading a dbt run from its structured events (custseg.workspace.Events, ``--log-format
json``): the nodes started and their outcomes, the progress, and the project's own message as
the problem, whatever dbt's console wording is."""

from __future__ import annotations

import json

from custseg.workspace import Events, progress_of, workspace_env


def _event(name: str, msg: str = "", level: str = "info", **data) -> str:
    return json.dumps({"info": {"name": name, "msg": msg, "level": level}, "data": data})


def _node(unique_id: str, status: str = "") -> dict:
    return {"unique_id": unique_id, "node_status": status, "node_name": unique_id.split(".")[-1]}


def test_a_refused_input_is_read_as_its_message_and_no_node_started():
    events = Events()
    for line in (
        _event("MainReportVersion", "Running with dbt=1.11.16"),
        "a line that is not an event",
        _event("MainEncounteredError", "Encountered an error:\nCompilation Error ...", "error",
               exc="Compilation Error in operation custseg-on-run-start-0 (./dbt_project.yml)\n"
                   "  Transactions input problem: No file matches 'x.csv'.\n  > in macro preflight"),
    ):  # fmt: skip
        events.feed(line)
    result = events.finish(2)
    assert result.started == [] and result.failed == []
    assert result.problem == "Transactions input problem: No file matches 'x.csv'."
    assert "a line that is not an event" in result.log and "Running with dbt" in result.log


def test_node_outcomes_and_progress_come_from_the_events():
    seen = []
    events = Events(lambda e: seen.append(progress_of(e)))
    model, test = "model.custseg.stg_retail__transactions", "test.custseg.assert_raw_rows_reconcile"
    for line in (
        _event("LogStartLine", "1 of 2 START sql view model ...", index=1, total=2, node_info=_node(model)),
        _event("LogModelResult", "1 of 2 OK created ...", index=1, total=2, status="success",
               node_info=_node(model, "success")),
        _event("LogStartLine", "2 of 2 START test ...", index=2, total=2, node_info=_node(test)),
        # a unit test's node_info can still say "None" when its result event says pass
        _event("LogTestResult", "PASS", index=2, total=2, status="pass", node_info=_node("unit_test.custseg.m.t", "None")),
        _event("LogTestResult", "2 of 2 FAIL 2 ...", index=2, total=2, status="fail", node_info=_node(test, "fail")),
        _event("RunResultFailure", "Failure in test assert_raw_rows_reconcile", "error", node_info=_node(test, "fail")),
    ):  # fmt: skip
        events.feed(line)
    result = events.finish(1)
    assert result.started == [model, test]
    assert result.statuses == {model: "success", "unit_test.custseg.m.t": "pass", test: "fail"}
    assert result.failed == [test]
    assert result.problem == "Failure in test assert_raw_rows_reconcile"  # no project message: the first line
    assert [p[0] for p in seen if p] == [0.5, 0.5, 1.0, 1.0, 1.0]


def test_a_workspace_removed_after_its_build_writes_no_debug_file_log(tmp_path, monkeypatch):
    monkeypatch.delenv("DBT_LOG_LEVEL_FILE", raising=False)
    kept = workspace_env(tmp_path)
    assert "DBT_LOG_LEVEL_FILE" not in kept and kept["DBT_LOG_PATH"] == str(tmp_path / "logs")
    assert workspace_env(tmp_path, file_log=False)["DBT_LOG_LEVEL_FILE"] == "none"
