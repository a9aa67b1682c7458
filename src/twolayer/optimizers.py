"""Update rules, decoupled from the layers: they see only dicts of arrays.

``step(params, grads)`` updates the arrays of ``params`` in place from ``grads``
(same keys) and counts the step; ``end_epoch()`` counts a finished epoch. The learning
rate of each step comes from a schedule of the steps and epochs done so far: a per-epoch
exponential decay (the earlier recipe) or a triangular cycle over the steps (the later,
cyclical one). State such as the momentum velocity is kept per parameter name inside the
optimizer. Every array has the networks on its leading axis (``twolayer.layers``), and
network p moves at its own rate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class ExponentialDecay:
    """The rate lr0 * decay**e, where e counts the finished epochs: constant within an epoch.

    ``learning_rate`` is one rate for every network or one per network (shape (P,)); ``decay``
    lies in (0, 1], 1 keeping the rate fixed. The rate is computed from the formula, not by
    repeated multiplication, so it is exactly ``lr0 * decay**epoch``.
    """

    def __init__(self, learning_rate: float | Sequence[float], decay: float = 1.0):
        rates = np.atleast_1d(np.asarray(learning_rate, dtype=np.float64))
        decay = float(decay)
        if rates.ndim != 1 or not np.all(np.isfinite(rates) & (rates > 0)):
            raise ValueError(f"learning_rate must be finite numbers > 0, one for all networks or one each, got {learning_rate}.")
        if not (0 < decay <= 1):
            raise ValueError(f"decay must lie in (0, 1], got {decay}.")
        self.initial_learning_rates, self.decay = rates, decay

    def rates(self, step: int, epoch: int) -> np.ndarray:
        """The rates of the next step, shape (P,) (or (1,) for all), after ``step`` steps and ``epoch`` epochs."""
        return self.initial_learning_rates * self.decay**epoch

    @property
    def hyperparameters(self) -> dict:
        return {"learning_rate": self.initial_learning_rates.tolist(), "decay": self.decay}


class Triangular:
    """A cyclical rate: from eta_min up to eta_max in ``half_cycle`` steps, back down in as many, and again.

    .. math:: \\eta_t = \\eta_{min} + (\\eta_{max} - \\eta_{min}) \\cdot (1 - |t / n_s - 2k - 1|),
              \\quad k = \\lfloor t / (2 n_s) \\rfloor

    for the step t = 0, 1, ... (steps done before it), n_s = ``half_cycle``: the rate is
    eta_min at t = 2 k n_s (a cycle's start and the previous one's end) and eta_max at
    t = (2k + 1) n_s. Every network takes the same rate (shape (1,)). A single rising half
    cycle is the learning-rate range test's schedule.
    """

    def __init__(self, eta_min: float, eta_max: float, half_cycle: int):
        eta_min, eta_max, half_cycle = float(eta_min), float(eta_max), int(half_cycle)
        if not (np.isfinite(eta_min) and np.isfinite(eta_max) and 0 < eta_min < eta_max):
            raise ValueError(f"A cyclical rate needs finite 0 < eta_min < eta_max, got eta_min {eta_min}, eta_max {eta_max}.")
        if half_cycle < 1:
            raise ValueError(f"A half cycle is 1 step or more, got {half_cycle}.")
        self.eta_min, self.eta_max, self.half_cycle = eta_min, eta_max, half_cycle

    def rates(self, step: int, epoch: int) -> np.ndarray:
        """The rate of step ``step`` (steps done before it), shape (1,); the epoch plays no part."""
        position = step % (2 * self.half_cycle)
        rising = position if position <= self.half_cycle else 2 * self.half_cycle - position
        return np.array([self.eta_min + (self.eta_max - self.eta_min) * rising / self.half_cycle])

    def cycle_ends(self, steps: int) -> list[int]:
        """The step counts, up to ``steps``, at which a cycle ends (the rate is back at eta_min)."""
        return list(range(2 * self.half_cycle, int(steps) + 1, 2 * self.half_cycle))

    @property
    def hyperparameters(self) -> dict:
        return {"eta_min": self.eta_min, "eta_max": self.eta_max, "half_cycle": self.half_cycle}


class SGD:
    """Vanilla stochastic gradient descent whose rate follows a schedule of the steps and epochs done.

    Parameters
    ----------
    learning_rate : float or sequence of float
        Initial rate lr0 > 0 of an ``ExponentialDecay``: one for every network, or one per network (shape (P,)).
    decay : float, optional
        That decay's factor in (0, 1] per epoch; 1 keeps the rate fixed. Default is 1.
    schedule : ExponentialDecay or Triangular, optional
        The schedule itself, instead of ``learning_rate`` and ``decay``.

    Notes
    -----
    .. math:: \\theta \\leftarrow \\theta - \\eta \\nabla_\\theta J

    with eta the schedule's rate for the steps and epochs done so far (``learning_rates``).
    """

    def __init__(self, learning_rate: float | Sequence[float] | None = None, decay: float = 1.0,
                 schedule: ExponentialDecay | Triangular | None = None):
        if (schedule is None) == (learning_rate is None):
            raise ValueError("Give an optimizer either a learning_rate (with its decay) or a schedule, not both.")
        self.schedule = schedule if schedule is not None else ExponentialDecay(learning_rate, decay)
        self.epoch = 0
        self.steps = 0

    @property
    def learning_rates(self) -> np.ndarray:
        """The rate of each network for the next step: shape (P,) (or (1,) for all)."""
        return self.schedule.rates(self.steps, self.epoch)

    def end_epoch(self) -> None:
        """Count a finished epoch (the decay schedule moves on)."""
        self.epoch += 1

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        rates = self.learning_rates
        for name, param in params.items():
            param -= self._scaled(rates, param) * grads[name]
        self.steps += 1

    @staticmethod
    def _scaled(rates: np.ndarray, param: np.ndarray) -> np.ndarray:
        """``rates`` (P,) shaped to scale each network's slice of ``param`` (P, ...)."""
        return rates.astype(param.dtype).reshape(-1, *(1,) * (param.ndim - 1))

    @property
    def hyperparameters(self) -> dict:
        return dict(self.schedule.hyperparameters)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v}' for k, v in self.hyperparameters.items())})"


class MomentumSGD(SGD):
    """SGD with momentum: each update keeps a fraction of the previous one.

    Parameters
    ----------
    learning_rate, decay, schedule
        As in ``SGD``.
    momentum : float
        m in [0, 1); 0 gives exactly the vanilla update.

    Notes
    -----
    .. math:: v \\leftarrow m v + \\eta_e \\nabla_\\theta J, \\qquad \\theta \\leftarrow \\theta - v
    """

    def __init__(self, learning_rate: float | Sequence[float] | None, momentum: float, decay: float = 1.0,
                 schedule: ExponentialDecay | Triangular | None = None):
        super().__init__(learning_rate, decay, schedule)
        momentum = float(momentum)
        if not (0 <= momentum < 1):
            raise ValueError(f"momentum must lie in [0, 1), got {momentum}.")
        self.momentum = momentum
        self.velocity: dict[str, np.ndarray] = {}

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        rates = self.learning_rates
        for name, param in params.items():
            v = self.velocity.get(name)
            if v is None:
                v = self.velocity[name] = np.zeros_like(param)
            v *= self.momentum
            v += self._scaled(rates, param) * grads[name]
            param -= v
        self.steps += 1

    @property
    def hyperparameters(self) -> dict:
        return {**super().hyperparameters, "momentum": self.momentum}
