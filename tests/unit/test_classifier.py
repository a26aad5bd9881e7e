"""The pseudo-label classifier, the tree exported as SQL, and scoring of new customers."""

from __future__ import annotations

import re

import duckdb
import numpy as np
import pandas as pd
import pytest

from custseg.scoring import ScoringError, read_input, score
from custseg.segmentation import classifier
from custseg.segmentation.classifier import (
    NUMERIC_FEATURES,
    ClassifierConfig,
    FeatureEncoder,
    train_classifier,
)
from custseg.segmentation.rules import rule_table, tree_case_sql
from segmentation_helpers import planted_customers

NAMES = ["Champions", "Loyal Customers", "At Risk", "Lost"]


@pytest.fixture(scope="module")
def data():
    customers, groups = planted_customers(4, per_group=120, seed=9)
    rng = np.random.default_rng(9)
    for col in NUMERIC_FEATURES:
        if col not in customers:
            customers[col] = rng.gamma(2.0, 10.0, len(customers))
    customers["country"] = rng.choice(
        ["United Kingdom", "France", "Germany", "EIRE", "Spain"], len(customers)
    )
    return customers, groups


@pytest.mark.parametrize("kind", ["random_forest", "decision_tree", "gradient_boosting"])
def test_each_classifier_learns_the_clusters(data, kind):
    customers, groups = data
    model, reports = train_classifier(
        customers, groups, NAMES, ClassifierConfig(classifier=kind, n_estimators=50)
    )
    metrics = dict(zip(reports["metrics"]["metric"], reports["metrics"]["value"], strict=True))
    assert metrics["accuracy"] > 0.9 and metrics["macro_f1"] > 0.9
    assert metrics["test_rows"] == pytest.approx(0.25 * len(customers), abs=1)
    report = reports["report"]
    assert report["cluster_id"].tolist() == [0, 1, 2, 3]
    assert report["support"].sum() == metrics["test_rows"]
    assert reports["confusion"]["customer_count"].sum() == metrics["test_rows"]
    assert len(reports["confusion"]) == 16
    imp = reports["importances"]
    assert imp["rank"].tolist() == list(range(1, len(imp) + 1))
    assert set(imp["feature"]) == set(model.encoder.columns)
    predicted = model.predict(customers)
    assert predicted["confidence"].between(0, 1).all()
    assert set(predicted["segment_name"]) <= set(NAMES)
    # the same customers, the same bits (a forest's threads would add the votes in any order)
    pd.testing.assert_frame_equal(model.predict(customers), predicted, check_exact=True)
    assert getattr(model.estimator, "n_jobs", None) in (None, 1)


def test_split_is_stratified_and_deterministic(data):
    customers, groups = data
    a = train_classifier(customers, groups, NAMES, ClassifierConfig(n_estimators=30))[1]
    b = train_classifier(customers, groups, NAMES, ClassifierConfig(n_estimators=30))[1]
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert a["report"]["support"].tolist() == [30, 30, 30, 30]  # 25 % of 120 per class


def test_above_max_rows_the_split_is_a_stratified_sample_and_everyone_is_scored(data):
    customers, groups = data
    config = ClassifierConfig(n_estimators=30, max_rows=200)
    model, reports = train_classifier(customers, groups, NAMES, config)
    metrics = dict(zip(reports["metrics"]["metric"], reports["metrics"]["value"], strict=True))
    assert metrics["train_rows"] + metrics["test_rows"] == 200
    support = reports["report"]["support"]
    assert support.sum() == 50 and set(support) <= {12, 13}  # 50 of each class, a quarter held out
    assert metrics["accuracy"] > 0.85
    assert len(model.predict(customers)) == len(customers)
    again = train_classifier(customers, groups, NAMES, config)[1]
    for name in reports:
        pd.testing.assert_frame_equal(reports[name], again[name])


def test_encoder_maps_unknown_countries_to_other_and_names_bad_fields(data):
    customers, _ = data
    enc = FeatureEncoder().fit(customers, top=2)
    row = customers.head(1).assign(country="Atlantis")
    assert enc.transform(row)[0, -1] == 1.0
    with pytest.raises(ValueError, match="missing field"):
        enc.transform(customers.drop(columns=["tenure_days"]))
    with pytest.raises(ValueError, match=r"non-numeric value in field.*return_rate"):
        enc.transform(customers.head(2).assign(return_rate=["x", 1]))


def test_encoder_writes_the_plain_one_hot_matrix(data):
    """The encoder fills one array column by column; it is the matrix of numbers then one-hot
    countries (learnt ones, then 'other') built the plain way, value for value."""
    customers, _ = data
    enc = FeatureEncoder().fit(customers, top=3)
    mixed = customers.assign(country=customers["country"].where(customers.index % 7 != 0, "Atlantis"))
    country = mixed["country"].astype(str).to_numpy()
    plain = np.hstack(
        [
            mixed[list(enc.numeric)].to_numpy(dtype=float),
            np.column_stack([country == c for c in enc.countries] + [~np.isin(country, enc.countries)]),
        ]
    )
    encoded = enc.transform(mixed)
    assert encoded.shape == (len(mixed), len(enc.columns)) and (encoded.sum(axis=1) > 0).all()
    np.testing.assert_array_equal(encoded, plain.astype(float))
    assert (encoded[:, len(enc.numeric) :].sum(axis=1) == 1).all()  # one country each


def test_tree_case_sql_reproduces_predictions_exactly(data):
    customers, groups = data
    tree, reports = train_classifier(
        customers, groups, NAMES, ClassifierConfig(classifier="decision_tree", tree_max_depth=6)
    )
    # values straddling every threshold by one float32 step, where float64 comparisons would differ
    probe = customers.copy()
    t = tree.estimator.tree_
    for node in np.flatnonzero(t.children_left >= 0):
        col = tree.encoder.columns[t.feature[node]]
        if col in NUMERIC_FEATURES:
            thr = np.float32(t.threshold[node])
            near = [np.nextafter(thr, np.float32(-np.inf)), thr, np.nextafter(thr, np.float32(np.inf))]
            extra = probe.sample(3, random_state=int(node)).assign(**{col: [float(v) for v in near]})
            probe = pd.concat([probe, extra], ignore_index=True)
    expected = tree.predict(probe)["cluster_id"].to_numpy()
    con = duckdb.connect()
    con.register("probe", probe)
    got = np.array([r[0] for r in con.execute(f"select {tree_case_sql(tree)} from probe").fetchall()])
    assert (got == expected).all()
    # every customer satisfies exactly one rule, and that rule predicts what the tree does
    rules = rule_table(tree)
    hits = np.zeros(len(probe), dtype=int)
    for rule in rules.itertuples():
        match = np.array([r[0] for r in con.execute(f"select {rule.sql_condition} from probe").fetchall()])
        hits += match
        assert (expected[match] == rule.cluster_id).all()
    assert (hits == 1).all()
    # the leaves hold the training split: the deployed tree is the one the holdout measured
    metrics = dict(zip(reports["metrics"]["metric"], reports["metrics"]["value"], strict=True))
    assert rules["training_samples"].sum() == metrics["train_rows"]
    assert metrics["train_rows"] + metrics["test_rows"] == len(customers)


class _FakeSegmentation:
    features = ("recency_days", "order_count", "monetary_value")
    names = ("A", "B")

    def assign(self, X):
        return pd.DataFrame({"cluster_id": (X[:, 0] > 50).astype(int), "confidence": np.full(len(X), 0.5)})


def test_score_names_missing_and_invalid_fields():
    model = _FakeSegmentation()
    ok = score(
        pd.DataFrame({"recency_days": [10, 90], "order_count": [1, 2], "monetary_value": [5, 6]}),
        model,
        "segmentation",
    )
    assert ok["segment_name"].tolist() == ["A", "B"] and ok["customer_id"].tolist() == ["1", "2"]
    with pytest.raises(ScoringError, match=r"missing field\(s\): monetary_value"):
        score(pd.DataFrame({"recency_days": [1], "order_count": [1]}), model, "segmentation")
    with pytest.raises(ScoringError, match=r"invalid value in field\(s\): order_count \(row 2: 'many'\)"):
        score(
            pd.DataFrame({"recency_days": [1, 2], "order_count": [1, "many"], "monetary_value": [1, 2]}),
            model,
            "segmentation",
        )


def test_read_input_errors(tmp_path):
    with pytest.raises(ScoringError, match="not valid JSON"):
        read_input(json_text="{nope")
    with pytest.raises(ScoringError, match="must be an object"):
        read_input(json_text="[1, 2]")
    with pytest.raises(ScoringError, match="does not exist"):
        read_input(str(tmp_path / "none.csv"))
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(ScoringError, match=r"\.csv or \.parquet"):
        read_input(str(tmp_path / "x.json"))
    (tmp_path / "empty.csv").write_text("recency_days,order_count\n")
    with pytest.raises(ScoringError, match="has no rows"):
        read_input(str(tmp_path / "empty.csv"))
    with pytest.raises(ScoringError, match="either an input file or --json"):
        read_input()


@pytest.mark.parametrize("text", ["United Kingdom", "Cote d'Ivoire", "a\\b", "'", "it's a \\'trap\\'", ""])
def test_tree_sql_literals_read_the_same_on_duckdb_and_spark(text):
    from custseg.segmentation.rules import _quote

    sql = _quote(text)
    with duckdb.connect() as con:  # its own connection: the module's default one is shared
        assert con.execute(f"select {sql}").fetchall() == [(text,)]
    # literals hold no quote (Spark joins 'a''b' into 'ab') and no backslash (DuckDB keeps it
    # literally, Spark reads an escape): those characters come from chr()
    literal = r"'[^'\\]*'"
    piece = rf"(?:{literal}|chr\(\d+\))"
    assert re.fullmatch(rf"{literal}|concat\({piece}(?:, {piece})*\)", sql), sql


def test_tree_sql_names_are_bare_when_plain_and_quoted_otherwise():
    from custseg.segmentation.rules import _identifier

    assert _identifier("monetary_value") == "monetary_value"
    assert _identifier("Income=High") == '"Income=High"'
    assert _identifier('say "hi"') == '"say ""hi"""'


@pytest.mark.parametrize("kind", ["random_forest", "gradient_boosting"])
def test_row_blocks_on_threads_predict_the_bits_of_one_thread(data, kind, monkeypatch):
    customers, groups = data
    model, _ = train_classifier(customers, groups, NAMES, ClassifierConfig(classifier=kind, n_estimators=30))
    X = model.encoder.transform(customers)
    X = np.repeat(X, 5, axis=0) + np.random.default_rng(1).normal(0, 0.5, (5 * len(X), X.shape[1]))
    monkeypatch.setattr(classifier, "ROW_BLOCK_MIN", 100)  # blocks at this size
    one = model.estimator.predict_proba(X)  # one thread (the model predicts in tree order)
    for threads in (2, 3, 7):
        blocks = classifier.predict_proba_in_row_blocks(model.estimator, X, threads)
        assert blocks.tobytes() == one.tobytes()
    # predict uses them (seen through the pool it opens) and gives one thread's confidences
    pools = []

    class Pool(classifier.ThreadPoolExecutor):
        def __init__(self, workers):
            pools.append(workers)
            super().__init__(workers)

    monkeypatch.setattr(classifier, "ThreadPoolExecutor", Pool)
    monkeypatch.setattr(classifier.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    many = customers.loc[customers.index.repeat(5)].reset_index(drop=True)
    predicted = model.predict(many)
    assert pools and pools[-1] > 1
    alone = model.estimator.predict_proba(model.encoder.transform(many))
    assert predicted["confidence"].to_numpy().tobytes() == alone.max(axis=1).tobytes()


def test_a_transactions_file_the_build_would_refuse_is_refused_before_dbt_starts(tmp_path, monkeypatch):
    """custseg score FILE: the pre-flight's probe over the same input vars, in this process; the
    warehouse is not copied and dbt does not start (custseg.scoring.score_in_context)."""
    import custseg.workspace
    from custseg.scoring import score_in_context

    def no_build(*args, **kwargs):
        raise AssertionError("dbt started")

    monkeypatch.setattr(custseg.workspace, "run_build", no_build)
    warehouse = tmp_path / "wh.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.dim_customer_segments as select '7' as customer_id, 3 as recency_days"
        )
    empty = tmp_path / "week.csv"
    empty.write_text("InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n")
    with pytest.raises(ScoringError, match=r"Transactions input problem: .*no data rows"):
        score_in_context(str(empty), str(warehouse))
    # the input vars are the build's: a column map the file does not match is said as the build says it
    sales = tmp_path / "sales.csv"
    sales.write_text("Invoice,Customer,When,Qty,Price\n1,7,2011-01-02,1,2.5\n")
    with pytest.raises(ScoringError, match=r"Transactions input problem: .*'Nope'"):
        score_in_context(str(sales), str(warehouse), {"column_map": {"customer_id": "Nope"}})
    # vars naming a database table: the build reads the table, so no file is probed beforehand
    from custseg.inputs.transactions import refusal

    assert refusal({"transactions_path": str(empty)}, tmp_path).startswith("Transactions input problem")
    assert refusal({"transactions_path": str(empty), "transactions_table": "shop.sales"}, tmp_path) == ""
