"""Figures of the later recipe: its rate, its training over the cycles, its search, and how it compares."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from matplotlib.ticker import PercentFormatter

from .plots import HELD_OUT, STYLE, TRAIN, _save, plt

LATER, EARLIER = "#1f77b4", "#ff7f0e"
# The lambda search's axis shows accuracies down to this far below the best run; runs below it are
# drawn on its lower edge as triangles, so that a few failed values do not squeeze the rest.
SEARCH_SPAN = 0.05


def _percent_axis(ax) -> None:
    """Percent ticks with as many decimals as the axis's span needs: none from 5 points up, else one."""
    low, high = ax.get_ylim()
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0 if high - low >= 0.05 else 1))


def _cycle_lines(ax, cycle_ends: Sequence[int]) -> None:
    for step in cycle_ends:
        ax.axvline(step, color="grey", linewidth=0.6, linestyle=":")


def schedule(rates: pd.DataFrame, cycle_ends: Sequence[int], path: str | Path) -> None:
    """The learning rate of every step (columns step, learning_rate); dotted lines at the cycle ends."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.0, 2.2))
        ax.plot(rates["step"], rates["learning_rate"], color=LATER, linewidth=1.0)
        _cycle_lines(ax, cycle_ends)
        ax.set_xlabel("update step")
        ax.set_ylabel("learning rate")
        ax.set_title("The cyclical learning rate (dotted: cycle ends)")
        _save(fig, path)


def training_curves(histories: Sequence[pd.DataFrame], cycle_ends: Sequence[int], path: str | Path) -> None:
    """Cost and accuracy over the update steps, training and held-out rows: the mean over the replicates,
    shaded between their lowest and highest; dotted lines at the cycle ends."""
    frame = pd.concat(histories, ignore_index=True)
    grouped = frame.groupby("step")
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(7.0, 2.8))
        for ax, quantity, label in ((axes[0], "cost", "cost (cross-entropy + L2)"), (axes[1], "accuracy", "accuracy")):
            for prefix, colour, name in (("train", TRAIN, "training rows"), ("val", HELD_OUT, "held-out rows")):
                column = f"{prefix}_{quantity}"
                mean, low, high = grouped[column].mean(), grouped[column].min(), grouped[column].max()
                ax.plot(mean.index, mean.to_numpy(), color=colour, label=name, marker=".", markersize=3)
                ax.fill_between(mean.index, low.to_numpy(), high.to_numpy(), color=colour, alpha=0.2, linewidth=0)
            _cycle_lines(ax, cycle_ends)
            ax.set_xlabel("update step")
            ax.set_ylabel(label)
        _percent_axis(axes[1])
        axes[1].legend(loc="lower right")
        fig.suptitle(f"Training over the cycles ({int(frame['step'].max()):,} steps; mean of {len(histories)} seeds, shaded: their range)")
        fig.tight_layout()
        _save(fig, path)


def lambda_search(levels: Mapping[str, pd.DataFrame], chosen: float, path: str | Path) -> None:
    """Held-out accuracy against lambda (log scale) for each search level; the chosen lambda circled."""
    markers = {"coarse": ("o", "#7f7f7f"), "fine": ("x", LATER)}
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.0, 3.2))
        every = pd.concat(levels.values())
        top = float(every.loc[every["status"] == "ok", "val_accuracy"].max())
        floor = top - SEARCH_SPAN
        below = 0
        for level, runs in levels.items():
            marker, colour = markers.get(level, ("s", "black"))
            ok = runs[runs["status"] == "ok"]
            shown = ok[ok["val_accuracy"] >= floor]
            ax.scatter(shown["regularization"], shown["val_accuracy"], marker=marker, color=colour, label=f"{level} search", s=22)
            low = ok[ok["val_accuracy"] < floor]
            below += len(low)
            ax.scatter(low["regularization"], np.full(len(low), floor), marker="v", color=colour, s=30, clip_on=False)
        best = every[np.isclose(every["regularization"], chosen)]
        ax.scatter(best["regularization"], best["val_accuracy"], s=110, facecolors="none", edgecolors="black", label="chosen")
        ax.set_ylim(floor, top + SEARCH_SPAN / 10)
        if below:
            ax.text(0.99, 0.02, f"▼ {below} run{'s' if below > 1 else ''} below {100 * floor:.1f}%", transform=ax.transAxes,
                    ha="right", va="bottom", fontsize=8)
        ax.set_xscale("log")
        ax.set_xlabel(r"$\lambda$ (L2 regularization)")
        ax.set_ylabel("held-out accuracy")
        _percent_axis(ax)
        ax.legend(loc="best")
        ax.set_title(r"The random search of $\lambda$ on a log scale")
        _save(fig, path)


def head_to_head(groups: Mapping[str, Sequence[float]], published: tuple[float, float] | None, path: str | Path) -> None:
    """Each group's test accuracies, one dot per seed, with the group's mean; the students' published range shaded."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.4, 2.8))
        for index, (label, values) in enumerate(groups.items()):
            values = np.asarray(values, dtype=float)
            colour = LATER if index == 0 else EARLIER
            ax.scatter(np.full(len(values), index), values, color=colour, s=22, zorder=3)
            ax.hlines(values.mean(), index - 0.25, index + 0.25, color=colour, linewidth=2)
        if published is not None:
            ax.axhspan(published[0] - 0.0005, published[1] + 0.0005, color="grey", alpha=0.3,
                       label="students' reported final accuracy")
            ax.legend(loc="lower left")
        ax.set_xticks(range(len(groups)), list(groups), fontsize=8)
        ax.set_xlim(-0.6, len(groups) - 0.4)
        ax.set_ylabel("test accuracy")
        _percent_axis(ax)
        ax.set_title("Test accuracy of each seed (bar: the mean)")
        _save(fig, path)


def widths(per_seed: pd.DataFrame, recipe: str, path: str | Path) -> None:
    """Test accuracy against the hidden layer's width (columns hidden_size, test_accuracy): each seed, the mean ± std."""
    grouped = per_seed.groupby("hidden_size")["test_accuracy"]
    mean, std = grouped.mean(), grouped.std()
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5.2, 3.0))
        ax.scatter(per_seed["hidden_size"], per_seed["test_accuracy"], color="#7f7f7f", s=14, label="one seed")
        ax.errorbar(mean.index, mean.to_numpy(), yerr=std.to_numpy(), color=LATER, marker="o", capsize=3, label="mean ± std")
        ax.set_xscale("log")
        ax.set_xticks(list(mean.index), [str(size) for size in mean.index])
        ax.minorticks_off()
        ax.set_xlabel("hidden units")
        ax.set_ylabel("test accuracy")
        _percent_axis(ax)
        ax.legend(loc="lower right")
        ax.set_title(f"Width of the hidden layer ({recipe})")
        _save(fig, path)


def range_test(table: pd.DataFrame, configured: tuple[float, float], path: str | Path) -> None:
    """Accuracy against the learning rate as it rises step by step; the configured [eta_min, eta_max] shaded."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5.2, 3.0))
        ax.plot(table["learning_rate"], table["train_accuracy"], color=TRAIN, marker=".", label="training rows")
        ax.plot(table["learning_rate"], table["val_accuracy"], color=HELD_OUT, marker=".", label="held-out rows")
        ax.axvspan(*configured, color="grey", alpha=0.2, label=r"configured $\eta_{min}$ to $\eta_{max}$")
        ax.set_xlabel("learning rate (rising linearly with the steps)")
        ax.set_ylabel("accuracy")
        _percent_axis(ax)
        ax.legend(loc="best")
        ax.set_title("Learning-rate range test")
        _save(fig, path)
