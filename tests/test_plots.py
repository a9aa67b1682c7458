"""The figures' labels can be read on every colour their cells take."""

import matplotlib
import numpy as np
import pandas as pd
import pytest

from twolayer import plots
from twolayer.plots import contrast_ratio, label_colour


def test_contrast_ratio_spans_one_to_twenty_one():
    assert contrast_ratio("black", "white") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#777777") == pytest.approx(1.0)


@pytest.mark.parametrize("cmap", ["viridis", "Blues"])
def test_a_label_contrasts_with_every_colour_of_the_figures_maps(cmap):
    colours = matplotlib.colormaps[cmap](np.linspace(0, 1, 256))
    assert min(contrast_ratio(label_colour(colour), colour) for colour in colours) >= 4.5


def test_every_heat_map_label_flagged_or_not_contrasts_with_its_cell(monkeypatch, tmp_path):
    shown = {}
    monkeypatch.setattr(plots, "_save", lambda fig, path: shown.setdefault("figure", fig))
    rows = [(lr, reg) for lr in (0.5, 0.1, 0.01) for reg in (0.001, 0.01, 0.1)]
    accuracy = np.linspace(0.09, 0.40, len(rows))
    summary = pd.DataFrame({"learning_rate": [lr for lr, _ in rows], "regularization": [reg for _, reg in rows],
                            "val_accuracy": accuracy, "status": "ok", "below_chance": accuracy < 0.1,
                            "cost_rose": np.arange(len(rows)) % 4 == 1})
    plots.search_heatmap(summary, "grid", tmp_path / "heatmap.png")
    ax = shown["figure"].axes[0]
    image = ax.images[0]
    labels = [text for text in ax.texts if text.get_text().endswith(("%", "*", "↑"))]
    assert len(labels) == len(rows)
    flagged = [text for text in labels if text.get_text().endswith(("*", "↑"))]
    assert {text.get_text()[-1] for text in flagged} == {"*", "↑"}
    for text in labels:
        column, row = (int(round(v)) for v in text.get_position())
        cell = image.cmap(image.norm(image.get_array()[row, column]))
        assert contrast_ratio(text.get_color(), cell) >= 4.5, text.get_text()
    assert len(ax.patches) == len(flagged)  # every flagged cell is framed
