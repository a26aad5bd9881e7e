"""End-to-end: dbt build (models, dbt unit tests and data tests) on generated and hand-made inputs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from custseg.scoring import centroid_model
from custseg.value.registry import VALUE_REGISTRY_SCHEMA
from helpers import REPO, SHARED_DEMO, copy_build
from segmentation_helpers import Payload

pytestmark = pytest.mark.e2e

DEMO = SHARED_DEMO  # the session's demo warehouse (conftest.demo_warehouse) is built from it


def _assert_ok(run):
    assert run.returncode == 0, run.output[-4000:]
    assert run.failed == [] and run.started


def _writable_copy(build, tmp_path) -> duckdb.DuckDBPyConnection:
    """A copy of a built warehouse as tmp_path/wh.duckdb (where run_dbt(tmp_path) finds it),
    open for tests that tamper with it."""
    return duckdb.connect(str(copy_build(build, tmp_path)))


@pytest.fixture(scope="module")
def demo_file(demo_warehouse):
    return demo_warehouse.source


def _unit_test_count() -> int:
    """The dbt unit tests the project's model YAML files define (all are on transactions models)."""
    files = (REPO / "models").rglob("*.yml")
    return sum(len((yaml.safe_load(path.read_text()) or {}).get("unit_tests") or []) for path in files)


@pytest.fixture(scope="module")
def demo_build(demo_warehouse):
    """The session's demo warehouse (conftest), built with --selector with_unit_tests: the
    fixture unit tests too (a user's plain `dbt build` leaves them out)."""
    _assert_ok(demo_warehouse)
    # every fixture unit test of the project ran (and passed: the build succeeded)
    passed = [
        n
        for n, status in demo_warehouse.events.statuses.items()
        if n.startswith("unit_test.") and status == "pass"
    ]
    assert len(passed) == _unit_test_count()
    return demo_warehouse


def test_every_raw_line_is_clean_or_quarantined(demo_build):
    raw = demo_build.scalar("select count(*) from staging.base_retail__transactions")
    clean = demo_build.scalar("select count(*) from marts.fct_transactions")
    quarantined = demo_build.scalar("select count(*) from marts.fct_transaction_quarantine")
    summary = demo_build.scalar("select sum(row_count) from marts.fct_ingestion_summary")
    assert raw == DEMO.rows == clean + quarantined == summary
    reasons = dict(demo_build.query("select outcome, row_count from marts.fct_ingestion_summary"))
    # the generator plants every kind of dirt, so every reason but unparseable has rows
    for reason in [
        "null_customer",
        "exact_duplicate",
        "cancellation",
        "non_product_line",
        "non_positive_price",
    ]:
        assert reasons[reason] > 0, reason
    assert reasons["unparseable_value"] == 0


def test_reconciliation_test_and_mart_constraints_stop_bad_rows(demo_build, tmp_path):
    """On a copy with a line gone missing, another landed twice, and a customer whose order count
    breaks a mart's rule, one build of the reconciliation test and of dim_customers: the singular
    reconciliation test fails naming the lines (it is the only uniqueness guard of the two
    row-level marts), and the mart's not_null and range rules are enforced constraints: the row
    fails the model and nothing lands (as the data tests they replaced failed the build)."""
    from helpers import run_dbt

    con = _writable_copy(demo_build, tmp_path)
    table = "intermediate.int_transactions__classified"
    lost = con.execute(
        f"select min(source_row_number) from {table} where quarantine_reason is null"
    ).fetchone()[0]
    doubled = con.execute(
        f"select max(source_row_number) from {table} where quarantine_reason is not null"
    ).fetchone()[0]
    con.execute(f"delete from {table} where source_row_number = {lost}")
    con.execute(f"insert into {table} select * from {table} where source_row_number = {doubled}")
    before = con.execute("select count(*) from marts.dim_customers").fetchone()[0]
    con.execute(
        "update intermediate.int_customers__rfm_scored set order_count = 0 "
        "where customer_id = (select min(customer_id) from intermediate.int_customers__rfm_scored)"
    )
    con.close()
    run = run_dbt(
        tmp_path,
        "build",
        "--select",
        "assert_raw_rows_reconcile dim_customers",
        vars={"transactions_path": "unused.parquet", "publish": False},
    )
    assert run.returncode == 1, run.output[-3000:]
    statuses = run.events.statuses
    assert statuses["test.custseg.assert_raw_rows_reconcile"] == "fail"
    assert statuses["model.custseg.dim_customers"] == "error"
    assert sorted(n for n, status in statuses.items() if status in ("fail", "error")) == [
        "model.custseg.dim_customers",
        "test.custseg.assert_raw_rows_reconcile",
    ]
    compiled = (
        tmp_path / "target" / "compiled" / "custseg" / "tests" / "singular" / "assert_raw_rows_reconcile.sql"
    )
    problems = {line: problem for problem, _, line in run.query(compiled.read_text())}
    assert problems == {
        lost: "line is in neither mart",
        doubled: "line is 3 times in input and marts",
    }
    assert "CHECK constraint failed" in run.output and "order_count >= 1" in run.output, run.output[-3000:]
    assert run.scalar("select count(*) from marts.dim_customers") == before


def test_customer_features_cover_every_clean_customer(demo_build):
    customers = demo_build.scalar("select count(*) from marts.dim_customers")
    assert customers == demo_build.scalar("select count(distinct customer_id) from marts.fct_transactions")
    assert customers == DEMO.customers
    segments = demo_build.scalar("select count(distinct rfm_segment) from marts.dim_customers")
    assert segments >= 9


def test_champions_beat_lost_on_every_rfm_axis(demo_build):
    rows = dict(
        (seg, (r, f, m))
        for seg, r, f, m in demo_build.query(
            "select rfm_segment, avg(recency_days), avg(order_count), avg(monetary_value) "
            "from marts.dim_customers group by 1"
        )
    )
    champions, lost = rows["Champions"], rows["Lost"]
    assert champions[0] < lost[0] and champions[1] > lost[1] and champions[2] > lost[2]


def test_csv_with_custom_columns_amounts_and_us_dates(tmp_path, dbt_runner):
    """A file with foreign column names, a line amount instead of qty x price and m/d/Y dates,
    of two customers: too few to segment, which the build says before any Python model runs."""
    rows = [
        # client, when, amount, ref, region
        ("A1", "1/5/2024 10:00", "100.00", "o1", "Norway"),
        ("A1", "1/5/2024 10:00", "50.00", "o1", "Norway"),
        ("A1", "2/4/2024 09:30", "30.00", "o2", "Norway"),
        ("A1", "2/10/2024 09:30", "-20.00", "Co3", "Norway"),  # a return
        ("B2", "3/1/2024 12:00", "10.00", "o4", "Spain"),
        ("B2", "3/1/2024 12:00", "10.00", "o4", "Spain"),  # exact duplicate
        ("", "3/2/2024 12:00", "99.00", "o5", "Spain"),  # guest
        ("C3", "someday", "5.00", "o6", "Spain"),  # unparseable date
    ]
    frame = pd.DataFrame(rows, columns=["Client Ref", "Order Time", "Net Sales", "Order Ref", "Region"])
    path = tmp_path / "shop export.csv"
    frame.to_csv(path, index=False)
    run = dbt_runner(
        "build",
        vars={
            "transactions_path": str(path),
            "column_map": {
                "customer_id": "Client Ref",
                "invoiced_at": "Order Time",
                "line_amount": "Net Sales",
                "invoice_id": "Order Ref",
                "country": "Region",
            },
        },
    )
    # two customers are too few to cluster: the check of the ML input stops the build there,
    # before any Python model, with the project's message; the SQL layer before it is built
    assert run.returncode != 0
    assert "Segmentation input problem: Too few customers for clustering: 2 customers" in run.output
    assert "needs at least 10" in run.output
    assert "Traceback" not in run.output and "Python model" not in run.output
    stopped = [n for n, status in run.events.statuses.items() if status in ("fail", "error")]
    assert stopped == ["model.custseg.int_customers__segmentation_input"], stopped
    reasons = dict(run.query("select outcome, row_count from marts.fct_ingestion_summary"))
    assert reasons == {
        "clean": 4,
        "unparseable_value": 1,
        "out_of_range_value": 0,
        "implausible_date": 0,
        "null_customer": 1,
        "exact_duplicate": 1,
        "cancellation": 1,
        "non_product_line": 0,
        "non_positive_quantity": 0,
        "non_positive_price": 0,
    }
    a1 = run.query(
        "select order_count, monetary_gross, returned_value, monetary_value, recency_days, tenure_days, country "
        "from marts.dim_customers where customer_id = 'A1'"
    )[0]
    # snapshot = day after the last clean purchase (2024-03-01) = 2024-03-02
    assert a1 == (2, 180.0, 20.0, 160.0, 27, 57, "Norway")
    assert run.scalar("select count(*) from marts.dim_customers") == 2


def _bad_inputs(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    header = tmp_path / "header.csv"
    header.write_text("InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n")
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(b"PAR1 truncated")
    no_customer = tmp_path / "no_customer.csv"
    no_customer.write_text("InvoiceNo,InvoiceDate,Quantity,UnitPrice\n1,2011-01-01,1,2\n")
    unknown = tmp_path / "data.json"
    unknown.write_text("{}")
    return [
        (tmp_path / "missing.parquet", "No file matches"),
        (empty, "is empty (0 bytes)"),
        (header, "no data rows"),
        (corrupt, "Cannot read"),
        (no_customer, "no column for required field 'customer_id'"),
        (unknown, "Cannot tell the format"),
    ]


def test_bad_inputs_are_refused_by_the_probe_saying_what_is_wrong(tmp_path):
    """The pre-flight's probe of the transactions (custseg.inputs.transactions.probe_source, which
    the build runs before any node and reports as "Transactions input problem: ..."; a refused
    build: test_hardening, and the dashboard's bad upload) refuses each bad input saying what is
    wrong."""
    from custseg.inputs.transactions import probe_source

    for path, message in _bad_inputs(tmp_path):
        result = probe_source({"transactions_path": str(path)}, cache_dir=str(tmp_path / "cache"))
        assert not result["ok"] and message in result["error"], (path, result)


def test_segmentation_tables_on_demo_data(demo_build):
    customers = demo_build.scalar("select count(*) from marts.dim_customers")
    assert demo_build.scalar("select count(*) from marts.dim_customer_segments") == customers
    assert demo_build.scalar("select count(*) from marts.fct_segmentation_pca_coordinates") == customers
    k = demo_build.scalar("select k from marts.fct_segmentation_k_selection where is_chosen")
    assert demo_build.scalar("select count(*) from marts.fct_segmentation_k_selection") == 9
    assert demo_build.scalar("select count(*) from marts.fct_segment_profiles") == k
    assert demo_build.scalar("select count(distinct segment_name) from marts.dim_customer_segments") == k
    assert demo_build.scalar("select sum(customer_share) from marts.fct_segment_profiles") == pytest.approx(
        1.0
    )
    assert demo_build.scalar("select count(*) from marts.dim_segment_centroids") == 3 * k
    assert demo_build.scalar("select count(*) from marts.dim_segmentation_preprocessing") == 3
    assert (
        demo_build.scalar(
            "select n_clusters from marts.dim_segmentation_models where model_kind = 'segmentation'"
        )
        == k
    )
    # the best cluster's numbers: Champions, when named, is the most recent and biggest spender
    rows = demo_build.query(
        "select segment_name, mean_recency_days, mean_monetary_value, median_recency_days, "
        "median_monetary_value from marts.fct_segment_profiles"
    )
    names = [r[0] for r in rows]
    if "Champions" in names:
        champ = rows[names.index("Champions")]
        assert champ[3] == min(r[3] for r in rows) and champ[4] == max(r[4] for r in rows)


def test_export_model_writes_a_loadable_joblib(demo_build, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from custseg.segmentation.registry import UntrustedArtifactError, load_artifact

    out = tmp_path / "model.joblib"
    cli = str(Path(sys.executable).with_name("custseg"))
    done = subprocess.run(
        [cli, "export-model", "--db", str(demo_build.db_path), "-o", str(out)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    signature, version = demo_build.query(
        "select artifact_signature, model_version from marts.dim_segmentation_model_artifacts "
        "where model_kind = 'segmentation' and is_active"
    )[0]
    model = load_artifact(out.read_bytes(), signature, "segmentation", version)
    assert model.k == demo_build.scalar(
        "select n_clusters from marts.dim_segmentation_models where model_kind = 'segmentation'"
    )
    tree_out = tmp_path / "tree.joblib"
    tree = subprocess.run(
        [
            cli,
            "export-model",
            "--db",
            str(demo_build.db_path),
            "--kind",
            "classifier_tree",
            "-o",
            str(tree_out),
        ],
        capture_output=True,
        text=True,
    )
    assert tree.returncode == 0, tree.stderr
    tree_signature = demo_build.scalar(
        "select artifact_signature from marts.dim_segmentation_model_artifacts "
        "where model_kind = 'classifier_tree' and is_active"
    )
    tree_model = load_artifact(tree_out.read_bytes(), tree_signature, "classifier_tree", version)
    assert tree_model.config.classifier == "decision_tree"
    # the tree's signed artifact is not accepted as the classifier
    with pytest.raises(UntrustedArtifactError):
        load_artifact(tree_out.read_bytes(), tree_signature, "classifier", version)
    missing = subprocess.run([cli, "export-model", "--db", str(tmp_path / "none.duckdb"), "-o", str(out)],
                             capture_output=True, text=True)  # fmt: skip
    assert missing.returncode == 2 and "cannot open the warehouse" in missing.stderr
    assert "Traceback" not in missing.stderr


# the value registry's columns added with MBG/NBD and Pareto/NBD (a registry written before lacks them)
LATER_VALUE_COLUMNS = VALUE_REGISTRY_SCHEMA.names[VALUE_REGISTRY_SCHEMA.names.index("clv_model") :]


def _ml_only(build, tmp_path, legacy_value_registry: bool = False, **variables):
    """The ML layer and what reads it (--select ml_value_models+: the value models fit first, the
    segmentation's names check themselves against them), refitted with other vars on a copy of a
    built warehouse: the SQL layer before it is the same, so only the ML settings differ (gmm and
    agglomerative: tests/unit/test_segmentation_model.py). With
    ``legacy_value_registry`` the copy's value registry is first put back as the release before
    the three purchase models wrote it (without their columns)."""
    from helpers import run_dbt

    con = _writable_copy(build, tmp_path)
    if legacy_value_registry:
        for column in LATER_VALUE_COLUMNS:
            con.execute(f'alter table segmentation.ml_value_models drop column "{column}"')
    con.close()
    variables = {"transactions_path": str(build.source), "segmentation_mode": "refit", **variables}
    return run_dbt(tmp_path, "build", "--select", "ml_value_models+", vars=variables)


def _assert_unseen_customers_scored(run, cutoff: str) -> None:
    """A model fitted on the customers first seen before ``cutoff``: the later ones are the
    unseen customers, each scored, and the classifier's agreement on them measured."""
    seen = run.scalar(f"select count(*) from marts.dim_customers where first_purchase_at < '{cutoff}'")
    unseen = run.scalar(f"select count(*) from marts.dim_customers where first_purchase_at >= '{cutoff}'")
    assert unseen > 0
    assert run.scalar("select count(*) from marts.fct_unseen_customer_scores") == unseen
    training_rows = dict(
        run.query("select model_kind, training_rows from marts.dim_segmentation_models where is_active")
    )
    assert training_rows == {"segmentation": seen, "classifier": seen, "classifier_tree": seen}
    metrics = dict(run.query("select metric, value from marts.fct_classifier_metrics"))
    assert metrics["unseen_customers"] == unseen
    agree = run.scalar(
        "select avg(case when assignments_agree then 1.0 else 0 end) from marts.fct_unseen_customer_scores"
    )
    assert metrics["unseen_agreement_rate"] == pytest.approx(agree)
    assert 0.0 <= agree <= 1.0


@pytest.mark.parametrize(("algorithm", "pca", "cutoff"), [("birch", 2, "2011-09-01"), ("hdbscan", 0, None)])
def test_other_algorithms_build_the_same_marts(demo_build, tmp_path, algorithm, pca, cutoff):
    """Birch on two PCA components, fitted on the customers first seen before a training cutoff
    (the later ones are scored as unseen customers), and HDBSCAN: the same marts, each model
    scored by its own rule."""
    run = _ml_only(
        demo_build, tmp_path, segmentation_algorithm=algorithm, k_max=6, segmentation_pca_components=pca,
        training_cutoff_date=cutoff, legacy_value_registry=algorithm == "hdbscan",
    )  # fmt: skip
    _assert_ok(run)
    if algorithm == "hdbscan":
        # a value registry written before the three purchase models gets their columns (its old row
        # null in them) and its version stays usable as what it was: BG/NBD
        columns = [row[0] for row in run.query("describe segmentation.ml_value_models")]
        assert set(LATER_VALUE_COLUMNS) <= set(columns)
        first = run.query(
            "select clv_model from segmentation.ml_value_models order by value_model_version limit 1"
        )
        assert first == [(None,)]
        active = run.query("select clv_model, value_model_version from marts.dim_clv_models where is_active")[
            0
        ]
        if active[1] == 1:  # no refit: the old version serves, read as BG/NBD
            assert active[0] == "bgnbd"
        assert run.scalar("select count(*) from marts.dim_customer_value where churn_risk is null") == 0
    if cutoff:
        _assert_unseen_customers_scored(run, cutoff)
    else:
        assert run.scalar("select count(*) from marts.fct_unseen_customer_scores") == 0
    assert (
        run.scalar(
            "select algorithm from marts.dim_segmentation_models where model_kind = 'segmentation' and is_active"
        )
        == algorithm
    )
    assert run.scalar("select count(*) from marts.dim_customer_segments") == DEMO.customers
    assert run.scalar("select min(confidence) >= 0 and max(confidence) <= 1 from marts.dim_customer_segments")
    # the nearest centroid is an approximation of these models' own rules, and the build says how
    # close it is, computed from the scores themselves
    rule_kind, agreeing, customers = run.query(
        "select rule_kind, agreeing_customers, customers from marts.fct_scoring_agreement "
        "where scoring_rule = 'nearest_centroid'"
    )[0]
    assert rule_kind == "approximation" and customers == DEMO.customers
    rule = {"gmm": "gmm_posterior", "birch": "birch_subcluster", "hdbscan": "hdbscan_reach"}[algorithm]
    assert run.query("select distinct scoring_rule from marts.dim_customer_segments") == [(rule,)]
    assert agreeing == run.scalar(
        "select count(*) from segmentation.ml_customer_scores where centroid_cluster_id = cluster_id"
    )
    if algorithm == "hdbscan":
        # its own k, one row of quality measures, the noise group numbered last with its action
        k, reason = run.query("select k, selection_reason from marts.fct_segmentation_k_selection")[0]
        assert (
            f"hdbscan (min_cluster_size={max(10, DEMO.customers // 100)}) found" in reason
        )  # 1%, at least 10
        noise = run.query(
            "select cluster_id, recommended_action from marts.fct_segment_profiles "
            "where segment_name = 'Unclustered (noise)'"
        )
        assert noise and noise[0][0] == k - 1 and noise[0][1].startswith("Review individually")
    if pca:
        # the PCA model is scored in pure SQL (the build's assert_sql_scoring_equals_python passed)
        # and by custseg score's arithmetic from the published tables: the same clusters
        assert run.scalar("select count(*) from marts.dim_segmentation_pca_loadings") == pca * 3
        assert run.scalar("select count(distinct dimension) from marts.dim_segment_centroids") == pca
        model = centroid_model(str(run.serving_path))
        customers = pd.DataFrame(
            run.query(
                "select c.customer_id, c.recency_days, c.order_count, c.monetary_value, s.cluster_id "
                "from marts.dim_customers c join marts.fct_sql_centroid_scores s using (customer_id) "
                "order by c.customer_id"
            ),
            columns=["customer_id", "recency_days", "order_count", "monetary_value", "sql_cluster"],
        )
        assigned = model.assign(customers[list(model.features)].to_numpy(dtype=float))
        assert (assigned["cluster_id"].to_numpy() == customers["sql_cluster"].to_numpy()).all()


def test_sql_scoring_and_tree_rules_cover_every_customer(demo_build):
    customers = demo_build.scalar("select count(*) from marts.dim_customers")
    assert demo_build.scalar("select count(*) from marts.fct_sql_centroid_scores") == customers
    # the singular tests assert_sql_scoring_equals_python / assert_tree_rules_reproduce_the_tree ran
    for test in ("assert_sql_scoring_equals_python", "assert_tree_rules_reproduce_the_tree"):
        assert demo_build.events.statuses[f"test.custseg.{test}"] == "pass"
    kinds = {r[0] for r in demo_build.query("select model_kind from marts.dim_segmentation_models")}
    assert kinds == {"segmentation", "classifier", "classifier_tree"}
    assert demo_build.scalar("select count(*) from marts.fct_unseen_customer_scores") == 0


def test_score_cli_matches_the_warehouse(demo_build, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    cli = str(Path(sys.executable).with_name("custseg"))
    con = duckdb.connect(str(demo_build.db_path), read_only=True)
    features = tmp_path / "customers.csv"
    con.execute(f"copy (select * from marts.dim_customers) to '{features}' (header)")
    expected = dict(con.execute("select customer_id, cluster_id from marts.dim_customer_segments").fetchall())
    expected_clf = dict(
        con.execute(
            "select customer_id, classifier_cluster_id from segmentation.ml_customer_scores"
        ).fetchall()
    )
    con.close()
    for model, truth in (("segmentation", expected), ("classifier", expected_clf)):
        out = tmp_path / f"{model}.csv"
        done = subprocess.run(
            [cli, "score", str(features), "--model", model, "--db", str(demo_build.db_path), "-o", str(out)],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        scored = pd.read_csv(out, dtype={"customer_id": str})
        assert len(scored) == len(truth)
        assert (scored["cluster_id"].to_numpy() == scored["customer_id"].map(truth).to_numpy()).all(), model
        assert scored["confidence"].between(0, 1).all()
    one = subprocess.run(
        [cli, "score", "--db", str(demo_build.db_path), "--json",
         '{"customer_id": "n1", "recency_days": 3, "order_count": 40, "monetary_value": 25000}'],
        capture_output=True, text=True,
    )  # fmt: skip
    assert one.returncode == 0 and '"customer_id": "n1"' in one.stdout and '"segment_name"' in one.stdout
    bad = subprocess.run(
        [cli, "score", "--db", str(demo_build.db_path), "--json", '{"recency_days": "soon", "order_count": 1}'],
        capture_output=True, text=True,
    )  # fmt: skip
    assert bad.returncode == 2 and "missing field(s): monetary_value" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_score_a_transactions_file_in_the_warehouses_context(demo_build, demo_file, tmp_path):
    """`custseg score transactions.parquet` scores the file as the next build would (a copy of
    the warehouse loads it in score mode). The build's own file is a batch already loaded: every
    customer gets exactly the segment the warehouse gave him, all with history. A file of
    customers the warehouse never saw is scored from the file alone (had_history false). A bad
    file is reported as the build reports it."""
    import subprocess

    cli = str(Path(sys.executable).with_name("custseg"))
    as_of = str(demo_build.scalar("select max(as_of_date) from marts.dim_customers"))
    out = tmp_path / "scored.csv"
    done = subprocess.run(
        [cli, "score", str(demo_file), "--db", str(demo_build.db_path), "--as-of-date", as_of, "-o", str(out)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    scored = pd.read_csv(out, dtype={"customer_id": str}).set_index("customer_id")
    truth = dict(demo_build.query("select customer_id, cluster_id from marts.dim_customer_segments"))
    assert len(scored) == len(truth)
    assert (scored["cluster_id"] == pd.Series(truth).reindex(scored.index)).all()
    assert scored["had_history"].all()
    strangers = tmp_path / "strangers.parquet"
    made = subprocess.run(
        [cli, "generate", "-o", str(strangers), "--rows", "3000", "--customers", "40", "--seed", "5",
         "--first-customer-id", "900000", "--first-invoice", "9000000"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    out = tmp_path / "strangers.csv"
    # a served file whose name has quotes (DuckDB names its catalog after it): the copy is renamed
    quoted = tmp_path / 'o\'brien "2024".duckdb'
    shutil.copyfile(demo_build.serving_path, quoted)
    done = subprocess.run(
        [cli, "score", str(strangers), "--db", str(quoted), "-o", str(out)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    scored = pd.read_csv(out, dtype={"customer_id": str})
    assert len(scored) == 40 and not scored["had_history"].any()
    assert scored["customer_id"].astype(int).ge(900_000).all() and scored["segment_name"].notna().all()
    bad = tmp_path / "bad.csv"
    bad.write_text("InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n")
    failed = subprocess.run(
        [cli, "score", str(bad), "--transactions", "--db", str(demo_build.db_path)],
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 2 and "no data rows" in failed.stderr and "Traceback" not in failed.stderr


def test_a_score_stopped_by_sigterm_leaves_no_copy_behind(demo_build, demo_file, tmp_path):
    """A scheduler's timeout (SIGTERM) while `custseg score` builds in its throw-away copy of the
    warehouse: the copy and its dbt child are gone, as after Ctrl-C."""
    import signal
    import time

    cli = str(Path(sys.executable).with_name("custseg"))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = subprocess.Popen(
        [cli, "score", str(demo_file), "--db", str(demo_build.serving_path), "-o", str(tmp_path / "out.csv")],
        env={**os.environ, "TMPDIR": str(scratch)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not list(scratch.glob("custseg-score-*/target")) and time.monotonic() < deadline:
        time.sleep(0.1)  # dbt has started in the copy's workspace
    assert list(scratch.glob("custseg-score-*")), "the score never started"
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    assert list(scratch.iterdir()) == []


def test_crafted_database_never_runs_its_pickle(demo_build, tmp_path):
    """A warehouse file whose registry carries a crafted pickle, with a matching SHA-256 and a
    made-up signature: scoring still works from the numeric tables, the classifier and the
    export are refused, and the payload never runs."""
    import hashlib
    import subprocess
    import sys
    from pathlib import Path

    from custseg.segmentation.registry import dump_artifact, sign

    marker = tmp_path / "payload-ran"
    evil = dump_artifact(Payload(marker))
    con = _writable_copy(demo_build, tmp_path)
    for table in ("marts.dim_segmentation_model_artifacts", "segmentation.ml_model_registry"):
        con.execute(
            f"update {table} set artifact = ?, artifact_sha256 = ?, artifact_signature = ?",
            [evil, hashlib.sha256(evil).hexdigest(), sign(evil, b"attacker-key" * 4, "classifier", 1)],
        )
    con.close()
    crafted = str(tmp_path / "wh.duckdb")
    cli = str(Path(sys.executable).with_name("custseg"))
    one = '{"customer_id": "n1", "recency_days": 3, "order_count": 40, "monetary_value": 25000}'
    seg = subprocess.run([cli, "score", "--db", crafted, "--json", one], capture_output=True, text=True)
    assert seg.returncode == 0, seg.stderr
    assert '"segment_name"' in seg.stdout
    for args in (
        ["score", "--db", crafted, "--model", "classifier", "--json", one],
        ["score", "--db", crafted, "--model", "classifier_tree", "--json", one],
        ["export-model", "--db", crafted, "-o", str(tmp_path / "m.joblib")],
        ["export-model", "--db", crafted, "--kind", "classifier", "-o", str(tmp_path / "c.joblib")],
    ):
        done = subprocess.run([cli, *args], capture_output=True, text=True)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "signature does not verify" in done.stderr and "Nothing was unpickled" in done.stderr
        assert "Traceback" not in done.stderr
    assert not marker.exists()
    assert not (tmp_path / "m.joblib").exists() and not (tmp_path / "c.joblib").exists()


def test_feature_list_of_the_settings_check_is_dim_customers(demo_build):
    from custseg.settings import CUSTOMER_FEATURES

    numeric = demo_build.query(
        "select column_name from information_schema.columns where table_schema = 'marts' "
        "and table_name = 'dim_customers' and data_type in ('INTEGER', 'BIGINT', 'DOUBLE') order by ordinal_position"
    )
    assert tuple(r[0] for r in numeric) == CUSTOMER_FEATURES


def _plant_views_that_read_the_machine(con, secret: Path) -> list[str]:
    """Replace every mart table with a view of the same name that reads the secret file, lists
    files or reads the environment (read_text, read_csv, glob, getenv), as a crafted file would."""
    import os

    con.create_function("getenv", lambda name: os.environ.get(name, ""), ["VARCHAR"], "VARCHAR")
    readers = [
        f"select content as segment_name, content as cluster_id from read_text('{secret}')",
        f"select * from read_csv('{secret}', header = false, columns = {{'segment_name': 'varchar'}})",
        "select file as segment_name from glob('/etc/*')",
        "select getenv('CUSTSEG_MODEL_KEY_PATH') as segment_name",
    ]
    marts = [
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'marts' and table_type = 'BASE TABLE' order by table_name"
        ).fetchall()
    ]
    for i, mart in enumerate(marts):
        con.execute(f'drop table marts."{mart}"')
        con.execute(f'create view marts."{mart}" as {readers[i % len(readers)]}')
    return marts


@pytest.mark.parametrize("planted", ["views", "macro"])
def test_a_crafted_warehouse_reads_nothing_of_the_machine(demo_build, tmp_path, planted, monkeypatch):
    """A warehouse file from elsewhere whose marts are views reading the signing key (or that
    defines a macro): the CLI and the dashboard refuse it before reading a row, say why, and the
    key never appears in any output or file."""
    import os
    import subprocess
    import sys

    from custseg.dashboard import PAGES, queries, store

    PAGE_TITLES = [title for title, _ in PAGES]
    from custseg.warehouse import WarehouseRefused

    secret = Path(os.environ["CUSTSEG_MODEL_KEY_PATH"])
    if not secret.exists():  # the demo build made it; make sure the secret is there to steal
        from custseg.segmentation.registry import signing_key

        signing_key(create=True)
    key_text = secret.read_text().strip()
    con = _writable_copy(demo_build, tmp_path)
    if planted == "views":
        marts = _plant_views_that_read_the_machine(con, secret)
        assert {"dim_customer_segments", "fct_segment_profiles", "dim_segment_centroids"} <= set(marts)
        why = "reads something outside the file"
    else:
        con.execute(
            f"create macro marts.dim_customer_segments_m() as table select * from read_text('{secret}')"
        )
        why = "defines SQL macros"
    con.close()
    crafted = str(tmp_path / "wh.duckdb")
    cli = str(Path(sys.executable).with_name("custseg"))
    one = '{"customer_id": "n1", "recency_days": 3, "order_count": 40, "monetary_value": 25000}'
    out = tmp_path / "exports"
    for args in (
        ["score", "--db", crafted, "--json", one],
        ["score", "--db", crafted, "--model", "classifier", "--json", one],
        ["export", "--db", crafted, "--out", str(out)],
        ["export-model", "--db", crafted, "-o", str(tmp_path / "m.joblib")],
    ):
        done = subprocess.run([cli, *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "refusing the warehouse" in done.stderr and why in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
        assert key_text not in done.stdout + done.stderr
    assert not out.exists() or not any(key_text in f.read_text(errors="replace") for f in out.iterdir())
    # the dashboard: every page function refuses, and the app shows the reason instead of a page
    with pytest.raises(WarehouseRefused, match=why):
        queries.overview(Path(crafted))
    with pytest.raises(WarehouseRefused, match=why):
        store.check_warehouse(Path(crafted))
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CUSTSEG_SERVING_PATH", crafted)
    for page in PAGE_TITLES:
        at = AppTest.from_file(str(REPO / "dashboard" / "app.py"), default_timeout=60)
        at.query_params["page"] = page
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        shown = " ".join(str(e.value) for e in at.error)
        assert "refusing the warehouse" in shown and why in shown
        assert key_text not in shown
        assert not at.dataframe and not at.metric and not at.markdown  # nothing of the file is shown


def test_the_project_warehouse_passes_the_reader_checks(demo_build):
    # the published serving copy opens under the locked configuration (its two view marts read
    # only the line store in the same file), and a locked connection cannot unlock itself
    import duckdb

    from custseg.warehouse import open_warehouse

    con = open_warehouse(demo_build.serving_path)
    try:
        assert con.execute("select count(*) from marts.fct_transactions").fetchone()[0] > 0
        with pytest.raises(duckdb.Error, match="locked"):
            con.execute("set enable_external_access = true")
    finally:
        con.close()


def test_a_registry_of_the_release_before_is_upgraded_in_place_and_builds_on(
    demo_build, second_batch, tmp_path
):
    """A registry whose reports are Arrow IPC bytes (helpers.make_registry_legacy): the ML step
    refuses it saying how to upgrade; `custseg upgrade-registry` converts it keeping every row.
    The next build builds on: conftest.second_batch's warehouse is such a registry, upgraded so,
    and its build scores with the model it holds (and equals a build that never had one:
    test_database_sqlite's weekly build)."""
    from custseg.segmentation.reports import decode_reports
    from custseg.segmentation.step import registry_frame
    from helpers import make_registry_legacy

    con = _writable_copy(demo_build, tmp_path)
    original = make_registry_legacy(con)
    con.close()
    # the ML step reads the registry first (custseg.segmentation.step.registry_frame, in the
    # Python model ml_model_registry) and refuses it, saying how to convert it
    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as check:
        stored = check.execute("select * from segmentation.ml_model_registry").df()
    with pytest.raises(ValueError, match="custseg upgrade-registry --db"):
        registry_frame(stored)
    cli = str(Path(sys.executable).with_name("custseg"))
    db = str(tmp_path / demo_build.db_path.name)
    done = subprocess.run([cli, "upgrade-registry", "--db", db], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["upgraded_rows"] == len(original)
    with duckdb.connect(db, read_only=True) as check:
        upgraded = dict(
            check.execute("select model_id, reports from segmentation.ml_model_registry").fetchall()
        )
    assert upgraded.keys() == original.keys()
    for model_id, text in original.items():
        before, after = decode_reports(text), decode_reports(upgraded[model_id])
        assert before.keys() == after.keys()
        for name in before:
            pd.testing.assert_frame_equal(after[name], before[name])
    again = subprocess.run([cli, "upgrade-registry", "--db", db], capture_output=True, text=True)
    assert json.loads(again.stdout)["upgraded_rows"] == 0  # already current
    registry_frame(stored.assign(reports=list(upgraded.values())))  # accepted now
    # the build after the upgrade: every row was upgraded, the model of batch 1 scored the late
    # batch, and the customers it did not touch kept their segment
    assert second_batch.upgraded_rows == len(original)
    assert second_batch.query(
        "select distinct model_version from marts.fct_customer_segment_history where run_id = 2"
    ) == [(1,)]
    segments = "select customer_id, cluster_id, segment_name from marts.dim_customer_segments"
    late = {
        row[0]
        for row in second_batch.query("select customer_id from marts.fct_transactions where batch_id = 2")
    }
    before = {row for row in demo_build.query(segments) if row[0] not in late}
    assert len(before) > 300 and before <= set(second_batch.query(segments))


def test_kmeans_nearest_centroid_is_the_models_own_rule(demo_build):
    """fct_scoring_agreement: for KMeans the nearest centroid is the model's rule (every customer
    agrees); the classifiers are learned rules with their measured agreement."""
    rows = {r[0]: r[1:] for r in demo_build.query(
        "select scoring_rule, rule_kind, agreeing_customers, customers, agreement_rate from marts.fct_scoring_agreement"
    )}  # fmt: skip
    assert set(rows) == {"nearest_centroid", "classifier", "classifier_tree"}
    assert demo_build.query("select distinct scoring_rule from marts.dim_customer_segments") == [
        ("nearest_centroid",)
    ]
    assert rows["nearest_centroid"][:1] == ("exact",) and rows["nearest_centroid"][3] == 1.0
    assert rows["classifier"][0] == "learned" and 0.5 < rows["classifier"][3] <= 1.0
