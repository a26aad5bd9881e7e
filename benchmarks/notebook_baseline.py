"""The notebook way, as the seed notebooks do it: pandas cleaning and RFM groupby, log + scale,
a KMeans sweep k = 2..10 with the full silhouette_score, and a random forest on the labels.

Run as a script (the benchmark runs it in a subprocess with a time cap):
    python benchmarks/notebook_baseline.py FILE
Prints one JSON line with the step times and the chosen k.
"""

from __future__ import annotations

import json
import sys
import time

T0 = time.perf_counter()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.metrics import accuracy_score, silhouette_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402


def main(path: str) -> dict:
    steps = {"imports": time.perf_counter() - T0}
    t = time.perf_counter()
    df = pd.read_csv(path) if path.endswith(".csv") else pd.read_parquet(path)
    df = df.rename(columns={"Invoice": "InvoiceNo", "Price": "UnitPrice", "Customer ID": "CustomerID"})
    steps["read"] = time.perf_counter() - t

    t = time.perf_counter()
    df = df.dropna(subset=["CustomerID"])
    df = df[~df["InvoiceNo"].astype(str).str.startswith("C")]
    df = df[(df["Quantity"] > 0) & (df["UnitPrice"] > 0)]
    df = df.drop_duplicates()
    df["InvoiceDate"] = pd.to_datetime(df["InvoiceDate"])
    df["TotalPrice"] = df["Quantity"] * df["UnitPrice"]
    snapshot = df["InvoiceDate"].max() + pd.Timedelta(days=1)
    rfm = df.groupby("CustomerID").agg(
        Recency=("InvoiceDate", lambda s: (snapshot - s.max()).days),
        Frequency=("InvoiceNo", "nunique"),
        Monetary=("TotalPrice", "sum"),
    )
    steps["clean_and_rfm"] = time.perf_counter() - t

    t = time.perf_counter()
    X = StandardScaler().fit_transform(np.log1p(rfm[["Recency", "Frequency", "Monetary"]]))
    scores = {}
    for k in range(2, 11):
        labels = KMeans(n_clusters=k, n_init=10, random_state=42).fit_predict(X)
        scores[k] = silhouette_score(X, labels)
    best_k = max(scores, key=scores.get)
    labels = KMeans(n_clusters=best_k, n_init=10, random_state=42).fit_predict(X)
    steps["kmeans_sweep"] = time.perf_counter() - t

    t = time.perf_counter()
    X_tr, X_te, y_tr, y_te = train_test_split(X, labels, test_size=0.25, random_state=42, stratify=labels)
    clf = RandomForestClassifier(n_estimators=100, random_state=42).fit(X_tr, y_tr)
    accuracy = accuracy_score(y_te, clf.predict(X_te))
    steps["random_forest"] = time.perf_counter() - t
    return {
        "customers": len(rfm),
        "chosen_k": best_k,
        "accuracy": round(float(accuracy), 4),
        "steps_s": {k: round(v, 2) for k, v in steps.items()},
        "total_s": round(time.perf_counter() - T0, 2),
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
