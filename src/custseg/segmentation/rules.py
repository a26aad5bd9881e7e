"""A fitted decision tree as SQL: a ``case`` expression and a rule table that reproduce its
predictions exactly.

Exactness: scikit-learn trees compare ``float32(x) <= threshold`` (the input is cast to
float32, the threshold is a float64). The SQL does the same: ``cast(x as float) <= <double>``,
and one-hot country columns become ``case when country = '…' then 1 else 0 end``.
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pandas as pd

from .classifier import OTHER, SegmentClassifier

_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _quote(text: str) -> str:
    """A string literal both DuckDB and Spark SQL read alike: engines escape quotes differently
    ('' in DuckDB; Spark joins adjacent literals and reads backslash escapes), so a quote or a
    backslash becomes chr(39) / chr(92) in a concat()."""
    if "'" not in text and "\\" not in text:
        return "'" + text + "'"
    parts = re.split(r"(['\\])", text)
    pieces = [f"chr({ord(part)})" if part in ("'", "\\") else "'" + part + "'" for part in parts if part]
    return "concat(" + ", ".join(pieces) + ")"


@functools.cache
def _keywords() -> frozenset[str]:
    """Every SQL keyword DuckDB knows, reserved or not (it covers Spark's reserved words too)."""
    import duckdb

    with duckdb.connect() as con:
        return frozenset(
            r[0].lower() for r in con.execute("select keyword_name from duckdb_keywords()").fetchall()
        )


def _identifier(name: str) -> str:
    """A column name in SQL: double-quoted (quotes doubled), except a plain name that is no SQL
    keyword (every transactions feature: recency_days, ...), which stays bare so the same SQL
    runs on Spark, where double quotes make a string. A keyword (`from`, `order`), spaces, dots,
    quotes or non-ASCII letters are always quoted: customer tables, which build on DuckDB."""
    if _PLAIN_NAME.fullmatch(name) and name.lower() not in _keywords():
        return name
    return '"' + name.replace('"', '""') + '"'


def feature_sql(encoder, index: int) -> str:
    name = encoder.columns[index]
    if index < len(encoder.numeric):
        return f"cast({_identifier(name)} as float)"
    country = name.split("=", 1)[1]
    if country == OTHER:
        listed = ", ".join(_quote(c) for c in encoder.countries) or "''"
        return f"cast(case when country not in ({listed}) then 1 else 0 end as float)"
    return f"cast(case when country = {_quote(country)} then 1 else 0 end as float)"


def _threshold(value: float) -> str:
    return f"cast({float(value)!r} as double)"


def _leaf_class(model: SegmentClassifier, node: int) -> int:
    tree = model.estimator.tree_
    return int(model.classes[int(np.argmax(tree.value[node][0]))])


def tree_case_sql(model: SegmentClassifier) -> str:
    """A nested ``case`` expression returning the cluster id the tree predicts."""
    tree = model.estimator.tree_
    enc = model.encoder

    def walk(node: int, depth: int) -> str:
        pad = "    " * depth
        if tree.children_left[node] == -1:
            return str(_leaf_class(model, node))
        cond = f"{feature_sql(enc, tree.feature[node])} <= {_threshold(tree.threshold[node])}"
        left = walk(tree.children_left[node], depth + 1)
        right = walk(tree.children_right[node], depth + 1)
        return f"case\n{pad}    when {cond}\n{pad}        then {left}\n{pad}    else {right}\n{pad}end"

    return walk(0, 0)


def rule_table(model: SegmentClassifier) -> pd.DataFrame:
    """One row per leaf: the readable path, the SQL condition, the predicted segment, samples."""
    tree = model.estimator.tree_
    enc = model.encoder
    rows = []

    def walk(node: int, readable: list[str], sql: list[str]) -> None:
        if tree.children_left[node] == -1:
            cluster = _leaf_class(model, node)
            value = tree.value[node][0]
            rows.append(
                {
                    "rule_id": len(rows) + 1,
                    "conditions": " and ".join(readable) or "always",
                    "sql_condition": " and ".join(sql) or "true",
                    "cluster_id": cluster,
                    "segment_name": model.names[cluster],
                    "training_samples": int(tree.n_node_samples[node]),
                    "purity": float(value.max() / value.sum()) if value.sum() else 0.0,
                }
            )
            return
        name, t = enc.columns[tree.feature[node]], float(tree.threshold[node])
        expr = f"{feature_sql(enc, tree.feature[node])} <= {_threshold(t)}"
        if name.startswith("country="):
            yes, no = f"{name.replace('=', ' is not ', 1)}", f"{name.replace('=', ' is ', 1)}"
        else:
            yes, no = f"{name} <= {t:.6g}", f"{name} > {t:.6g}"
        walk(tree.children_left[node], [*readable, yes], [*sql, expr])
        walk(tree.children_right[node], [*readable, no], [*sql, f"not ({expr})"])

    walk(0, [], [])
    frame = pd.DataFrame(rows)
    frame["rule_id"] = frame["rule_id"].astype(np.int32)
    frame["cluster_id"] = frame["cluster_id"].astype(np.int32)
    return frame
