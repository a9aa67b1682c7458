"""Command-line benchmarks: the training step, and the stages of a finished run.

    twolayer-benchmark pass --samples 10000 --repeats 5

prints the time of one forward + backward pass of the study's network on
``samples`` random inputs of 3072 values, for float32 and float64, with the
number of BLAS threads in use.

    twolayer-benchmark stages --results results

reads Snakemake's benchmark files of a finished run and prints, per rule, the
number of jobs, their summed and longest wall time and the largest peak memory.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_info, threadpool_limits

from .network import two_layer_network


def time_pass(samples: int, dtype, repeats: int, hidden_size: int = 50, seed: int = 0) -> float:
    """Best wall time in seconds of forward + backward over ``samples`` rows of 3072 values."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(samples, 3072)).astype(dtype)
    y = rng.integers(0, 10, size=samples)
    net = two_layer_network(X.mean(axis=0), hidden_size=hidden_size, regularization=0.01, rng=rng, dtype=dtype)
    net.forward(X)
    net.backward(y)  # warm-up: first-touch allocations
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        net.forward(X)
        net.backward(y)
        best = min(best, time.perf_counter() - start)
    return best


def stage_table(results: str | Path) -> pd.DataFrame:
    """Per rule: jobs, summed and longest wall seconds, largest peak RSS (MB), from benchmark files."""
    rows = []
    for path in sorted(Path(results, "benchmarks").rglob("*.tsv")):
        record = pd.read_csv(path, sep="\t").iloc[-1]
        rule = path.relative_to(Path(results, "benchmarks")).parts[0]
        rows.append({"rule": rule, "seconds": float(record["s"]), "max_rss_mb": pd.to_numeric(record["max_rss"], errors="coerce")})
    if not rows:
        raise FileNotFoundError(f"No benchmark files under {Path(results, 'benchmarks')}: run the workflow first.")
    frame = pd.DataFrame(rows)
    table = frame.groupby("rule", sort=False).agg(
        jobs=("seconds", "size"), total_s=("seconds", "sum"), longest_s=("seconds", "max"), peak_rss_mb=("max_rss_mb", "max")
    )
    return table.sort_values("total_s", ascending=False).reset_index()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="twolayer-benchmark", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    one_pass = commands.add_parser("pass", help="time one forward + backward pass")
    one_pass.add_argument("--samples", type=int, default=10_000, help="rows in the batch (default: 10000)")
    one_pass.add_argument("--repeats", type=int, default=5, help="timed repetitions; the best is kept (default: 5)")
    one_pass.add_argument("--threads", type=int, default=None, help="BLAS threads (default: all)")
    stages = commands.add_parser("stages", help="wall time and peak memory per rule of a finished run")
    stages.add_argument("--results", default="results", help="the run's results folder (default: results)")
    args = parser.parse_args(argv)

    if args.command == "stages":
        table = stage_table(args.results)
        print(table.to_markdown(index=False, floatfmt=".1f"))
        print(f"\nsum of job wall times: {table['total_s'].sum():.1f} s over {table['jobs'].sum()} jobs")
        return

    with threadpool_limits(limits=args.threads):
        blas = ", ".join(f"{p['internal_api']} {p['version']} ({p['num_threads']} threads)" for p in threadpool_info())
        print(f"BLAS: {blas}")
        print(f"{'dtype':<8} {'samples':>8} {'seconds':>9}")
        for dtype in (np.float32, np.float64):
            seconds = time_pass(args.samples, dtype, args.repeats)
            print(f"{np.dtype(dtype).name:<8} {args.samples:>8} {seconds:>9.4f}")


if __name__ == "__main__":
    main()
