"""Benchmark: the k sweep's silhouettes (k = 2..10 on the same rows) from one pass over the
distances (custseg.segmentation.selection.silhouettes) against scikit-learn's silhouette_score
once per k, as the sweep computed them before; interleaved, inside fit.ml_threads (its 32 MiB
distance blocks, BLAS threads from var ml_threads: 1).

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_silhouette.py --rows 5000
"""

from __future__ import annotations

import argparse
import statistics
import time

from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import silhouette_score

from custseg.segmentation import SegmentationConfig
from custseg.segmentation.fit import ml_threads
from custseg.segmentation.selection import silhouettes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    X, _ = make_blobs(n_samples=args.rows, centers=5, n_features=3, random_state=0)
    labelings = [KMeans(k, n_init=1, random_state=0).fit_predict(X) for k in range(2, 11)]
    config = SegmentationConfig(silhouette_exact_max=max(args.rows, 5_000))
    times: dict[str, list[float]] = {"one pass": [], "scikit-learn per k": []}
    with ml_threads(config):
        for _ in range(args.repeat):
            started = time.perf_counter()
            ours = [score for score, _ in silhouettes(X, labelings, config)]
            times["one pass"].append(time.perf_counter() - started)
            started = time.perf_counter()
            theirs = [silhouette_score(X, labels) for labels in labelings]
            times["scikit-learn per k"].append(time.perf_counter() - started)
    difference = max(abs(a - b) for a, b in zip(ours, theirs, strict=True))
    print(f"{args.rows:,} rows, 9 labelings, medians of {args.repeat}; largest difference {difference:.1e}")
    for name, values in times.items():
        print(f"  {name}: {statistics.median(values):.3f} s")


if __name__ == "__main__":
    main()
