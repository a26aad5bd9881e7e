"""The graph runs one way: sources -> staging -> intermediate -> ML layer -> marts -> consumers.

Reads the manifests of the session's two shared builds, one per input kind (conftest: the demo
warehouse and the customer-table warehouse; a build writes the whole project's manifest, whatever
it selects), and fails on any edge
that runs back up: a model reading a layer above its own, the ML layer (python_models/) reading
anything but intermediate models, seeds and itself (python_models/), an exposure reading anything but marts. The
CLI, the other consumer, is checked by the schemas its SQL names.
"""

from __future__ import annotations

import json
import re

import pytest

from helpers import REPO

LAYERS = {"seed": 0, "staging": 1, "intermediate": 2, "ml": 3, "marts": 4, "exposure": 5}


def layer(node: dict) -> str:
    if node["resource_type"] == "seed":
        return "seed"
    if node["resource_type"] == "exposure":
        return "exposure"
    path = node["original_file_path"]
    if path.startswith("python_models/"):
        return "ml"
    for name in ("staging", "intermediate", "marts"):
        if path.startswith(f"models/{name}/"):
            return name
    raise AssertionError(f"{node['unique_id']} is in no layer ({path})")


def backward_edges(manifest: dict) -> list[str]:
    nodes = {**manifest["nodes"], **manifest["exposures"]}
    allowed = {
        "staging": {"seed", "staging"},
        "intermediate": {"seed", "staging", "intermediate"},
        "ml": {"seed", "intermediate", "ml"},
        "marts": {"seed", "intermediate", "ml", "marts"},
        "exposure": {"marts"},
    }
    problems = []
    for uid, node in nodes.items():
        if node["resource_type"] not in ("model", "exposure"):
            continue
        mine = layer(node)
        for dep in node["depends_on"]["nodes"]:
            if dep.startswith("source."):
                if mine != "staging":
                    problems.append(f"{uid} ({mine}) reads a source")
                continue
            theirs = layer(nodes[dep])
            if theirs not in allowed[mine]:
                problems.append(f"{uid} ({mine}) reads {dep} ({theirs})")
    return problems


# the graph of each input kind: transactions (the default) and a customer table (customers_path
# set: its models are enabled and the transaction models disabled), from the session's build of each
KINDS = {"transactions": "demo_warehouse", "customer_table": "customer_table_warehouse"}


def parsed(kind: str, request) -> dict:
    """The manifest of one input kind: the one its shared build wrote."""
    build = request.getfixturevalue(KINDS[kind])
    manifest = json.loads((build.db_path.parent / "target" / "manifest.json").read_text())
    manifest["input_kind"] = kind
    return manifest


@pytest.fixture(scope="module", params=list(KINDS))
def manifest(request) -> dict:
    return parsed(request.param, request)


@pytest.mark.e2e
def test_the_readme_picture_of_the_layers_is_the_project(request):
    """The README's Mermaid diagram is what scripts/layer_diagram.py draws from both input
    kinds' manifests: a new folder, model or edge between folders fails here until it is redrawn."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("layer_diagram", REPO / "scripts" / "layer_diagram.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    drawn = module.diagram([parsed(kind, request) for kind in KINDS])
    readme = (REPO / "README.md").read_text()
    shown = re.search(r"```mermaid\n(.*?)\n```", readme, re.S)
    assert shown, "the README has no Mermaid diagram"
    assert shown.group(1) == drawn, (
        "the README's layer diagram is stale: replace it with the output of "
        "`.venv/bin/python scripts/layer_diagram.py <manifests of both input kinds>`"
    )
    assert "intermediate_ml_input --> python_models_segmentation" in drawn


@pytest.mark.e2e
def test_no_edge_runs_back_up(manifest):
    assert backward_edges(manifest) == []
    # the check itself catches an edge back up
    broken = json.loads(json.dumps(manifest))
    some_int = next(
        u
        for u, n in broken["nodes"].items()
        if n.get("original_file_path", "").startswith("models/intermediate/")
    )
    some_mart = next(
        u for u, n in broken["nodes"].items() if n.get("original_file_path", "").startswith("models/marts/")
    )
    broken["nodes"][some_int]["depends_on"]["nodes"].append(some_mart)
    assert backward_edges(broken) == [f"{some_int} (intermediate) reads {some_mart} (marts)"]


# the folders show the architecture: marts by domain, intermediate models by input kind (and
# the ML input both kinds feed), each folder with the YAML that documents exactly its models
LAYOUT = {
    "marts": ["customer_table", "history", "scoring", "segments", "transactions", "value"],
    "intermediate": ["customer_table", "ml_input", "transactions"],
}


def test_the_ml_layer_is_a_fit_and_a_score_per_domain_and_the_views_of_the_active_versions():
    """Segmentation: one fit (the registry) and one scoring pass, and in SQL the evidence its
    names are checked against. Value: one fit (its registry), the scoring of every customer and
    the new-customer curve (both need hyp2f1), and in SQL each customer's predicted value. Each
    domain's active version is one SQL view."""
    folders = {
        "segmentation": [
            "ml_active_models.sql",
            "ml_customer_scores.py",
            "ml_model_registry.py",
            "ml_segment_evidence.sql",
        ],
        "value": [
            "ml_active_value_model.sql",
            "ml_customer_value.sql",
            "ml_customer_value_scores.py",
            "ml_value_curve.py",
            "ml_value_models.py",
        ],
    }
    for folder, expected in folders.items():
        python_models = REPO / "python_models" / folder
        assert sorted(p.name for p in python_models.iterdir() if p.suffix in (".py", ".sql")) == expected
    assert not (REPO / "models" / "ml").exists()  # each active-version view is beside its domain


@pytest.mark.parametrize("layer", list(LAYOUT))
def test_models_live_in_their_folders_each_with_its_yaml(layer):
    import yaml

    root = REPO / "models" / layer
    assert not list(root.glob("*.sql")) and not list(root.glob("*.yml")), f"a model loose in {layer}/"
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    assert [f.name for f in folders] == LAYOUT[layer]
    for folder in folders:
        documented = yaml.safe_load((folder / f"_{folder.name}__{layer}.yml").read_text())["models"]
        assert {p.stem for p in folder.glob("*.sql")} == {m["name"] for m in documented}, folder.name


# Reads outside ref(), which the manifest cannot show: the batch plan (macros/ingest/batches.sql,
# used by staging and int_transactions__skipped_files) asks the warehouse, at compile time, which
# files the line store already holds; a ref() would make staging depend on the store it feeds (a
# cycle). Each such read is listed here with its reason, so a new one fails until it is.
READS_OUTSIDE_REF = {("macros/ingest/batches.sql", "model.custseg.int_transactions__classified")}


def test_every_read_outside_ref_is_known():
    found = set()
    for path in sorted([*(REPO / "macros").rglob("*.sql"), *(REPO / "models").rglob("*.sql")]):
        text = path.read_text()
        assert "graph.nodes[" not in text and "graph.sources" not in text, path
        found |= {
            (str(path.relative_to(REPO)), uid) for uid in re.findall(r"graph\.nodes\.get\('([^']+)'\)", text)
        }
    assert found == READS_OUTSIDE_REF


def _dashboard_source() -> str:
    """The dashboard's SQL: the package custseg.dashboard and the pages."""
    files = [*(REPO / "src" / "custseg" / "dashboard").glob("*.py"), *(REPO / "dashboard").rglob("*.py")]
    return "\n".join(p.read_text() for p in sorted(files))


def test_cli_consumers_read_marts_only():
    sources = {name: (REPO / "src" / "custseg" / name).read_text() for name in ("cli.py", "scoring.py")}
    sources["the dashboard"] = _dashboard_source()
    for name, source in sources.items():
        sql = "\n".join(
            line for line in source.splitlines() if not re.match(r"\s*from\s+\S+\s+import\b", line)
        )
        schemas = set(re.findall(r"\bfrom\s+([a-z_]+)\.[a-z_]+", sql))
        assert schemas <= {"marts"}, (name, schemas)


@pytest.mark.e2e
def test_the_cli_exposure_names_exactly_the_marts_the_cli_reads(manifest):
    read = set()
    for name in ("cli.py", "scoring.py"):
        read |= set(re.findall(r"\bmarts\.([a-z_]+)", (REPO / "src" / "custseg" / name).read_text()))
    exposure = manifest["exposures"]["exposure.custseg.scoring_cli"]
    listed = {uid.split(".")[-1] for uid in exposure["depends_on"]["nodes"]}
    # scoring a transactions file reads these from the throw-away build it makes
    from custseg.scoring import CONTEXT_MARTS

    assert listed == read - set(CONTEXT_MARTS)


# The line-level models (one row per raw line, up to 100M): their key, source_row_number, is
# proven unique by the singular test assert_raw_rows_reconcile (every input line number exactly
# once in base and exactly once across the two marts, which partition the classified table; stg
# is a view over base). A unique test per model would group 100M line numbers each time.
LINE_MODELS = {
    "base_retail__transactions",
    "stg_retail__transactions",
    "int_transactions__classified",
    "fct_transactions",
    "fct_transaction_quarantine",
}


def models_without_a_primary_key_test(manifest: dict) -> list[str]:
    keyed = set()
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test" and (node.get("test_metadata") or {}).get("name") in (
            "unique",
            "primary_key",
            "unique_combination_of_columns",
        ):
            keyed.update(node["depends_on"]["nodes"])
    return sorted(
        n["name"]
        for uid, n in manifest["nodes"].items()
        if n["resource_type"] == "model" and uid not in keyed and n["name"] not in LINE_MODELS
    )


@pytest.mark.e2e
def test_every_model_has_a_primary_key_test(manifest):
    assert models_without_a_primary_key_test(manifest) == []
    if manifest["input_kind"] == "customer_table":
        names = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
        assert {"stg_customer_table__customers", "dim_customer_attributes"} <= names
        assert not names & {"dim_customers", "int_transactions__classified"}
        reconcile = manifest["nodes"]["test.custseg.assert_customer_rows_reconcile"]["depends_on"]["nodes"]
        assert {n.split(".")[-1] for n in reconcile} == {
            "stg_customer_table__customers",
            "dim_customer_attributes",
            "fct_customer_table_quarantine",
        }
        return
    reconcile = manifest["nodes"]["test.custseg.assert_raw_rows_reconcile"]["depends_on"]["nodes"]
    assert {n.split(".")[-1] for n in reconcile} == {
        "base_retail__transactions",
        "fct_transactions",
        "fct_transaction_quarantine",
    }


@pytest.mark.e2e
def test_the_dashboard_exposure_names_the_marts_it_reads(manifest):
    """Every mart the dashboard queries is a dependency of the segmentation_dashboard exposure,
    except the marts of one input kind (named in its description instead)."""
    source = _dashboard_source()
    read = set(re.findall(r"\bmarts\.([a-z_]+)", source))
    one_kind = {
        "dim_customers",
        "fct_ingestion_summary",
        "dim_customer_attributes",
        "fct_customer_table_quarantine",
        "dim_clv_models",
        "dim_customer_value",
        "fct_segment_value",
        "fct_clv_holdout_by_frequency",
        "fct_clv_holdout_tracking",
        "fct_clv_holdout_errors",
        "fct_clv_backtest",
        "fct_clv_backtest_bands",
        "fct_clv_backtest_segments",
        "fct_transactions",
        "fct_customer_label_conflicts",
    }
    exposure = next(e for e in manifest["exposures"].values() if e["name"] == "segmentation_dashboard")
    declared = {n.split(".")[-1] for n in exposure["depends_on"]["nodes"]}
    assert read - one_kind <= declared, sorted(read - one_kind - declared)
    assert all(name in exposure["description"] for name in one_kind)
