"""The dbt plugin's process-level choice (custseg.dbt_plugin.freeze_for_this_command)."""

from __future__ import annotations

import gc
import sys

from custseg.dbt_plugin import YOUNG_OBJECTS_PER_COLLECTION, freeze_for_this_command


def test_the_dbt_command_freezes_what_lives_to_its_end_and_a_program_running_dbt_inside_does_not(
    monkeypatch,
):
    frozen, thresholds = [], []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(sys.argv[0]))
    monkeypatch.setattr(gc, "set_threshold", lambda *t: thresholds.append(t))
    for host in ("/srv/venv/bin/dagster", "python", "/srv/venv/bin/dbt-runner.py"):
        monkeypatch.setattr(sys, "argv", [host, "run"])
        assert not freeze_for_this_command()
    assert frozen == [] and thresholds == []
    for cli in ("/srv/venv/bin/dbt", "dbt", r"C:\venv\Scripts\dbt.exe"):
        monkeypatch.setattr(sys, "argv", [cli, "build"])
        assert freeze_for_this_command()
    assert frozen == ["/srv/venv/bin/dbt", "dbt", r"C:\venv\Scripts\dbt.exe"]
    # the youngest generation waits for more objects; the older generations keep their settings
    assert thresholds == [(YOUNG_OBJECTS_PER_COLLECTION, *gc.get_threshold()[1:])] * 3
    assert gc.get_threshold()[0] < YOUNG_OBJECTS_PER_COLLECTION
