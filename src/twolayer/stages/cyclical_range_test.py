"""The learning-rate range test: one training whose rate rises linearly, scored on the way up.

The rate climbs from ``range_test.eta_min`` to ``range_test.eta_max`` over ``epochs`` epochs
(one rising half of a cyclical rate), at the later recipe's batch size and lambda
(``cyclical.regularization``). Where the held-out accuracy starts to rise, and where it
stops rising, bound the rates worth cycling between.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..cyclical import CyclicalRecipe, load_held_out_rows
from ..io import write_csv
from ..optimizers import SGD, Triangular
from ..seeding import derive_rng
from ..training import ROW_KEYS, train

log = logging.getLogger(__name__)


def cyclical_range_test(
    split_path: str | Path,
    recipe: CyclicalRecipe,
    settings: Mapping,
    regularization: float,
    validation: int,
    seed: int,
    outputs: Mapping[str, str | Path],
) -> pd.DataFrame:
    """Train once with the rising rate; write the scored rows (``outputs["table"]``) and the figure (``outputs["figure"]``)."""
    from .. import cyclical_plots

    train_split, held_out = load_held_out_rows(split_path, validation, recipe.dtype)
    rows = len(train_split.y)
    batch_size = recipe.batch_size_for(rows)
    steps = int(settings["epochs"]) * -(-rows // batch_size)
    schedule = Triangular(settings["eta_min"], settings["eta_max"], steps)
    scores = int(settings["scores"])
    score_steps = sorted({max(1, round(index * steps / scores)) for index in range(1, scores + 1)})
    rng = derive_rng(seed, "cyclical", "range_test")
    network = recipe.networks(train_split.X.shape[1], [regularization], [rng])
    log.info("range test: rate from %g to %g over %d steps on %d rows, scored %d times", schedule.eta_min, schedule.eta_max,
             steps, rows, len(score_steps))
    (result,) = train(network, SGD(schedule=schedule), train_split.X, train_split.y, steps=steps, batch_size=batch_size,
                      shuffle=True, rng=rng, X_val=held_out.X, y_val=held_out.y, score_steps=score_steps)
    table = pd.DataFrame(result.history)[list(ROW_KEYS)]
    write_csv(table, outputs["table"], columns=ROW_KEYS)
    cyclical_plots.range_test(table, (recipe.eta_min, recipe.eta_max), outputs["figure"])
    best = table.loc[table["val_accuracy"].idxmax()] if np.isfinite(table["val_accuracy"]).any() else None
    if best is not None:
        log.info("range test: held-out accuracy peaks at %.4f at rate %.4g (%s)", best["val_accuracy"], best["learning_rate"], result.status)
    return table
