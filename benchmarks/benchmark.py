"""Command-line benchmarks of the training and of the whole study.

    python -m benchmarks.benchmark all --configfile config/replica.yaml --cores 2 1

measures, in one run: the machine's matrix-product rate, the time of one training
epoch of this package and of a plain PyTorch implementation (if torch is installed)
in the search and the final setting, the floor the study's arithmetic allows at the
measured rate, and the wall time of the whole study run with each ``--cores`` value
in a scratch folder, with the time and memory of each rule.

    python -m benchmarks.benchmark pass --samples 10000        one forward + backward pass
    python -m benchmarks.benchmark stages --results results    the rule table of a finished run
    python -m benchmarks.benchmark dtype --seeds 3             final accuracy per seed, float32 vs float64
    python -m benchmarks.benchmark memory final --dtype float64   peak memory of one job
    python -m benchmarks.benchmark gate --seeds 5              noise and sensitivity of the gradient-check gate
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from threadpoolctl import threadpool_info, threadpool_limits

from twolayer.batches import take_rows
from twolayer.network import two_layer_network
from twolayer.optimizers import MomentumSGD
from twolayer.provenance import benchmark_files, stage_table
from twolayer.training import train

from . import schedule
from .pages import Tee, write_section

D, C = 3072, 10


# -- measurements ---------------------------------------------------------------------------


def _best_time(function, repeats: int) -> float:
    function()
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def gemm_rate(dtype, threads: int, M: int = 10_000, K: int = D, N: int = 2_450, repeats: int = 3) -> float:
    """GFLOP/s of one (M x K) @ (K x N) product with ``threads`` BLAS threads."""
    rng = np.random.default_rng(0)
    A = rng.uniform(size=(M, K)).astype(dtype)
    B = rng.uniform(size=(K, N)).astype(dtype)
    with threadpool_limits(limits=threads):
        seconds = _best_time(lambda: A @ B, repeats)
    return 2 * M * K * N / seconds / 1e9


def time_pass(samples: int, dtype, repeats: int, hidden_size: int = 50, seed: int = 0) -> float:
    """Best wall time in seconds of forward + backward over ``samples`` rows of 3072 values."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(samples, D)).astype(dtype)
    y = rng.integers(0, C, size=samples)
    net = two_layer_network(D, hidden_size=hidden_size, regularization=0.01, rngs=[rng], dtype=dtype, mean=X.mean(axis=0))

    def step():
        net.forward(X)
        net.backward(y)

    return _best_time(step, repeats)


def epoch_flops(train_rows: int, held_out_rows: int, hidden: int = 50) -> float:
    """Multiply-adds x 2 of one epoch: forward and weight gradient of the big product on the
    training rows, then one forward pass over the training and the held-out rows."""
    return 2 * D * hidden * (2 * train_rows + train_rows + held_out_rows)


def study_flops(config: dict, search_rows: int = 10_000, final_rows: int = 50_000, test_rows: int = 10_000) -> dict:
    """FLOPs of the trainings of a configuration (the rest is negligible): the searches, the
    selection replicates (search-sized epochs) and every final replicate."""
    from twolayer.search import grid_values

    hidden = config["training"]["hidden_size"]
    per_search_epoch = epoch_flops(search_rows, search_rows, hidden)
    search_epochs = 0
    for grid in ("coarse", "fine"):
        points = len(grid_values(config[grid]["learning_rates"])) * len(grid_values(config[grid]["regularizations"]))
        search_epochs += points * config[grid]["epochs"]
    search_epochs += config["selection"]["top"] * config["selection"]["replicates"] * config["fine"]["epochs"]
    per_final_epoch = epoch_flops(final_rows, test_rows, hidden)
    final_epochs = config["final"]["epochs"] * config["final"]["replicates"]
    return {
        "search_epoch": per_search_epoch,
        "final_epoch": per_final_epoch,
        "search_epochs": search_epochs,
        "final_epochs": final_epochs,
        "total": per_search_epoch * search_epochs + per_final_epoch * final_epochs,
    }


# The PyTorch versions timed against this package's training; the faster one is compared.
TORCH_RUNNERS = ("torch_autograd", "torch_manual")

TRAINING_RULES = ("search_coarse", "search_fine", "replicate_selection", "train_final", "train_final_replicate")


def ours_runner(rows: int, held_out: int, batch: int, threads: int, pack: int = 1, dtype=np.float32) -> Callable[[int], None]:
    """``run(epochs)``: this package's training from fresh weights, as a workflow job runs it.

    ``pack`` networks (1 for the final training) side by side in one ``Network`` through
    ``twolayer.training.train``, with ``threads`` BLAS threads, as the PyTorch side has.
    """
    rng = np.random.default_rng(1)
    X = rng.uniform(size=(rows, D)).astype(dtype)
    X -= X.mean(axis=0)  # centred once, as TrainingSetup.load_centred does
    y = rng.integers(0, C, size=rows)
    X_val, y_val = X[:held_out], y[:held_out]
    rates = np.linspace(0.1, 0.3, pack)

    def run(epochs: int) -> None:
        with threadpool_limits(limits=threads):
            net = two_layer_network(D, 50, C, [[0.001]] * pack, rngs=[np.random.default_rng(i) for i in range(pack)],
                                    dtype=dtype)
            optimizer = MomentumSGD(0.3 if pack == 1 else rates, 0.8, 0.998)
            train(net, optimizer, X, y, epochs=epochs, batch_size=batch, shuffle=True, rng=np.random.default_rng(2),
                  X_val=X_val, y_val=y_val)

    return run


def torch_runners(rows: int, held_out: int, batch: int, threads: int) -> dict[str, Callable[[int], None]]:
    """``run(epochs)`` of a plain PyTorch version of the same training (float32, CPU), autograd
    and hand-written gradients; empty without torch.

    Written as a competent user would: the data converted and centred once, before
    training; mini-batches gathered into one reused buffer; ``threads`` threads. Each
    epoch does what the workflow's does: the steps, then the cost and accuracy of the
    training set and of the held-out set in chunks of 10,000 rows.
    """
    try:
        import torch
    except ImportError:
        return {}
    generator = torch.Generator().manual_seed(0)
    X_raw = torch.rand(rows, D, generator=generator)
    y = torch.randint(0, C, (rows,), generator=generator)
    X = (X_raw - X_raw.mean(dim=0)).contiguous()  # centred once; the held-out rows with the training mean
    del X_raw
    X_val, y_val = X[:held_out], y[:held_out]
    lam, lr0, momentum, decay, H = 0.001, 0.3, 0.8, 0.998, 50
    X_batch = torch.empty(min(batch, rows), D)
    y_batch = torch.empty(min(batch, rows), dtype=torch.long)

    def initial():
        g = torch.Generator().manual_seed(1)
        return [torch.randn(H, D, generator=g) * (2 / (D + H)) ** 0.5, torch.zeros(H),
                torch.randn(C, H, generator=g) * (2 / (H + C)) ** 0.5, torch.zeros(C)]

    def evaluate(W1, b1, W2, b2):
        with torch.no_grad():
            for inputs, labels in ((X, y), (X_val, y_val)):
                for start in range(0, len(inputs), 10_000):
                    scores = torch.addmm(b2, torch.relu(torch.addmm(b1, inputs[start:start + 10_000], W1.T)), W2.T)
                    torch.nn.functional.cross_entropy(scores, labels[start:start + 10_000]) + lam * ((W1 * W1).sum() + (W2 * W2).sum())
                    (scores.argmax(dim=1) == labels[start:start + 10_000]).float().mean()

    def batches():
        order = torch.randperm(rows, generator=generator)
        for start in range(0, rows, batch):
            index = order[start:start + batch]
            Xb = torch.index_select(X, 0, index, out=X_batch[:len(index)])
            yb = torch.index_select(y, 0, index, out=y_batch[:len(index)])
            yield Xb, yb

    def autograd_run(count):
        torch.set_num_threads(threads)
        params = [p.requires_grad_() for p in initial()]
        W1, b1, W2, b2 = params
        optimizer = torch.optim.SGD(params, lr=lr0, momentum=momentum, dampening=0)
        schedule = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=decay)
        for _ in range(count):
            for Xb, yb in batches():
                optimizer.zero_grad(set_to_none=False)
                scores = torch.addmm(b2, torch.relu(torch.addmm(b1, Xb, W1.T)), W2.T)
                cost = torch.nn.functional.cross_entropy(scores, yb) + lam * ((W1 * W1).sum() + (W2 * W2).sum())
                cost.backward()
                optimizer.step()
            schedule.step()
            evaluate(W1.detach(), b1.detach(), W2.detach(), b2.detach())

    def manual_run(count):
        torch.set_num_threads(threads)
        params = initial()
        W1, b1, W2, b2 = params
        velocity = [torch.zeros_like(p) for p in params]
        rate = lr0
        with torch.no_grad():
            for _ in range(count):
                for Xb, yb in batches():
                    n = len(yb)
                    Z = torch.addmm(b1, Xb, W1.T)
                    Hid = torch.relu(Z)
                    G = torch.softmax(torch.addmm(b2, Hid, W2.T), dim=1)
                    G[torch.arange(n), yb] -= 1
                    G /= n
                    dW2 = torch.addmm(W2, G.T, Hid, beta=2 * lam)
                    dHid = (G @ W2).mul_(Z > 0)
                    dW1 = torch.addmm(W1, dHid.T, Xb, beta=2 * lam)
                    for v, p, g in zip(velocity, params, (dW1, dHid.sum(0), dW2, G.sum(0))):
                        v.mul_(momentum).add_(g, alpha=rate)
                        p.sub_(v)
                rate *= decay
                evaluate(W1, b1, W2, b2)

    return {"torch_autograd": autograd_run, "torch_manual": manual_run}


def interleaved_epoch_rounds(runners: Mapping[str, Callable[[int], None]], epochs: int, rounds: int) -> dict[str, list[float]]:
    """Seconds per epoch of a long run for each runner in every round, timed in turn round after round.

    One round times every runner twice, for 1 and for 1 + ``epochs`` epochs; the difference
    divided by ``epochs`` is the cost of an epoch in the middle of a run, without the set-up
    and the final evaluation that a 50-epoch run pays once. Timing the runners in turn makes a
    slow spell of a shared machine fall on all of them alike, and the values of one round
    were measured within seconds of each other. Each runner is first run once to warm up.
    """
    for run in runners.values():
        run(1)
    seconds: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            seconds[name].append(_extra_epoch_seconds(run, epochs))
    return seconds


def round_medians(rounds: Mapping[str, list[float]]) -> dict[str, float]:
    """Each runner's median over the rounds of ``interleaved_epoch_rounds``."""
    return {name: float(np.median(values)) for name, values in rounds.items()}


def round_ratios(rounds: Mapping[str, list[float]], ours: str, others: Sequence[str], divisor: float = 1.0) -> np.ndarray | None:
    """Per round, ``rounds[ours]`` / ``divisor`` over the fastest of ``others`` in that round; None without others."""
    present = [rounds[name] for name in others if name in rounds]
    if not present:
        return None
    return np.asarray(rounds[ours]) / divisor / np.min(np.asarray(present), axis=0)


def _extra_epoch_seconds(run: Callable[[int], None], epochs: int, before_each: Callable[[], object] = lambda: None) -> float:
    """(time of ``run(1 + epochs)`` - time of ``run(1)``) / ``epochs``; ``before_each()`` is called before each timed run."""
    lengths = []
    for count in (1, 1 + epochs):
        before_each()
        start = time.perf_counter()
        run(count)
        lengths.append(time.perf_counter() - start)
    return (lengths[1] - lengths[0]) / epochs


_start_together = None  # a barrier shared by the processes of side_by_side_epoch_seconds


def _share_barrier(barrier) -> None:
    global _start_together
    _start_together = barrier


def _marginal_epoch_seconds(rows: int, held_out: int, batch: int, threads: int, epochs: int) -> float:
    """Seconds one more epoch adds to a run of this package's training, timed in step with
    the other processes of ``side_by_side_epoch_seconds`` so that the runs overlap."""
    run = ours_runner(rows, held_out, batch, threads)
    run(1)
    return _extra_epoch_seconds(run, epochs, before_each=lambda: _start_together.wait(timeout=600))


def side_by_side_epoch_seconds(rows: int, held_out: int, batch: int, jobs: int, epochs: int) -> list[float]:
    """Seconds per epoch of ``jobs`` single-threaded trainings run at once in separate processes,
    as ``jobs`` final replicates with one core each would run: what sharing the memory bus costs them."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # Fresh interpreters: forking a process whose PyTorch threads have started is unsafe.
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(jobs)
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_share_barrier, initargs=(barrier,)) as pool:
        futures = [pool.submit(_marginal_epoch_seconds, rows, held_out, batch, 1, epochs) for _ in range(jobs)]
        return [future.result() for future in futures]


def product_seconds(rows: int, threads: int, repeats: int = 5) -> pd.DataFrame:
    """Milliseconds of the three data-sized operations of a step, ours against PyTorch's, ``threads`` threads.

    The forward product X (rows x 3072) @ W.T (3072 x 50); the same for seven networks
    side by side, their weights stacked into 350 columns (the first layer of a search
    job's networks); the weight gradient G.T @ X and the gather of ``rows`` shuffled rows
    of a training set five times larger.
    """
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(rows, D)).astype(np.float32)
    W = rng.uniform(size=(50, D)).astype(np.float32)
    W2 = rng.uniform(size=(350, D)).astype(np.float32)
    G = rng.uniform(size=(rows, 50)).astype(np.float32)
    full = rng.uniform(size=(5 * rows, D)).astype(np.float32)
    order = rng.permutation(5 * rows)[:rows]
    out, grad, buffer = np.empty((rows, 50), np.float32), np.empty((50, D), np.float32), np.empty_like(X)
    with threadpool_limits(limits=threads):
        ours = [_best_time(lambda: np.matmul(X, W.T, out=out), repeats),
                _best_time(lambda: X @ W2.T, repeats),
                _best_time(lambda: np.matmul(G.T, X, out=grad), repeats),
                _best_time(lambda: take_rows(full, order, buffer), repeats)]
    table = pd.DataFrame({"operation": [f"forward X @ W.T ({rows} rows)", "forward, 7 networks side by side (350 columns)",
                                        "weight gradient G.T @ X", f"gather {rows} rows"],
                          "ours_ms": [1e3 * t for t in ours]})
    try:
        import torch
    except ImportError:
        return table
    torch.set_num_threads(threads)
    tX, tW, tW2, tG, tfull = (torch.from_numpy(a) for a in (X, W, W2, G, full))
    index, tbuffer = torch.from_numpy(order), torch.empty_like(tX)
    table["torch_ms"] = [1e3 * _best_time(f, repeats) for f in (
        lambda: tX @ tW.T, lambda: tX @ tW2.T, lambda: tG.T @ tX, lambda: torch.index_select(tfull, 0, index, out=tbuffer))]
    return table


# -- the study ------------------------------------------------------------------------------


def _repo() -> Path:
    """The repository the study is run from: the working directory, which must hold the Snakefile."""
    here = Path.cwd()
    if not (here / "Snakefile").is_file():
        raise SystemExit("python -m benchmarks.benchmark all runs the workflow: start it from the repository root (where the Snakefile is).")
    return here


def merged_config(configfiles: list[str]) -> dict:
    """config.yaml with the given files on top, as Snakemake merges them."""
    def update(base, extra):
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                update(base[key], value)
            else:
                base[key] = value
        return base

    config = yaml.safe_load((_repo() / "config.yaml").read_text())
    for path in configfiles:
        update(config, yaml.safe_load(Path(path).read_text()))
    url = config["data"]["url"]
    if "://" not in url and not os.path.isabs(url):
        config["data"]["url"] = str(Path(url).resolve())
    return config


def run_study(config: dict, cores: int, workdir: Path, env: dict | None = None) -> float:
    """Run the whole workflow from scratch in ``workdir`` (with environment ``env``, default this
    process's); wall seconds (the archive is put in place first)."""
    if workdir.exists():
        shutil.rmtree(workdir)
    store = workdir / "resources" / config["data"]["md5"].lower()
    store.mkdir(parents=True)
    source = config["data"]["url"].removeprefix("file://")
    if os.path.isfile(source):
        shutil.copyfile(source, store / "cifar-10-python.tar.gz")
    config = {**copy.deepcopy(config), "study_dir": "."}  # the study in workdir itself, whatever the configuration says
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    command = [sys.executable, "-m", "snakemake", "-s", str(_repo() / "Snakefile"), "--directory", str(workdir), "--cores", str(cores), "--quiet"]
    start = time.perf_counter()
    finished = subprocess.run(command, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if finished.returncode != 0:
        raise SystemExit(f"The study failed in {workdir} (see its results/logs/):\n{finished.stderr[-3000:]}")
    return seconds


def print_critical_path(folder: Path, cores: int, wall: float) -> None:
    """The chain of jobs that decided a measured run's wall time, and the core-seconds left idle."""
    jobs = schedule.planned_jobs(folder, _repo() / "Snakefile", cores)
    durations = schedule.measured_durations(folder, jobs)
    path = schedule.critical_path(jobs, schedule.dependencies(jobs), durations, schedule.measured_ends(folder, jobs))
    idle = schedule.idle_core_seconds(jobs, durations, cores, wall)
    print(f"\nCritical path of the --cores {cores} run (seconds from the first job's start; waited: idle time "
          f"before the job began after its last dependency ended):")
    print(path.to_markdown(index=False, floatfmt=".1f"))
    print(f"Idle: {idle:.0f} of {cores * wall:.0f} core-seconds ({idle / (cores * wall):.0%}); "
          f"jobs on the path: {path['seconds'].sum():.1f} s, waits on it: {path['waited_s'].sum():.1f} s")


def predict_scaling(folder: Path, measured_cores: int, parallel_fraction: float, cores: Sequence[int],
                    measured: Mapping[int, float]) -> pd.DataFrame:
    """Predicted wall time of the study for each ``cores`` value, from the jobs of one measured run.

    Each job's threads are the ones Snakemake plans for that ``--cores`` value; a training
    job's seconds are scaled to them by Amdahl's law with ``parallel_fraction`` (measured
    on the final epoch), other jobs keep their measured seconds; the jobs are then placed
    by ``benchmarks.schedule.simulate``.
    """
    snakefile = _repo() / "Snakefile"
    base = schedule.planned_jobs(folder, snakefile, measured_cores)
    measured_seconds = schedule.measured_durations(folder, base)
    seconds = {job.name: measured_seconds[job.jobid] for job in base}
    base_threads = {job.name: job.threads for job in base}
    rows = []
    for count in cores:
        jobs = base if count == measured_cores else schedule.planned_jobs(folder, snakefile, count)
        durations = {}
        for job in jobs:
            p = parallel_fraction if job.rule in TRAINING_RULES else 0.0
            durations[job.jobid] = schedule.amdahl(seconds.get(job.name, 0.0), min(base_threads.get(job.name, 1), measured_cores),
                                                   min(job.threads, count), p)
        predicted = schedule.simulate(jobs, schedule.dependencies(jobs), durations, count)
        rows.append({"cores": count, "predicted_s": f"{predicted:.1f}",
                     "measured_s": f"{measured[count]:.1f}" if count in measured else "-"})
    return pd.DataFrame(rows)


def benchmark_all(configfiles: list[str], cores: list[int], threads: int, tiny: bool, workdir: Path, run: bool) -> None:
    config = merged_config(configfiles)
    blas = ", ".join(f"{p['internal_api']} {p['version']} ({p.get('architecture', '?')})" for p in threadpool_info())
    print(f"BLAS: {blas}; {os.cpu_count()} CPUs\n")
    size = dict(M=500, N=300, repeats=1) if tiny else {}
    rates = {dtype: gemm_rate(dtype, threads, **size) for dtype in (np.float32, np.float64)}
    print(f"Matrix product (10000 x 3072) @ (3072 x 2450), {threads} threads: "
          f"{rates[np.float32]:.0f} GFLOP/s float32, {rates[np.float64]:.0f} GFLOP/s float64\n")

    search = (10_000, 10_000, config["training"]["batch_size"])
    final = (50_000, 10_000, config["training"]["batch_size"])
    if tiny:
        search, final = (600, 300, 200), (900, 300, 200)
    epochs, rounds = (1, 1) if tiny else (3, 5)
    rows, pack, timings, ratios = [], 7, {}, {}
    for name, (n, held, batch) in (("search", search), ("final", final)):
        runners = {"ours": ours_runner(n, held, batch, threads)}
        if name == "search":
            runners["ours_side_by_side"] = ours_runner(n, held, batch, threads, pack=pack)
        else:
            runners["ours_1_thread"] = ours_runner(n, held, batch, 1)
        runners.update(torch_runners(n, held, batch, threads))
        per_round = interleaved_epoch_rounds(runners, epochs, rounds)
        seconds = timings[name] = round_medians(per_round)
        ours_ratios = round_ratios(per_round, "ours", TORCH_RUNNERS)
        side_ratios = round_ratios(per_round, "ours_side_by_side", TORCH_RUNNERS, divisor=pack) if "ours_side_by_side" in per_round else None
        ratios[name] = side_ratios if name == "search" else ours_ratios
        rows.append({
            "setting": f"{name} epoch ({n} rows, batch {batch})",
            "GFLOP": epoch_flops(n, held) / 1e9,
            "ours_s": seconds["ours"],
            "ours_side_by_side_s": seconds["ours_side_by_side"] / pack if "ours_side_by_side" in seconds else None,
            "torch_autograd_s": seconds.get("torch_autograd"),
            "torch_manual_s": seconds.get("torch_manual"),
            "ours/torch": None if ours_ratios is None else float(np.median(ours_ratios)),
            "side_by_side/torch": None if side_ratios is None else float(np.median(side_ratios)),
        })
    single = timings["final"]["ours_1_thread"]
    table = pd.DataFrame(rows)
    print(f"Seconds per epoch, float32, {threads} threads: the cost of one more epoch of a run, median of {rounds} "
          f"rounds timed in turn "
          f"(side by side: per network, {pack} trained side by side; torch: the faster of autograd and hand-written gradients; "
          f"a ratio: the median of the rounds' ratios, each against the faster torch of its round):")
    print(table.to_markdown(index=False, floatfmt=".3f", missingval="-"))
    print(f"\nWhere an epoch's time goes: milliseconds of each data-sized operation, {threads} threads:")
    print(product_seconds(final[2] if not tiny else 200, threads).to_markdown(index=False, floatfmt=".1f"))
    final_seconds = rows[-1]["ours_s"]
    parallel_fraction = float(np.clip((1 - final_seconds / single) / (1 - 1 / threads), 0, 1)) if threads > 1 else 0.0
    print(f"\nFinal epoch on 1 thread: {single:.3f} s; on {threads}: {final_seconds:.3f} s "
          f"(parallel fraction {parallel_fraction:.2f} by Amdahl's law)")
    if threads > 1:
        apart = side_by_side_epoch_seconds(*final, threads, epochs)
        print(f"{threads} single-threaded final trainings at once, one per core: "
              f"{', '.join(f'{t:.3f}' for t in apart)} s per epoch each, so {max(apart) / threads:.3f} s per epoch of "
              f"the pair against {final_seconds:.3f} s for one training on {threads} threads")

    flops = study_flops(config)
    floor = flops["total"] / (rates[np.float32] * 1e9)
    print(f"\nStudy arithmetic: {flops['search_epochs']} search-sized epochs x {flops['search_epoch'] / 1e9:.1f} GFLOP + "
          f"{flops['final_epochs']} final epochs x {flops['final_epoch'] / 1e9:.1f} GFLOP = {flops['total'] / 1e12:.2f} TFLOP "
          f"(replicates included); at the measured float32 rate the floor is {floor:.1f} s")
    final_row, search_row = rows[-1], rows[0]
    epochs_seconds = flops["search_epochs"] * search_row["ours_side_by_side_s"] + flops["final_epochs"] * final_row["ours_s"]
    print(f"The same epochs at the epoch times measured above ({threads} threads; search epochs side by side, per network): "
          f"{flops['search_epochs']} x {search_row['ours_side_by_side_s']:.3f} s + {flops['final_epochs']} x "
          f"{final_row['ours_s']:.3f} s = {epochs_seconds:.1f} s, {epochs_seconds / floor:.2f} x the floor "
          f"(the rate of the study's own products against the wide product's)")
    if not run:
        return
    walls = {}
    for count in cores:
        folder = workdir / f"cores{count}"
        walls[count] = run_study(config, count, folder)
        print(f"\nWhole study with --cores {count}: {walls[count]:.1f} s wall, {walls[count] / floor:.2f} x the floor")
        print(stage_table(benchmark_files(folder / "results", folder / "resources" / config["data"]["md5"].lower()))
              .to_markdown(index=False, floatfmt=".1f"))
        print_critical_path(folder, count, walls[count])
        if count == threads:
            print(f"Study / floor = {walls[count] / floor:.2f} = {epochs_seconds / floor:.2f} (epochs at their measured "
                  f"times / floor) x {walls[count] / epochs_seconds:.2f} (study / those epochs: data, schedule, "
                  f"start-ups, evaluations outside the epochs, report)")
    if len(walls) > 1:
        low, high = min(walls), max(walls)
        print(f"\nSpeed-up from --cores {low} to --cores {high}: {walls[low] / walls[high]:.2f} x")
    base = max(walls)
    scaling = predict_scaling(workdir / f"cores{base}", base, parallel_fraction, [1, 2, 4, 8, 16], walls)
    print(f"\nPredicted wall time (scaling model from the jobs of the --cores {base} run; measured where run):")
    print(scaling.to_markdown(index=False, floatfmt=".1f", missingval="-"))
    targets = [("final epoch, ours / PyTorch", ratios["final"], 1.0),
               ("search epoch per network, side by side / PyTorch", ratios["search"], 0.5)]
    if 2 in walls:
        targets.append(("whole study on --cores 2 / float32 floor", np.array([walls[2] / floor]), 1.6))
    print("\nTargets (met when the ratio is at most the target; an epoch ratio is the median of the "
          f"{rounds} rounds' ratios, each from times measured one after the other, and their range follows it):")
    for label, ratio, target in targets:
        if ratio is not None:
            middle = float(np.median(ratio))
            spread = f", rounds {ratio.min():.2f} to {ratio.max():.2f}" if len(ratio) > 1 else ""
            print(f"  {label}: {middle:.2f} ({'met' if middle <= target else 'NOT met'}, target {target:g}{spread})")


def dtype_spread(results: Path, seeds: int, epochs: int | None, threads: int) -> pd.DataFrame:
    """Final test accuracy of the run's best fine configuration per seed, in float32 and float64."""
    from twolayer.seeding import derive_rng
    from twolayer.stages.setup import TrainingSetup

    config = merged_config([])
    best = pd.read_csv(results / "fine" / "top.csv").iloc[0]
    epochs = epochs or config["final"]["epochs"]
    rows = []
    point = {"run_id": best["run_id"], "learning_rate": float(best["learning_rate"]), "regularization": float(best["regularization"])}
    with threadpool_limits(limits=1):
        for dtype in ("float32", "float64"):
            setup = TrainingSetup(**{**config["training"], "dtype": dtype})
            train, test = setup.load_centred(results / "data" / "final_train.npz", results / "data" / "test.npz")
            for seed in range(seeds):
                start = time.perf_counter()
                rng = derive_rng(seed, "final")
                _, (result,) = setup.train_side_by_side(train, test, [point], [rng], rng, epochs)
                rows.append({"dtype": dtype, "seed": seed, "test_accuracy": result.final["val_accuracy"],
                             "train_accuracy": result.final["train_accuracy"], "seconds": time.perf_counter() - start})
    return pd.DataFrame(rows)


def peak_memory(results: Path, job: str, dtype: str, epochs: int, store: Path | None = None) -> float:
    """Peak resident memory (MB) of this process after running one final or one search job of a finished run
    (``store``: its data store, resources/<md5>, whose batches.meta names the classes of a final job)."""
    import resource
    import tempfile

    from twolayer.search import grid_values, point_values
    from twolayer.stages.train_final import train_final
    from twolayer.stages.search import search
    from twolayer.stages.setup import TrainingSetup

    config = merged_config([])
    setup = TrainingSetup(**{**config["training"], "dtype": dtype})
    out = Path(tempfile.mkdtemp())
    data = results / "data"
    with threadpool_limits(limits=1):
        if job == "final":
            names = {"history": "csv", "metrics": "json", "confusion": "csv", "per_class": "csv", "model": "npz"}
            if store is None:
                raise SystemExit("memory final needs --store resources/<md5>, the run's data store")
            meta = Path(store) / "cifar-10-batches-py" / "batches.meta"
            train_final(data / "final_train.npz", data / "test.npz", meta, results / "fine" / "top.csv", epochs,
                              setup, config["seed"], {name: out / f"{name}.{ext}" for name, ext in names.items()})
        else:
            row = point_values(grid_values(config["coarse"]["learning_rates"]), grid_values(config["coarse"]["regularizations"])[:1])
            search(data / "search_train.npz", data / "search_val.npz", "coarse", row, epochs, setup,
                              config["seed"], [out / f"{point['run_id']}.csv" for point in row])
    shutil.rmtree(out)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def gate_sensitivity(results: Path, configfiles: list[str], seeds: int) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """The gradient-check gate on a finished run's data: its noise on the clean code, and what it catches.

    For ``seeds`` weight draws of each configured network: the largest relative error per
    parameter (the noise of the method, since the code is unmodified), and, for every
    row of every weight matrix, the smallest factor 1 + e by which scaling that row of
    the backpropagated gradient makes the gate fail (e on a grid from 1e-5 to 1e-1).
    """
    from twolayer.gradcheck import gate_values, relative_error
    from twolayer.network import build_network
    from twolayer.preprocess import centre, load_split
    from twolayer.seeding import derive_rng

    config = merged_config(configfiles)
    settings = config["gradcheck"]
    bound, h = settings["gate"]["bound"], settings["gate"]["h"]
    data = load_split(results / "data" / "search_train.npz", np.float64, limit=settings["samples"])
    data = centre(data, data.mean)  # as check_gradients feeds the gate
    scalings = np.geomspace(1e-5, 1e-1, 81)
    noise, caught = [], []
    with threadpool_limits(limits=1):
        for seed in range(seeds):
            for name, spec in settings["networks"].items():
                net = build_network(data.X.shape[1], spec["hidden_sizes"], regularization=spec["regularization"],
                                    rngs=[derive_rng(seed, "gradcheck", name)], dtype=np.float64)
                for parameter, values in gate_values(net, data.X, data.y, h, derive_rng(seed, "gradcheck", name, "entries")).items():
                    noise.append({"network": name, "parameter": parameter, "seed": seed,
                                  "max_rel_error": float(relative_error(values.analytic, values.numeric).max())})
                    if not parameter.endswith(".W"):
                        continue
                    rows = np.unravel_index(values.entries, values.shape)[0]
                    for row in range(values.shape[0]):
                        mine = rows == row
                        found = np.nan
                        for e in scalings:
                            analytic = values.analytic.copy()
                            analytic[mine] *= 1 + e
                            if relative_error(analytic, values.numeric).max() > bound:
                                found = e
                                break
                        caught.append({"network": name, "parameter": parameter, "seed": seed, "row": row, "smallest_caught": found})
    noise = pd.DataFrame(noise).groupby(["network", "parameter"], sort=False)["max_rel_error"].agg(["max", "median"]).reset_index()
    caught = pd.DataFrame(caught).groupby(["network", "parameter"], sort=False)["smallest_caught"].agg(["min", "max"]).reset_index()
    return noise, caught, bound


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m benchmarks.benchmark``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.benchmark", description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", type=Path, metavar="PAGE",
                        help="also write the command and its output into PAGE, between its markers for --section")
    parser.add_argument("--section", help="the page's section for the output (default: 'benchmark COMMAND')")
    commands = parser.add_subparsers(dest="command", required=True)
    every = commands.add_parser("all", help="rates, per-epoch times against PyTorch, the floor, and the whole study")
    every.add_argument("--configfile", nargs="*", default=[], help="config files on top of config.yaml (e.g. config/replica.yaml)")
    every.add_argument("--cores", nargs="*", type=int, default=[2], help="--cores values to run the study with (default: 2)")
    every.add_argument("--threads", type=int, default=2, help="threads for the per-epoch measurements (default: 2)")
    every.add_argument("--workdir", default="benchmark-runs", help="scratch folder for the study runs (default: benchmark-runs)")
    every.add_argument("--no-study", action="store_true", help="skip running the whole study")
    every.add_argument("--tiny", action="store_true", help="tiny sizes: checks that the benchmark runs, measures nothing useful")
    one_pass = commands.add_parser("pass", help="time one forward + backward pass")
    one_pass.add_argument("--samples", type=int, default=10_000, help="rows in the batch (default: 10000)")
    one_pass.add_argument("--repeats", type=int, default=5, help="timed repetitions; the best is kept (default: 5)")
    one_pass.add_argument("--threads", type=int, default=None, help="threads (default: all CPUs)")
    spread = commands.add_parser("dtype", help="final accuracy per seed in float32 and float64, from a finished run's data")
    spread.add_argument("--results", default="results", help="a finished run's results folder (default: results)")
    spread.add_argument("--seeds", type=int, default=3, help="seeds per dtype (default: 3)")
    spread.add_argument("--epochs", type=int, default=None, help="epochs (default: final.epochs of config.yaml)")
    spread.add_argument("--threads", type=int, default=2, help="threads (default: 2)")
    memory = commands.add_parser("memory", help="peak memory of one final or search job in a chosen dtype")
    memory.add_argument("job", choices=["final", "search"], help="which job to run")
    memory.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    memory.add_argument("--results", default="results", help="a finished run's results folder (default: results)")
    memory.add_argument("--store", default=None, help="its data store, resources/<md5> (for the final job)")
    memory.add_argument("--epochs", type=int, default=2, help="epochs to train (memory does not grow with them; default: 2)")
    gate = commands.add_parser("gate", help="noise of the gradient-check gate and the smallest wrong gradient it catches")
    gate.add_argument("--configfile", nargs="*", default=[], help="config files on top of config.yaml")
    gate.add_argument("--results", default="results", help="a finished run's results folder (default: results)")
    gate.add_argument("--seeds", type=int, default=5, help="weight draws per network (default: 5)")
    stages = commands.add_parser("stages", help="wall time and peak memory per rule of a finished run")
    stages.add_argument("--results", default="results", help="the run's results folder (default: results)")
    stages.add_argument("--store", default=None,
                        help="its data store, resources/<md5> (the download's and extraction's benchmarks)")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.write is None:
        run(args)
        return
    tee = Tee()
    with contextlib.redirect_stdout(tee):
        run(args)
    shown = [a for a in (sys.argv[1:] if argv is None else argv)]
    for option in ("--write", "--section"):
        while option in shown:
            at = shown.index(option)
            del shown[at : at + 2]
    command = " ".join(["python -m benchmarks.benchmark", *shown])
    write_section(args.write, args.section or f"benchmark {args.command}", f"```\n$ {command}\n{tee.kept.getvalue().rstrip()}\n```")


def run(args: argparse.Namespace) -> None:
    """Run the parsed command, printing what it measures."""
    if args.command == "stages":
        table = stage_table(benchmark_files(args.results, args.store))
        print(table.to_markdown(index=False, floatfmt=".1f"))
        print(f"\nsum of job wall times: {table['total_s'].sum():.1f} s over {table['jobs'].sum()} jobs")
    elif args.command == "gate":
        noise, caught, bound = gate_sensitivity(Path(args.results), args.configfile, args.seeds)
        print(f"Gate noise: largest relative error on the unmodified code over {args.seeds} weight draws per network")
        print(noise.rename(columns={"max": "max_rel_error", "median": "median_over_draws"}).to_markdown(index=False, floatfmt=".2e"))
        print(f"\nBound: {bound:.1e}, {bound / noise['max'].max():.0f} x the largest error on clean code")
        print("\nOne row of a weight gradient scaled by 1 + e: the smallest e the gate catches, best and worst row")
        print(caught.rename(columns={"min": "best_row_e", "max": "worst_row_e"}).to_markdown(index=False, floatfmt=".2e"))
    elif args.command == "memory":
        peak = peak_memory(Path(args.results), args.job, args.dtype, args.epochs, args.store)
        print(f"{args.job} job, {args.dtype}: peak resident memory {peak:.0f} MB")
    elif args.command == "dtype":
        table = dtype_spread(Path(args.results), args.seeds, args.epochs, args.threads)
        print(table.to_markdown(index=False, floatfmt=".4f"))
        summary = table.groupby("dtype")["test_accuracy"].agg(["mean", "std", "min", "max"])
        print("\n" + summary.to_markdown(floatfmt=".4f"))
        gap = abs(summary.loc["float32", "mean"] - summary.loc["float64", "mean"])
        print(f"\n|mean float32 - mean float64| = {100 * gap:.2f} points; seed-to-seed standard deviation "
              f"{100 * summary['std'].max():.2f} points (largest of the two)")
    elif args.command == "all":
        benchmark_all(args.configfile, args.cores, args.threads, args.tiny, Path(args.workdir), not args.no_study)
    else:
        threads = args.threads or os.cpu_count()
        with threadpool_limits(limits=threads):
            print(f"{threads} BLAS thread(s)")
            print(f"{'dtype':<8} {'samples':>8} {'seconds':>9}")
            for dtype in (np.float32, np.float64):
                seconds = time_pass(args.samples, dtype, args.repeats)
                print(f"{np.dtype(dtype).name:<8} {args.samples:>8} {seconds:>9.4f}")


if __name__ == "__main__":
    main()
