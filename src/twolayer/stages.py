"""The study's stages as functions of plain paths and values.

Each function here is what one workflow rule runs: it reads its inputs, does the
work through the rest of the package and writes its outputs atomically. None of
them knows about Snakemake, so each can be run and tested on its own.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .cifar import NUM_CLASSES, PIXELS, extract_archive, load_class_names, verify_archive
from .download import TransferSettings, fetch_archive
from .gradcheck import STATISTICS, check_network, gate_network
from .io import save_npz, write_csv, write_json
from .network import Network, build_network, packed_rate_scales, packed_two_layer_network, two_layer_network
from .optimizers import MomentumSGD
from .preprocess import Split, build_split, class_balance, load_split, save_split
from .search import SUMMARY_COLUMNS, parse_run_id, summarize, top_k
from .seeding import derive_rng
from .training import HISTORY_COLUMNS, TrainingResult, batch_rows, train, train_groups

log = logging.getLogger(__name__)

GRADCHECK_COLUMNS = ("network", "parameter", "shape", *STATISTICS)
GATE_COLUMNS = ("network", "parameter", "shape", "entries", "max_rel_error", "row", "column", "analytic", "numeric")
MOMENTUM_COLUMNS = ("momentum", "epoch", "cost", "accuracy")
FINAL_HISTORY_COLUMNS = ("epoch", "learning_rate", "train_cost", "train_accuracy", "test_cost", "test_accuracy")


class GradientCheckError(RuntimeError):
    """Backpropagation and finite differences disagree beyond the configured bound."""


def used_size(what: str, requested: int, available: int) -> int:
    """``requested`` clipped to ``available``, with a warning in the job's log when it is clipped."""
    if requested > available:
        log.warning("%s is %d but only %d rows are available: using %d", what, requested, available, available)
    return min(requested, available)


@dataclass(frozen=True)
class TrainingSetup:
    """Hyperparameters held fixed across the searches and the final run."""

    hidden_size: int = 50
    decay: float = 0.998
    momentum: float = 0.8
    batch_size: int | None = 10_000
    shuffle: bool = True
    weight_init: str = "xavier"
    bias_init: str = "zeros"
    dtype: str = "float32"

    def network(self, mean: np.ndarray, regularization: float, rng: np.random.Generator) -> Network:
        return two_layer_network(
            mean,
            hidden_size=self.hidden_size,
            regularization=regularization,
            weight_init=self.weight_init,
            bias_init=self.bias_init,
            rng=rng,
            dtype=np.dtype(self.dtype),
        )

    def batch_size_for(self, rows: int) -> int:
        """Rows per step on a training set of ``rows`` rows (logged when the configured size is clipped)."""
        return rows if self.batch_size is None else used_size("training.batch_size", self.batch_size, rows)

    def train(
        self,
        train_split: Split,
        held_out: Split | None,
        learning_rate: float,
        regularization: float,
        epochs: int,
        rng: np.random.Generator,
    ) -> tuple[Network, TrainingResult]:
        """Build a fresh network and train it with momentum SGD; logs one line per epoch."""
        net = self.network(train_split.mean, regularization, rng)
        optimizer = MomentumSGD(learning_rate, self.momentum, self.decay)

        def progress(row: dict) -> None:
            log.info(
                "epoch %d/%d lr %.6g: train cost %.4f acc %.4f | held-out cost %.4f acc %.4f",
                row["epoch"], epochs, row["learning_rate"], row["train_cost"], row["train_accuracy"],
                row["val_cost"], row["val_accuracy"],
            )

        result = train(
            net,
            optimizer,
            train_split.X,
            train_split.y,
            epochs=epochs,
            batch_size=self.batch_size_for(len(train_split.y)),
            shuffle=self.shuffle,
            rng=rng,
            X_val=None if held_out is None else held_out.X,
            y_val=None if held_out is None else held_out.y,
            on_epoch=progress,
        )
        if result.status == "diverged":
            log.warning("the cost became NaN or infinite at epoch %d: run recorded as diverged", result.diverged_epoch)
        return net, result


# -- data ---------------------------------------------------------------------------------


def download_data(url: str, md5: str, archive: str | Path, transfer: TransferSettings) -> None:
    fetch_archive(url, md5, archive, retries=transfer.retries, timeout=transfer.timeout)


def extract_data(archive: str | Path, url: str, md5: str, targets: Mapping[str, str | Path], out_json: str | Path) -> dict:
    """Check the archive against ``md5``, extract the members ``targets`` names, record what was checked.

    The archive is verified here, where it is used, whatever put it in place (this
    workflow's download, a copy made by hand, a run with another configuration).
    ``out_json`` records the configured source, the md5 computed from the file and its
    size: what the report states about the data.
    """
    verified = verify_archive(archive, md5)
    log.info("%s: md5 %s equals data.md5", archive, verified)
    for path in extract_archive(archive, targets):
        log.info("extracted %s", path)
    info = {"url": url, "archive": str(archive), "md5": verified, "bytes": Path(archive).stat().st_size}
    write_json(info, out_json)
    return info


def prepare_data(
    batch_paths: Mapping[str, str | Path],
    meta_path: str | Path,
    splits: Mapping[str, Sequence[str]],
    split_paths: Mapping[str, str | Path],
    class_balance_csv: str | Path,
    samples_png: str | Path,
) -> None:
    """Write one split file per named split, the class-balance table and a sample grid.

    ``batch_paths`` maps a batch name to its extracted file; each split lists batch names.
    A batch without images is an error (DataFormatError), so no split is empty.
    """
    from . import plots  # matplotlib is slow to import: only the stages that draw load it

    class_names = load_class_names(meta_path)
    labels = {}
    for name, batches in splits.items():
        X, y = build_split([batch_paths[batch] for batch in batches])
        save_split(split_paths[name], X, y)
        labels[name] = y
        log.info("split %s: %d images from %s", name, len(y), ", ".join(batches))
        if name == "final_train":
            plots.sample_grid(X, y, class_names, samples_png)
    write_csv(class_balance(labels, class_names), class_balance_csv)


# -- gradient check -----------------------------------------------------------------------


def check_gradients(
    split_path: str | Path,
    samples: int,
    networks: Mapping[str, Mapping],
    gate: Mapping,
    published: Mapping,
    seed: int,
    out_csv: str | Path,
    gate_csv: str | Path,
) -> pd.DataFrame:
    """Check backpropagation for each configured network (float64); fail on any real disagreement.

    ``networks`` maps a name to ``{"hidden_sizes": [...], "regularization": [...]}``.
    Two tables are written: ``out_csv``, the original study's statistics from
    ``published["method"]`` differences with step ``published["h"]`` (a reproduction of
    its table, reported, not judged), and ``gate_csv``, the gate: centered differences
    with step ``gate["h"]`` through the network's own cost (``gradcheck.gate_network``).
    Raises GradientCheckError if the gate's largest relative error exceeds ``gate["bound"]``.
    """
    data = load_split(split_path, dtype=np.float64, limit=samples)
    used_size("gradcheck.samples", samples, len(data.y))
    rows, gate_rows = [], []
    for name, spec in networks.items():
        net = build_network(
            data.mean, spec["hidden_sizes"], regularization=spec["regularization"],
            rng=derive_rng(seed, "gradcheck", name), dtype=np.float64,
        )
        for row in gate_network(net, data.X, data.y, h=gate["h"], rng=derive_rng(seed, "gradcheck", name, "entries")):
            gate_rows.append({"network": name, **row})
            log.info("gate %s %s: %d entries, max rel error %.3e", name, row["parameter"], row["entries"], row["max_rel_error"])
        for row in check_network(net, data.X, data.y, h=published["h"], method=published["method"]):
            rows.append({"network": name, **row})
            log.info("%s %s: sum |diff| %.3e (%s differences, h=%g)", name, row["parameter"], row["sum_abs_diff"], published["method"], published["h"])
    table = pd.DataFrame(rows, columns=GRADCHECK_COLUMNS)
    write_csv(table, out_csv)
    gate_table = pd.DataFrame(gate_rows, columns=GATE_COLUMNS)
    write_csv(gate_table, gate_csv)
    worst = gate_table.loc[gate_table["max_rel_error"].idxmax()]
    if not worst["max_rel_error"] <= gate["bound"]:
        raise GradientCheckError(
            f"Gradient check failed: for {worst['network']} / {worst['parameter']} backpropagation gives "
            f"{worst['analytic']:.6e} at entry ({worst['row']}, {worst['column']}) where centered differences of the "
            f"network's cost give {worst['numeric']:.6e}: a relative error of {worst['max_rel_error']:.3e}, above the "
            f"bound gradcheck.gate.bound = {gate['bound']:g}. The backward pass (or the cost) of a layer is wrong; "
            "fix the code before training on it. Full table:\n" + gate_table.to_string(index=False)
        )
    return gate_table


# -- momentum study ---------------------------------------------------------------------------


def study_momentum(
    split_path: str | Path,
    samples: int,
    learning_rate: float,
    epochs: int,
    momenta: Sequence[float],
    regularization: float,
    decay: float,
    setup: TrainingSetup,
    seed: int,
    out_csv: str | Path,
    comparison_png: str | Path,
    curve_pngs: Sequence[str | Path],
) -> pd.DataFrame:
    """Full-batch training on a small subset, once per momentum value, from the same start."""
    from . import plots  # matplotlib is slow to import: only the stages that draw load it

    data = load_split(split_path, dtype=np.dtype(setup.dtype), limit=samples)
    used_size("momentum.samples", samples, len(data.y))
    frames = []
    for momentum in momenta:
        rng = derive_rng(seed, "momentum")  # same initial weights for every momentum value
        net = setup.network(data.mean, regularization, rng)
        result = train(net, MomentumSGD(learning_rate, momentum, decay), data.X, data.y, epochs=epochs, shuffle=False)
        history = pd.DataFrame(result.history)
        frames.append(pd.DataFrame({"momentum": momentum, "epoch": history["epoch"], "cost": history["train_cost"], "accuracy": history["train_accuracy"]}))
        log.info("momentum %g: final cost %.4f, accuracy %.4f (%s)", momentum, history["train_cost"].iloc[-1], history["train_accuracy"].iloc[-1], result.status)
    table = pd.concat(frames, ignore_index=True)[list(MOMENTUM_COLUMNS)]
    write_csv(table, out_csv)
    plots.momentum_comparison(table, comparison_png)
    for momentum, path in zip(momenta, curve_pngs):
        plots.momentum_curves(table, momentum, path)
    return table


# -- searches ---------------------------------------------------------------------------------


def train_grid_points(
    train_path: str | Path,
    val_path: str | Path,
    grid: str,
    runs: Sequence[str],
    epochs: int,
    setup: TrainingSetup,
    seed: int,
    out_csvs: Sequence[str | Path],
) -> list[TrainingResult]:
    """Train grid points side by side as one packed network; write each one's history.

    Each point starts from the weights its own generator (seed, grid, run id) gives and
    all see the same mini-batches (generator of seed and grid), so a point's result
    does not depend on which others share its job, up to rounding.
    """
    points = [parse_run_id(run) for run in runs]
    learning_rates = np.array([lr for lr, _ in points])
    dtype = np.dtype(setup.dtype)
    train_split, val_split = load_split(train_path, dtype), load_split(val_path, dtype)
    H = setup.hidden_size
    net = packed_two_layer_network(
        train_split.mean,
        [reg for _, reg in points],
        hidden_size=H,
        weight_init=setup.weight_init,
        bias_init=setup.bias_init,
        rngs=[derive_rng(seed, grid, run) for run in runs],
        dtype=dtype,
    )
    optimizer = MomentumSGD(1.0, setup.momentum, setup.decay, scales=packed_rate_scales(learning_rates, H, dtype))
    log.info("%s: %d point(s) in one job (%s), %d epochs", grid, len(runs), ", ".join(runs), epochs)

    def progress(p: int, row: dict) -> None:
        log.info("%s epoch %d/%d: train cost %.4f acc %.4f | val cost %.4f acc %.4f", runs[p], row["epoch"], epochs,
                 row["train_cost"], row["train_accuracy"], row["val_cost"], row["val_accuracy"])

    results = train_groups(
        net, optimizer, train_split.X, train_split.y, epochs=epochs, batch_size=setup.batch_size_for(len(train_split.y)),
        shuffle=setup.shuffle, rng=derive_rng(seed, grid, "batches"), X_val=val_split.X, y_val=val_split.y,
        rate_scales=learning_rates, on_epoch=progress,
    )
    for run, result, path in zip(runs, results, out_csvs):
        if result.status == "diverged":
            log.warning("%s: the cost became NaN or infinite at epoch %d: recorded as diverged", run, result.diverged_epoch)
        write_csv(result.history, path, columns=HISTORY_COLUMNS)
    return results


def summarize_search(
    history_paths: Mapping[str, str | Path],
    title: str,
    k: int,
    summary_csv: str | Path,
    top_csv: str | Path,
    heatmap_png: str | Path,
    curves_png: str | Path,
) -> pd.DataFrame:
    """Gather a grid's histories into a summary, select the top k, draw the heat map and curves."""
    from . import plots  # matplotlib is slow to import: only the stages that draw load it

    histories = {run: pd.read_csv(path) for run, path in history_paths.items()}
    summary = summarize(histories)
    write_csv(summary, summary_csv, columns=SUMMARY_COLUMNS)
    diverged = summary.loc[summary["status"] == "diverged", "run_id"].tolist()
    if diverged:
        log.warning("%d run(s) diverged and are excluded from the selection: %s", len(diverged), ", ".join(diverged))
    top = top_k(summary, k)
    write_csv(top, top_csv, columns=SUMMARY_COLUMNS)
    plots.search_heatmap(summary, title, heatmap_png)
    plots.learning_curves(
        {f"#{rank} lr {row.learning_rate:g}, λ {row.regularization:g}": histories[row.run_id] for rank, row in enumerate(top.itertuples(), 1)},
        curves_png,
    )
    return top


# -- final training ---------------------------------------------------------------------------


def _shown(value) -> str:
    return repr(value) if isinstance(value, str) else f"{float(value):g}"


def chosen_configuration(top_csv: str | Path) -> pd.Series:
    """The first row of a search's top table, checked: a run id, a finite learning rate > 0, a regularization >= 0."""
    try:
        top = pd.read_csv(top_csv)
    except (OSError, ValueError) as error:
        raise ValueError(f"{top_csv} cannot be read as a table ({error}); rerun the fine search's selection.") from None
    missing = sorted({"run_id", "learning_rate", "regularization"} - set(top.columns))
    if missing or top.empty:
        raise ValueError(f"{top_csv} must have a first row with run_id, learning_rate and regularization; "
                         f"it has {len(top)} rows{' and lacks ' + ', '.join(missing) if missing else ''}. Rerun select_fine.")
    best = top.iloc[0]
    lr, reg = pd.to_numeric(best[["learning_rate", "regularization"]], errors="coerce")
    if not (np.isfinite(lr) and lr > 0 and np.isfinite(reg) and reg >= 0):
        raise ValueError(f"{top_csv}: the chosen configuration has learning rate {_shown(best['learning_rate'])} and "
                         f"regularization {_shown(best['regularization'])}; expected a finite rate > 0 and a value >= 0. Rerun select_fine.")
    return best


def train_final_model(
    train_path: str | Path,
    test_path: str | Path,
    batch_dir_meta: str | Path,
    fine_top_csv: str | Path,
    epochs: int,
    setup: TrainingSetup,
    seed: int,
    outputs: Mapping[str, str | Path],
) -> dict:
    """Train the best fine-search configuration on the full training set and test it.

    ``outputs`` names the paths: history, metrics, confusion, per_class, model, curves_png,
    confusion_png.
    """
    from . import plots  # matplotlib is slow to import: only the stages that draw load it

    best = chosen_configuration(fine_top_csv)
    learning_rate, regularization = float(best["learning_rate"]), float(best["regularization"])
    class_names = load_class_names(batch_dir_meta)
    dtype = np.dtype(setup.dtype)
    train_split, test_split = load_split(train_path, dtype), load_split(test_path, dtype)
    log.info("final: %s (lr %g, regularization %g), %d epochs on %d images", best["run_id"], learning_rate, regularization, epochs, len(train_split.y))
    net, result = setup.train(train_split, test_split, learning_rate, regularization, epochs, derive_rng(seed, "final"))

    history = pd.DataFrame(result.history).rename(columns={"val_cost": "test_cost", "val_accuracy": "test_accuracy"})
    write_csv(history, outputs["history"], columns=FINAL_HISTORY_COLUMNS)

    predicted = net.predict(test_split.X)
    matrix = np.zeros((len(class_names), len(class_names)), dtype=np.int64)
    np.add.at(matrix, (test_split.y, predicted), 1)
    write_csv(pd.DataFrame(matrix, columns=class_names), outputs["confusion"])
    per_class = matrix.diagonal() / matrix.sum(axis=1)
    write_csv(
        pd.DataFrame({"class": class_names, "test_images": matrix.sum(axis=1), "correct": matrix.diagonal(), "accuracy": per_class}),
        outputs["per_class"],
    )

    metrics = {
        "run_id": str(best["run_id"]),
        "learning_rate": learning_rate,
        "regularization": regularization,
        "epochs": len(result.history),
        "status": result.status,
        "train_cost": result.final["train_cost"],
        "train_accuracy": result.final["train_accuracy"],
        "test_cost": result.final["val_cost"],
        "test_accuracy": result.final["val_accuracy"],
        "train_images": int(len(train_split.y)),
        "test_images": int(len(test_split.y)),
        "batch_size": batch_rows(setup.batch_size, len(train_split.y)),
    }
    write_json(metrics, outputs["metrics"])
    save_model(outputs["model"], net, train_split.mean, regularization)
    plots.learning_curves({f"Final: lr {learning_rate:g}, λ {regularization:g}": history}, outputs["curves_png"], held_out="test", held_out_label="test")
    plots.confusion_matrix(matrix, class_names, outputs["confusion_png"])
    log.info("final: train accuracy %.4f, test accuracy %.4f", metrics["train_accuracy"], metrics["test_accuracy"])
    return metrics


class ModelFileError(ValueError):
    """A model file does not hold the study's two-layer network."""


MODEL_KEYS = ("W1", "b1", "W2", "b2", "mean", "regularization")


def _model_shapes(hidden: int) -> dict[str, tuple[int, ...]]:
    return {"W1": (hidden, PIXELS), "b1": (hidden, 1), "W2": (NUM_CLASSES, hidden), "b2": (NUM_CLASSES, 1), "mean": (PIXELS, 1), "regularization": ()}


def save_model(path: str | Path, net: Network, mean: np.ndarray, regularization: float) -> None:
    """Write a two-layer network as ``model.npz``: the arrays ``MODEL_KEYS`` that ``load_model`` reads."""
    params = net.params()
    save_npz(
        path,
        W1=params["linear1.W"], b1=params["linear1.b"], W2=params["linear2.W"], b2=params["linear2.b"],
        mean=mean, regularization=np.float64(regularization),
    )


def load_model(path: str | Path) -> Network:
    """Rebuild the trained network from ``model.npz`` (float64 math on x = pixels / 255).

    Every array is checked against the architecture before use: the keys, their shapes
    (W1 (H, 3072), b1 (H, 1), W2 (10, H), b2 (10, 1), mean (3072, 1), regularization a
    scalar >= 0), a floating dtype and finite values. The rebuilt network's ``cost``
    includes the L2 term, as the final metrics do. Raises ModelFileError naming the
    array, its shape and the expected one.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError) as error:
        raise ModelFileError(f"{path} is not a readable model file ({error}).") from None
    missing, extra = sorted(set(MODEL_KEYS) - set(arrays)), sorted(set(arrays) - set(MODEL_KEYS))
    if missing or extra:
        raise ModelFileError(
            f"{path} must hold exactly {', '.join(MODEL_KEYS)}; "
            + "; ".join(part for part in (f"missing {', '.join(missing)}" if missing else "", f"unexpected {', '.join(extra)}" if extra else "") if part)
            + ". It was not written by train_final."
        )
    W1 = arrays["W1"]
    hidden = W1.shape[0] if W1.ndim == 2 and W1.shape[0] >= 1 else None
    expected = _model_shapes(hidden if hidden is not None else 0)
    for key in MODEL_KEYS:
        array = arrays[key]
        shape = "(H, 3072) with H >= 1" if hidden is None and key == "W1" else str(expected[key])
        if array.shape != expected[key] or hidden is None:
            raise ModelFileError(f"{path}: {key} has shape {array.shape}, expected {shape}.")
        if not np.issubdtype(array.dtype, np.floating):
            raise ModelFileError(f"{path}: {key} is {array.dtype}, expected floating-point values.")
        if not np.isfinite(array).all():
            raise ModelFileError(f"{path}: {key} holds NaN or infinite values.")
    regularization = float(arrays["regularization"])
    if regularization < 0:
        raise ModelFileError(f"{path}: regularization is {regularization}, expected a value >= 0.")
    net = two_layer_network(arrays["mean"], hidden_size=hidden, regularization=regularization, bias_init="zeros", weight_init="zeros")
    params = net.params()
    for key, name in (("W1", "linear1.W"), ("b1", "linear1.b"), ("W2", "linear2.W"), ("b2", "linear2.b")):
        params[name][...] = arrays[key]
    return net
