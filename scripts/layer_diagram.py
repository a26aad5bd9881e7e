"""The README's picture of the layers, generated from dbt's manifest(s): one box per model
folder (with its model count), grouped by layer, and an arrow wherever a model of one folder
reads a model of another. ``tests/e2e/test_graph.py`` regenerates it and fails when the
README's copy has drifted from the project.

    .venv/bin/dbt parse && .venv/bin/python scripts/layer_diagram.py target/manifest.json
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import PurePosixPath

LAYERS = [
    ("sources", "Input files"),
    ("seeds", "Seeds (editable rules)"),
    ("staging", "Staging (views)"),
    ("intermediate", "Intermediate"),
    ("ml", "ML layer (fit + score)"),
    ("marts", "Marts (contracted)"),
    ("consumers", "Consumers (exposures)"),
]


def group_of(node: dict) -> tuple[str, str]:
    """(layer, box) of a manifest node."""
    kind = node["resource_type"]
    if kind == "source":
        return "sources", "files"
    if kind == "seed":
        return "seeds", "seeds"
    if kind == "exposure":
        return "consumers", node["name"]
    folder = PurePosixPath(node["original_file_path"]).parent
    parts = folder.parts
    if parts[0] == "python_models":
        return "ml", "/".join(parts)
    return parts[1], "/".join(parts[1:])


def diagram(manifests: list[dict]) -> str:
    members: dict[tuple[str, str], set[str]] = defaultdict(set)
    edges: set[tuple[tuple[str, str], tuple[str, str]]] = set()
    # each manifest's edges on their own: a model reads other models under one input kind only
    # (ml_segment_evidence reads the value models from transactions, nothing from a customer table)
    for manifest in manifests:
        nodes = {
            uid: node
            for table in ("nodes", "sources", "exposures")
            for uid, node in manifest[table].items()
            if node["resource_type"] in ("model", "seed", "source", "exposure")
        }
        for node in nodes.values():
            mine = group_of(node)
            members[mine].add(node["name"])
            for dep in node.get("depends_on", {}).get("nodes", []):
                if dep in nodes and group_of(nodes[dep]) != mine:
                    edges.add((group_of(nodes[dep]), mine))

    # the input files: staging reads them through macros (not dbt sources)
    files = ("sources", "files")
    members[files] = set()
    for group in [g for g in members if g[0] == "staging"]:
        edges.add((files, group))

    def box_id(group):
        return group[1].replace("/", "_").replace("-", "_")

    lines = ["flowchart LR"]
    for layer, title in LAYERS:
        boxes = sorted(g for g in members if g[0] == layer)
        if not boxes:
            continue
        lines.append(f'  subgraph layer_{layer}["{title}"]')
        for group in boxes:
            count = len(members[group])
            label = group[1] if layer in ("sources", "seeds", "consumers") else f"{group[1]} ({count})"
            if layer == "seeds":
                label = f"seeds ({count})"
            if layer == "sources":
                label = "transactions_path / customers_path"
            lines.append(f'    {box_id(group)}["{label}"]')
        lines.append("  end")
    for source, target in sorted(edges):
        lines.append(f"  {box_id(source)} --> {box_id(target)}")
    # the one read outside ref(): the batch plan asks the line store, at compile time, which
    # files it holds (tests/e2e/test_graph.py, READS_OUTSIDE_REF)
    lines.append("  intermediate_transactions -. batch plan at compile time .-> staging_retail")
    return "\n".join(lines)


if __name__ == "__main__":
    from pathlib import Path

    print(diagram([json.loads(Path(path).read_text()) for path in sys.argv[1:]]))
