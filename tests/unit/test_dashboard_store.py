"""The dashboard's reads of a warehouse (custseg.dashboard.store): within a page's run each file is
opened and checked once and every query reads the same publication; after it nothing is held
(the next run reads the file published by then, and the file can be opened any other way); a
crafted file is refused at every run."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import duckdb
import pytest

from custseg.dashboard import store
from custseg.warehouse import WarehouseRefused


@pytest.fixture
def opens(monkeypatch) -> list[str]:
    """The files the store opened (through custseg.warehouse.open_warehouse)."""
    opened: list[str] = []
    real = store.open_warehouse

    def counting(path):
        opened.append(os.fspath(path))
        return real(path)

    monkeypatch.setattr(store, "open_warehouse", counting)
    return opened


def _warehouse(path: Path, customers: int, *, macro: bool = False) -> Path:
    """A small published-looking file: marts.dim_customers with ``customers`` rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            f"create table marts.dim_customers as select range as customer_id from range({customers})"
        )
        if macro:
            con.execute("create macro marts.secret() as 42")
    return path


def _customers(path: Path) -> int:
    return int(store.query("select count(*) as n from marts.dim_customers", path).iloc[0]["n"])


def test_a_page_run_opens_and_checks_each_file_once(tmp_path, opens):
    served = _warehouse(tmp_path / "wh.duckdb", 5)
    upload = _warehouse(tmp_path / "upload" / "wh.duckdb", 3)
    with store.page_run():
        store.check_warehouse(served)
        assert [_customers(served) for _ in range(3)] == [5, 5, 5]
        assert _customers(upload) == 3
        with store.page_run():  # nested: the outer run's connections
            assert _customers(served) == 5
    assert opens == [str(served), str(upload)]
    # outside a page's run, each query opens the file and closes it again
    assert [_customers(served) for _ in range(2)] == [5, 5]
    assert len(opens) == 4


def test_a_page_reads_one_publication_and_the_next_run_the_new_one(tmp_path):
    """The publish swaps the file in with one rename while a page runs: that page's queries all
    read the publication it started with; the next run reads the new one."""
    served = _warehouse(tmp_path / "wh.duckdb", 5)
    with store.page_run():
        assert _customers(served) == 5
        os.replace(_warehouse(tmp_path / "next.duckdb", 7), served)
        assert _customers(served) == 5
    with store.page_run():
        assert _customers(served) == 7


def test_nothing_is_held_after_a_run_even_one_that_failed(tmp_path):
    """DuckDB keeps one database instance per file in a process, and refuses a connection with
    other settings while one is open: a read-write connection after the run proves the file
    was closed."""
    served = _warehouse(tmp_path / "wh.duckdb", 5)
    with pytest.raises(RuntimeError, match="the page failed"), store.page_run():
        assert _customers(served) == 5
        raise RuntimeError("the page failed")
    with duckdb.connect(str(served)) as con:
        con.execute("insert into marts.dim_customers values (100)")
    with store.page_run():
        assert _customers(served) == 6


def test_each_session_thread_has_its_own_run(tmp_path, opens):
    """Streamlit runs each session's script on its own thread: their runs share nothing."""
    served = _warehouse(tmp_path / "wh.duckdb", 5)
    inside, done, answers = threading.Event(), threading.Event(), []

    def other_session():
        with store.page_run():
            answers.append(_customers(served))
            inside.set()
            done.wait(30)

    session = threading.Thread(target=other_session)
    session.start()
    assert inside.wait(30)
    with store.page_run():
        answers.append(_customers(served))
    done.set()
    session.join(30)
    assert answers == [5, 5] and len(opens) == 2


def test_a_crafted_file_is_refused_at_every_run(tmp_path, opens):
    crafted = _warehouse(tmp_path / "wh.duckdb", 9, macro=True)
    for _ in range(2):
        with store.page_run(), pytest.raises(WarehouseRefused, match="defines SQL macros"):
            store.check_warehouse(crafted)
    with store.page_run(), pytest.raises(WarehouseRefused, match="no such file"):
        store.check_warehouse(tmp_path / "missing.duckdb")
    assert len(opens) == 3
