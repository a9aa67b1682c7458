"""The later recipe: plain mini-batch SGD whose learning rate cycles, and lambda searched on a log scale.

The earlier recipe (the study's first part) steps with momentum 0.8 at a rate decayed once
per epoch, on mini-batches of 10,000 rows. The later one takes mini-batches of 100 rows and
no momentum; its rate rises linearly from eta_min to eta_max over ``half_cycle`` steps and
falls back as fast (``optimizers.Triangular``), and training lasts a whole number of such
cycles. Its held-out rows are the last rows of the full training split, so it trains on
all training images but those.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .network import Network, two_layer_network
from .optimizers import SGD, Triangular
from .preprocess import Split, centre, load_split
from .training import TrainingResult, train

# Times a training of the later recipe is scored per cycle (every quarter cycle: the rate's
# lowest, middle, highest and middle values). Scoring the 49,000 training rows costs about a
# third of an epoch's steps, so four scores per four-epoch cycle add a third to the training.
SCORES_PER_CYCLE = 4


@dataclass(frozen=True)
class CyclicalRecipe:
    """The ``cyclical`` section of the configuration, with the initializers and dtype of ``training``."""

    hidden_size: int
    batch_size: int
    eta_min: float
    eta_max: float
    half_cycle: int | str  # steps, or "auto": 2 * floor(training rows / batch_size)
    weight_init: str
    bias_init: str
    dtype: str

    @classmethod
    def from_config(cls, config: Mapping) -> "CyclicalRecipe":
        cyclical, training = config["cyclical"], config["training"]
        return cls(cyclical["hidden_size"], cyclical["batch_size"], cyclical["eta_min"], cyclical["eta_max"],
                   cyclical["half_cycle"], training["weight_init"], training["bias_init"], training["dtype"])

    def batch_size_for(self, rows: int) -> int:
        return min(int(self.batch_size), int(rows))

    def half_cycle_steps(self, rows: int) -> int:
        """n_s: the configured number, or 2 * floor(rows / batch_size) (two epochs, as the later recipe sets it)."""
        if self.half_cycle == "auto":
            return 2 * (int(rows) // self.batch_size_for(rows))
        return int(self.half_cycle)

    def schedule(self, rows: int) -> Triangular:
        return Triangular(self.eta_min, self.eta_max, self.half_cycle_steps(rows))

    def networks(self, input_size: int, regularizations: Sequence[float], rngs: Sequence[np.random.Generator],
                 hidden_size: int | None = None) -> Network:
        """Fresh networks side by side, network p with ``regularizations[p]`` drawn from ``rngs[p]``, for centred inputs."""
        return two_layer_network(
            input_size, hidden_size=hidden_size or self.hidden_size, regularization=[[value] for value in regularizations],
            weight_init=self.weight_init, bias_init=self.bias_init, rngs=rngs, dtype=np.dtype(self.dtype),
        )

    def train(
        self,
        train_split: Split,
        held_out: Split,
        regularizations: Sequence[float],
        rngs: Sequence[np.random.Generator],
        batch_rng: np.random.Generator,
        cycles: int,
        hidden_size: int | None = None,
        on_score: Callable[[Network, int], None] | None = None,
    ) -> tuple[Network, list[TrainingResult], Triangular]:
        """Train one network per regularization for ``cycles`` cycles, side by side; scored ``SCORES_PER_CYCLE`` times a cycle.

        Both splits are centred. Network p starts from ``rngs[p]``; all see the mini-batches
        ``batch_rng`` orders and take the same cyclical rate. ``on_score(network, steps)`` is
        called after each scoring (a cycle ends at every ``SCORES_PER_CYCLE``-th one).
        """
        rows = len(train_split.y)
        schedule = self.schedule(rows)
        steps = 2 * schedule.half_cycle * int(cycles)
        score_steps = [round(index * 2 * schedule.half_cycle / SCORES_PER_CYCLE) for index in range(1, SCORES_PER_CYCLE * int(cycles) + 1)]
        network = self.networks(train_split.X.shape[1], regularizations, rngs, hidden_size)
        results = train(
            network, SGD(schedule=schedule), train_split.X, train_split.y, steps=steps, batch_size=self.batch_size_for(rows),
            shuffle=True, rng=batch_rng, X_val=held_out.X, y_val=held_out.y, score_steps=score_steps,
            on_score=None if on_score is None else (lambda done: on_score(network, done)),
        )
        return network, results, schedule


def load_held_out_rows(path: str | Path, held_out_rows: int, dtype: str) -> tuple[Split, Split]:
    """A split's rows but its last ``held_out_rows`` for training, those last rows held out; both centred
    with the training rows' mean (the held-out rows play no part in it)."""
    whole = load_split(path, np.dtype(dtype))
    rows = len(whole.y) - int(held_out_rows)
    if rows < 1:
        raise ValueError(f"{path} holds {len(whole.y)} rows: holding out its last {held_out_rows} leaves none to train on. "
                         "Lower cyclical.validation and cyclical.final_validation below the rows of splits.final_train.")
    X_train, y_train = whole.X[:rows], whole.y[:rows]
    mean = (X_train.mean(axis=0, dtype=np.float64))[:, None]
    train_split = centre(Split(X=X_train, y=y_train, mean=mean), mean)
    held_out = centre(Split(X=whole.X[rows:], y=whole.y[rows:], mean=mean), mean)
    return train_split, held_out


def draw_log_uniform(rng: np.random.Generator, count: int, l_min: float, l_max: float) -> np.ndarray:
    """``count`` values 10^l with l drawn uniformly in [l_min, l_max], sorted: shape (count,)."""
    if not l_min < l_max:
        raise ValueError(f"l_min must be below l_max, got {l_min} and {l_max}.")
    return np.sort(10.0 ** rng.uniform(l_min, l_max, size=int(count)))


def fine_range(top_regularizations: Sequence[float], widen: float) -> tuple[float, float]:
    """The fine search's [l_min, l_max]: the top runs' log10 lambda, reached past by ``widen`` on each side."""
    values = np.asarray(top_regularizations, dtype=np.float64)
    if values.size == 0 or not np.all(np.isfinite(values) & (values > 0)):
        raise ValueError(f"The fine search needs the coarse top runs' lambdas > 0, got {list(top_regularizations)}.")
    exponents = np.log10(values)
    low, high = float(exponents.min()) - float(widen), float(exponents.max()) + float(widen)
    return (low, high) if low < high else (low - 0.5, high + 0.5)


def read_table(path: str | Path, numeric: Sequence[str], rerun: str) -> "pd.DataFrame":
    """A table the later recipe's stages wrote, checked: readable, not empty, ``numeric`` columns present and finite.

    ``rerun`` names the stage that writes it, for the error's fix.
    """
    import pandas as pd

    try:
        table = pd.read_csv(path)
    except (OSError, ValueError) as error:
        raise ValueError(f"{path} cannot be read as a table ({error}); rerun {rerun} (add `--forcerun {rerun}`).") from None
    missing = sorted(set(numeric) - set(table.columns))
    if missing or table.empty:
        raise ValueError(f"{path} must have rows with {', '.join(numeric)}; it has {len(table)} rows"
                         f"{' and lacks ' + ', '.join(missing) if missing else ''}. Rerun {rerun} (add `--forcerun {rerun}`).")
    values = table[list(numeric)].apply(pd.to_numeric, errors="coerce")
    if not np.isfinite(values.to_numpy(dtype=np.float64)).all():
        raise ValueError(f"{path}: {', '.join(numeric)} must be finite numbers; rerun {rerun} (add `--forcerun {rerun}`).")
    table[list(numeric)] = values.astype(np.float64)
    return table
