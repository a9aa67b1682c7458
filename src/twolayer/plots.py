"""Figures of the study, in one print-friendly style, written atomically as PNG."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

from .cifar import to_images  # noqa: E402
from .io import atomic_path  # noqa: E402
from .search import CHANCE, COST_RISE  # noqa: E402

STYLE = {
    "figure.dpi": 150,
    "savefig.dpi": 150,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.5,
    "svg.hashsalt": "twolayer",
}
TRAIN, HELD_OUT = "#1f77b4", "#d62728"


def _save(fig: plt.Figure, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)


def contrast_ratio(first, second) -> float:
    """WCAG contrast ratio of two colours (any matplotlib colour): 1 (the same) to 21 (black on white)."""
    def luminance(colour) -> float:
        rgb = np.asarray(matplotlib.colors.to_rgb(colour))
        linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
        return float(linear @ [0.2126, 0.7152, 0.0722])

    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def label_colour(background) -> str:
    """Black or white, whichever contrasts more with ``background``: at least 4.58:1 on any colour,
    above the 4.5:1 that WCAG asks of small text."""
    return max(("black", "white"), key=lambda colour: contrast_ratio(colour, background))


def plain_text(text: str) -> str:
    """A label from the data as literal text: a ``$`` would otherwise start matplotlib's mathtext."""
    return text.replace("$", r"\$")


def _percent_axis(ax: plt.Axes) -> None:
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))


def sample_grid(X: np.ndarray, y: np.ndarray, class_names: Sequence[str], path: str | Path, per_class: int = 8) -> None:
    """The first ``per_class`` images of each class, one row per class."""
    images = to_images(X)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(len(class_names), per_class, figsize=(per_class * 0.7, len(class_names) * 0.72))
        for row, name in enumerate(class_names):
            indices = np.flatnonzero(y == row)[:per_class]
            for col in range(per_class):
                ax = axes[row, col]
                ax.set_axis_off()
                if col < len(indices):
                    ax.imshow(images[indices[col]], interpolation="nearest")
            axes[row, 0].text(-4, 16, plain_text(name), ha="right", va="center", fontsize=8)
        fig.subplots_adjust(wspace=0.05, hspace=0.05)
        _save(fig, path)


def momentum_curves(history: pd.DataFrame, momentum: float, path: str | Path) -> None:
    """Training cost and accuracy per epoch for one momentum value."""
    rows = history[history["momentum"] == momentum]
    with plt.rc_context(STYLE):
        fig, (cost_ax, acc_ax) = plt.subplots(1, 2, figsize=(7, 2.6))
        cost_ax.plot(rows["epoch"], rows["cost"], color=TRAIN)
        acc_ax.plot(rows["epoch"], rows["accuracy"], color=TRAIN)
        cost_ax.set(xlabel="epoch", ylabel="cost (cross-entropy + L2)", title=f"Cost, momentum {momentum:g}")
        acc_ax.set(xlabel="epoch", ylabel="training accuracy", title=f"Accuracy, momentum {momentum:g}", ylim=(0, 1.02))
        _percent_axis(acc_ax)
        fig.tight_layout()
        _save(fig, path)


def momentum_comparison(history: pd.DataFrame, path: str | Path) -> None:
    """Cost and accuracy curves of every momentum value on shared axes."""
    with plt.rc_context(STYLE):
        fig, (cost_ax, acc_ax) = plt.subplots(1, 2, figsize=(7, 2.8))
        colors = plt.cm.viridis(np.linspace(0.0, 0.85, history["momentum"].nunique()))
        for color, (momentum, rows) in zip(colors, history.groupby("momentum", sort=True)):
            cost_ax.plot(rows["epoch"], rows["cost"], color=color, label=f"momentum {momentum:g}")
            acc_ax.plot(rows["epoch"], rows["accuracy"], color=color, label=f"momentum {momentum:g}")
        cost_ax.set(xlabel="epoch", ylabel="cost (cross-entropy + L2)", title="Training cost", yscale="log")
        acc_ax.set(xlabel="epoch", ylabel="training accuracy", title="Training accuracy", ylim=(0, 1.02))
        _percent_axis(acc_ax)
        acc_ax.legend(loc="lower right")
        fig.tight_layout()
        _save(fig, path)


def momentum_panels(history: pd.DataFrame, path: str | Path) -> None:
    """One panel per momentum value (two columns): training cost (log scale, left axis) and training
    accuracy (right axis) per epoch, every panel on the same scales."""
    values = sorted(history["momentum"].unique())
    columns = min(2, len(values))
    rows = int(np.ceil(len(values) / columns))
    cost_range = (history["cost"].min() * 0.8, history["cost"].max() * 1.25)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(rows, columns, figsize=(7.5, 2.4 * rows), squeeze=False, sharex=True)
        for ax, momentum in zip(axes.flat, values):
            rows_m = history[history["momentum"] == momentum]
            ax.plot(rows_m["epoch"], rows_m["cost"], color=TRAIN, label="cost")
            ax.set(yscale="log", ylim=cost_range, title=f"momentum {momentum:g}", ylabel="cost (log scale)")
            twin = ax.twinx()
            twin.plot(rows_m["epoch"], rows_m["accuracy"], color=HELD_OUT, label="training accuracy")
            twin.set(ylim=(0, 1.02), ylabel="training accuracy")
            twin.grid(False)
            _percent_axis(twin)
        for ax in axes[-1]:
            ax.set(xlabel="epoch")
        for ax in list(axes.flat)[len(values):]:
            ax.set_axis_off()
        fig.legend([plt.Line2D([], [], color=TRAIN), plt.Line2D([], [], color=HELD_OUT)], ["cost", "training accuracy"],
                   loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, frameon=False)
        fig.tight_layout()
        _save(fig, path)


def search_heatmap(summary: pd.DataFrame, title: str, path: str | Path) -> None:
    """Validation accuracy over the learning-rate x regularization grid. Diverged cells are marked;
    a run that ended below chance is printed with "*", one whose validation cost climbed with "↑",
    both framed (``summary``'s ``below_chance`` and ``cost_rose`` columns). Every label is black or
    white, whichever contrasts more with its cell (``label_colour``)."""
    lrs = sorted(summary["learning_rate"].unique(), reverse=True)
    regs = sorted(summary["regularization"].unique())
    grid = np.full((len(regs), len(lrs)), np.nan)
    diverged = np.zeros_like(grid, dtype=bool)
    marks = np.full(grid.shape, "", dtype=object)
    for row in summary.itertuples():
        i, j = regs.index(row.regularization), lrs.index(row.learning_rate)
        if row.status == "ok":
            grid[i, j] = row.val_accuracy
            marks[i, j] = ("*" if row.below_chance else "") + ("↑" if row.cost_rose else "")
        else:
            diverged[i, j] = True
    with plt.rc_context({**STYLE, "axes.grid": False}):
        fig, ax = plt.subplots(figsize=(1.0 + 0.75 * len(lrs), 0.8 + 0.45 * len(regs)))
        image = ax.imshow(grid, cmap="viridis", aspect="auto", origin="lower")
        finite = grid[np.isfinite(grid)]
        # a grid whose accuracies lie within 5 points needs a second decimal to tell its cells apart
        decimals = 2 if finite.size and finite.max() - finite.min() < 0.05 else 1
        for i in range(len(regs)):
            for j in range(len(lrs)):
                if diverged[i, j]:
                    ax.text(j, i, "diverged", ha="center", va="center", fontsize=6, color="#b00")
                elif np.isfinite(grid[i, j]):
                    color = label_colour(image.cmap(image.norm(grid[i, j])))
                    ax.text(j, i, f"{grid[i, j]:.{decimals}%}{marks[i, j]}", ha="center", va="center", fontsize=8,
                            color=color)
                    if marks[i, j]:  # a frame in the label's colour: as legible as the label on any cell
                        ax.add_patch(plt.Rectangle((j - 0.46, i - 0.42), 0.92, 0.84, fill=False, edgecolor=color,
                                                   linewidth=1.2))
        ax.set_xticks(range(len(lrs)), [f"{v:.3g}" for v in lrs], rotation=45)
        ax.set_yticks(range(len(regs)), [f"{v:.3g}" for v in regs])
        ax.set(xlabel="initial learning rate", ylabel="regularization λ", title=title)
        bar = fig.colorbar(image, ax=ax, format=PercentFormatter(1.0))
        bar.set_label("validation accuracy")
        if (marks != "").any():
            fig.text(0.01, -0.1, f"Framed: a flagged run. *: ended below chance ({CHANCE:.0%}). ↑: validation cost ended "
                     f"more than {COST_RISE:.0%} above its lowest.", fontsize=8, ha="left", va="top")
        _save(fig, path)


def learning_curves(
    histories: Mapping[str, pd.DataFrame], path: str | Path, held_out: str = "val", held_out_label: str = "validation"
) -> None:
    """Cost and accuracy per epoch of every run on two shared panels: one colour per run,
    training solid and held-out dashed, so the runs compare on one scale."""
    with plt.rc_context(STYLE):
        fig, (cost_ax, acc_ax) = plt.subplots(1, 2, figsize=(7.5, 2.8))
        colors = plt.cm.tab10(np.arange(len(histories)) % 10)
        for color, (title, history) in zip(colors, histories.items()):
            for ax, column in ((cost_ax, "cost"), (acc_ax, "accuracy")):
                ax.plot(history["epoch"], history[f"train_{column}"], color=color, marker=".", label=f"{title}, training")
                ax.plot(history["epoch"], history[f"{held_out}_{column}"], color=color, marker=".", linestyle="--",
                        label=f"{title}, {held_out_label}")
        cost_ax.set(xlabel="epoch", ylabel="cost (cross-entropy + L2)", title="Cost")
        acc_ax.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
        _percent_axis(acc_ax)
        handles, labels = acc_ax.get_legend_handles_labels()
        fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, frameon=False)
        fig.tight_layout()
        _save(fig, path)


def transfer_curves(history: pd.DataFrame, labels: Mapping[str, str], path: str | Path) -> None:
    """Held-out accuracy per epoch of each configuration trained at full scale: the mean over its
    seeds as a line, the range of the seeds shaded. ``labels`` maps run ids to legend text, in order."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7.5, 3.0))
        colors = plt.cm.tab10(np.arange(len(labels)) % 10)
        for color, (run, label) in zip(colors, labels.items()):
            values = history[history["run_id"] == run].pivot(index="epoch", columns="replicate", values="val_accuracy")
            ax.fill_between(values.index, values.min(axis=1), values.max(axis=1), color=color, alpha=0.3, linewidth=0)
            ax.plot(values.index, values.mean(axis=1), color=color, marker=".", label=plain_text(label))
        ax.set(xlabel="epoch", ylabel="held-out accuracy", title="Full-scale training: held-out accuracy (mean over seeds, range shaded)")
        _percent_axis(ax)
        ax.legend(loc="lower right")
        fig.tight_layout()
        _save(fig, path)


def replicate_curves(histories: Sequence[pd.DataFrame], title: str, path: str | Path) -> None:
    """Cost and accuracy per epoch of replicate 0 (lines), inside the band that all replicates span.

    ``histories`` are the final trainings' histories (columns ``train_*`` and ``test_*``),
    replicate 0 first; epochs a diverged replicate did not reach leave the band narrower there.
    """
    first = histories[0]
    with plt.rc_context(STYLE):
        fig, (cost_ax, acc_ax) = plt.subplots(1, 2, figsize=(7.5, 2.8))
        for column, ax in (("cost", cost_ax), ("accuracy", acc_ax)):
            for split, color, label in (("train", TRAIN, "training"), ("test", HELD_OUT, "test")):
                values = pd.concat([h.set_index("epoch")[f"{split}_{column}"] for h in histories], axis=1)
                if len(histories) > 1:
                    ax.fill_between(values.index, values.min(axis=1), values.max(axis=1), color=color, alpha=0.3, linewidth=0,
                                    label=f"{label}, range of {len(histories)} replicates")
                ax.plot(first["epoch"], first[f"{split}_{column}"], color=color, label=f"{label}, replicate 0")
            ax.set(xlabel="epoch", title=f"{title}: {column}")
        cost_ax.set(ylabel="cost (cross-entropy + L2)")
        acc_ax.set(ylabel="accuracy")
        _percent_axis(acc_ax)
        acc_ax.legend(loc="lower right")
        fig.tight_layout()
        _save(fig, path)


def confusion_matrix(matrix: np.ndarray, class_names: Sequence[str], path: str | Path) -> None:
    """Counts of true (rows) against predicted (columns) classes, shaded by row fraction."""
    fractions = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    with plt.rc_context({**STYLE, "axes.grid": False}):
        fig, ax = plt.subplots(figsize=(5.6, 4.8))
        image = ax.imshow(fractions, cmap="Blues", vmin=0, vmax=1)
        for i in range(matrix.shape[0]):
            for j in range(matrix.shape[1]):
                color = label_colour(image.cmap(image.norm(fractions[i, j])))
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=8, color=color)
        ticks = range(len(class_names))
        labels = [plain_text(name) for name in class_names]
        ax.set_xticks(ticks, labels, rotation=45, ha="right")
        ax.set_yticks(ticks, labels)
        ax.set(xlabel="predicted class", ylabel="true class", title="Confusion matrix on the test set")
        bar = fig.colorbar(image, ax=ax, format=PercentFormatter(1.0), fraction=0.046, pad=0.04)
        bar.set_label("share of the true class")
        _save(fig, path)
