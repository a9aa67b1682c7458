"""How far the study's numbers move when OpenBLAS runs another kernel (another CPU, in effect).

    python -m benchmarks.kernels                     short trainings under each kernel, in seconds
    python -m benchmarks.kernels --list              the other kernels this CPU runs (CI tests under each)
    python -m benchmarks.kernels --study --configfile config/replica.yaml --cores 2

OpenBLAS picks a kernel for the CPU it runs on, and kernels add the terms of a matrix
product in different orders, so their last bits differ. ``OPENBLAS_CORETYPE`` makes it run
another kernel the CPU can execute, which is how one machine sees what another CPU does.

Without ``--study``: the training loop (``twolayer.training.train``) trains small networks for a
few epochs, one alone and two side by side, in float32 and float64, once under this machine's
own kernel and once under each other kernel, each in a process of its own; the table gives, against the own kernel, the
largest relative difference of the recorded costs and the largest difference of an
accuracy, in images. ``tests/test_determinism.py`` holds those numbers to the tolerance of
``tests/numerics.py``.

With ``--study``: the whole study from scratch once per kernel (``benchmark-runs/kernels/``);
the table gives the kernel each study's jobs logged, its chosen configuration, its final
test accuracy over the seeds, how many of its CSV and JSON files are byte-identical to the
own kernel's, and the largest difference of any accuracy those files hold.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from .mechanisms import csv_pairs, result_files
from .pages import write_section

REPO = Path(__file__).resolve().parents[1]
SECTION = "kernels"
STUDY_SECTION = "kernels, study"

# Kernels of x86-64 OpenBLAS beside the one it picks, with the CPU flags each one needs.
OTHER_KERNELS = {"Haswell": {"avx2", "fma"}, "Sandybridge": {"avx"}}
EPOCHS = 3


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    return {flag for line in text.splitlines() if line.startswith("flags") for flag in line.split(":", 1)[1].split()}


def runnable_kernels(requested=tuple(OTHER_KERNELS)) -> list[str]:
    """The requested kernels this CPU can run: none off x86-64, where OPENBLAS_CORETYPE names others."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return []
    flags = cpu_flags()
    return [kernel for kernel in requested if OTHER_KERNELS.get(kernel, set()) <= flags]


def kernel_env(kernel: str | None) -> dict:
    """This process's environment with OpenBLAS told to run ``kernel`` (None: the one it picks)."""
    env = {key: value for key, value in os.environ.items() if key != "OPENBLAS_CORETYPE"}
    if kernel is not None:
        env["OPENBLAS_CORETYPE"] = kernel
    return env


def histories(dtype: str) -> dict:
    """The kernel OpenBLAS runs in this process, and the histories of small trainings: one network alone, and
    two side by side in one ``Network``, on one BLAS thread as in a workflow job (the thread count changes
    the last bits too)."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from twolayer.network import two_layer_network
    from twolayer.optimizers import MomentumSGD
    from twolayer.preprocess import Split, centre
    from twolayer.training import train

    with threadpool_limits(limits=1):
        data = np.random.default_rng(0)
        X = data.uniform(size=(600, 3072)).astype(dtype)
        y = data.integers(0, 10, size=600)
        mean = X[:400].mean(axis=0, dtype=np.float64)[:, None]
        X = centre(Split(X=X, y=y, mean=mean), mean).X
        paths = {}
        for name, rates, regs in (("alone", [0.05], [[0.005]]), ("side by side", [0.05, 0.02], [[0.005], [0.001]])):
            network = two_layer_network(3072, 50, 10, regs, rngs=[np.random.default_rng(1 + p) for p in range(len(rates))],
                                        dtype=np.dtype(dtype))
            results = train(network, MomentumSGD(rates, 0.8, 0.998), X[:400], y[:400], epochs=EPOCHS, batch_size=100,
                            rng=np.random.default_rng(2), X_val=X[400:], y_val=y[400:])
            paths.update({f"{name}, network {p}": result.history for p, result in enumerate(results)})
        kernels = sorted({info.get("architecture", "?") for info in threadpool_info() if info.get("user_api") == "blas"})
    return {"kernel": ", ".join(kernels), "samples": {"train": 400, "val": 200}, "paths": paths}


def histories_under(kernel: str | None, dtype: str) -> dict:
    """``histories(dtype)`` computed in a process of its own under ``kernel``."""
    done = subprocess.run([sys.executable, "-m", "benchmarks.kernels", "--histories", dtype], cwd=REPO,
                          env=kernel_env(kernel), capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def differences(mine: list[dict], theirs: list[dict], samples: dict) -> tuple[float, int]:
    """Largest relative difference of a cost, and of an accuracy in images, between two histories."""
    costs, images = 0.0, 0
    for a, b in zip(mine, theirs, strict=True):
        for key in a:
            if key.endswith("_cost"):
                costs = max(costs, abs(a[key] - b[key]) / abs(b[key]))
            elif key.endswith("_accuracy"):
                images = max(images, round(abs(a[key] - b[key]) * samples[key.removesuffix("_accuracy")]))
    return costs, images


def compare_training(kernels: list[str]) -> pd.DataFrame:
    rows = []
    for dtype in ("float32", "float64"):
        own = histories_under(None, dtype)
        for kernel in kernels:
            other = histories_under(kernel, dtype)
            for path, history in other["paths"].items():
                cost, images = differences(history, own["paths"][path], own["samples"])
                rows.append({"kernel": other["kernel"], "against": own["kernel"], "dtype": dtype, "path": path,
                             "epochs": EPOCHS, "largest relative cost difference": f"{cost:.1e}",
                             "largest accuracy difference (images)": images})
    return pd.DataFrame(rows)


def compare_studies(kernels: list[str], configfiles: list[str], cores: int) -> pd.DataFrame:
    from .benchmark import merged_config, run_study

    folder = REPO / "benchmark-runs" / "kernels"
    runs = {}
    for kernel in [None, *kernels]:
        runs[kernel] = folder / (kernel or "own")
        seconds = run_study(merged_config(configfiles), cores, runs[kernel], env=kernel_env(kernel))
        print(f"{kernel or 'own kernel'}: {seconds:.1f} s", file=sys.stderr, flush=True)
    base = result_files(runs[None])
    rows = []
    for kernel, workdir in runs.items():
        files = result_files(workdir)
        differing = sorted(name for name in base if files.get(name) != base[name])
        test = pd.read_csv(workdir / "results/final/replicate_statistics.csv").set_index("quantity").loc["test_accuracy"]
        rows.append({
            "kernel": kernel or "own",
            "kernel the jobs ran": _logged_kernel(workdir / "results/logs/train_final/train_final.log"),
            "chosen configuration": pd.read_csv(workdir / "results/fine/top.csv")["run_id"].iloc[0],
            "final test accuracy, mean ± std over seeds": f"{100 * test['mean']:.2f}% ± {100 * test['std']:.2f} (n = {int(test['n'])})",
            "identical files": f"{len(base) - len(differing)} of {len(base)}",
            "largest accuracy difference (points)": f"{100 * largest_accuracy_difference(runs[None], workdir, differing):.2f}",
        })
    return pd.DataFrame(rows)


def largest_accuracy_difference(base: Path, other: Path, files: list[Path]) -> float:
    """The largest difference between two studies' accuracies, cell by cell, in their CSV files that differ."""
    largest = 0.0
    for a, b in csv_pairs(base, other, files):
        columns = [c for c in a.columns if "accuracy" in c and c in b.columns and pd.api.types.is_numeric_dtype(a[c])]
        if a.shape != b.shape or not columns:
            continue
        largest = max(largest, float(np.nanmax(np.abs(a[columns].to_numpy(float) - b[columns].to_numpy(float)), initial=0.0)))
    return largest


def _logged_kernel(log: Path) -> str:
    """The BLAS kernel a job's log names (``twolayer.jobs`` records it), or '?'."""
    found = re.findall(r"BLAS .* kernel (\S+)$", log.read_text(), flags=re.M)
    return ", ".join(sorted(set(found))) or "?"


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m benchmarks.kernels``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.kernels", description=__doc__.split("\n\n")[0])
    parser.add_argument("--kernels", nargs="*", default=list(OTHER_KERNELS), help="kernels to compare with the own one")
    parser.add_argument("--study", action="store_true", help="run the whole study under each kernel")
    parser.add_argument("--configfile", nargs="*", default=[], help="configuration files of the study (with --study)")
    parser.add_argument("--cores", type=int, default=2, help="--cores of the study runs (default: 2)")
    parser.add_argument("--write", type=Path, help="put the table into this page, between its markers")
    parser.add_argument("--list", action="store_true", help="only print the kernels this CPU runs, one per line")
    parser.add_argument("--histories", choices=["float32", "float64"], help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.histories:
        print(json.dumps(histories(args.histories)))
        return
    kernels = runnable_kernels(args.kernels)
    if args.list:
        print("\n".join(kernels))
        return
    if not kernels:
        raise SystemExit(f"this CPU runs none of the kernels {', '.join(args.kernels)} (OPENBLAS_CORETYPE is an x86-64 setting)")
    chosen = f" --kernels {' '.join(kernels)}" if kernels != runnable_kernels() else ""
    if args.study:
        table = compare_studies(kernels, args.configfile, args.cores)
        command = f"python -m benchmarks.kernels --study --configfile {' '.join(args.configfile)} --cores {args.cores}{chosen}"
    else:
        table = compare_training(kernels)
        command = f"python -m benchmarks.kernels{chosen}"
    section = "\n".join([f"Measured with `{command}` on {platform.machine()}, {os.cpu_count()} CPUs, "
                         f"NumPy {np.__version__}:", "", table.to_markdown(index=False)])
    print(section)
    if args.write:
        write_section(args.write, STUDY_SECTION if args.study else SECTION, section)


if __name__ == "__main__":
    main()
