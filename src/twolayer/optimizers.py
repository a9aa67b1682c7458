"""Update rules, decoupled from the layers: they see only dicts of arrays.

``step(params, grads)`` updates the arrays of ``params`` in place from ``grads``
(same keys); ``end_epoch()`` advances the learning-rate schedule. State such as the
momentum velocity is kept per parameter name inside the optimizer. Every array has the
networks on its leading axis (``twolayer.layers``), and network p moves at its own rate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class SGD:
    """Vanilla stochastic gradient descent with per-epoch learning-rate decay.

    Parameters
    ----------
    learning_rate : float or sequence of float
        Initial rate lr0 > 0: one for every network, or one per network (shape (P,)).
    decay : float, optional
        Factor in (0, 1] applied once per epoch; 1 keeps the rate fixed. Default is 1.

    Notes
    -----
    .. math:: \\theta \\leftarrow \\theta - \\eta_e \\nabla_\\theta J, \\qquad \\eta_e = \\eta_0 \\cdot d^{e}

    where e counts the finished epochs. The rate is computed from the formula, not by
    repeated multiplication, so it is exactly ``lr0 * decay**epoch``.
    """

    def __init__(self, learning_rate: float | Sequence[float], decay: float = 1.0):
        rates = np.atleast_1d(np.asarray(learning_rate, dtype=np.float64))
        decay = float(decay)
        if rates.ndim != 1 or not np.all(np.isfinite(rates) & (rates > 0)):
            raise ValueError(f"learning_rate must be finite numbers > 0, one for all networks or one each, got {learning_rate}.")
        if not (0 < decay <= 1):
            raise ValueError(f"decay must lie in (0, 1], got {decay}.")
        self.initial_learning_rates = rates
        self.decay = decay
        self.epoch = 0

    @property
    def learning_rates(self) -> np.ndarray:
        """The rate of each network in force for the current epoch: shape (P,) (or (1,) for all)."""
        return self.initial_learning_rates * self.decay**self.epoch

    def end_epoch(self) -> None:
        """Advance the decay schedule by one epoch."""
        self.epoch += 1

    def _rates(self, param: np.ndarray) -> np.ndarray:
        """The current rates shaped to scale each network's slice of ``param`` (P, ...)."""
        return self.learning_rates.astype(param.dtype).reshape(-1, *(1,) * (param.ndim - 1))

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        for name, param in params.items():
            param -= self._rates(param) * grads[name]

    @property
    def hyperparameters(self) -> dict:
        return {"learning_rate": self.initial_learning_rates.tolist(), "decay": self.decay}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v}' for k, v in self.hyperparameters.items())})"


class MomentumSGD(SGD):
    """SGD with momentum: each update keeps a fraction of the previous one.

    Parameters
    ----------
    learning_rate, decay
        As in ``SGD``.
    momentum : float
        m in [0, 1); 0 gives exactly the vanilla update.

    Notes
    -----
    .. math:: v \\leftarrow m v + \\eta_e \\nabla_\\theta J, \\qquad \\theta \\leftarrow \\theta - v
    """

    def __init__(self, learning_rate: float | Sequence[float], momentum: float, decay: float = 1.0):
        super().__init__(learning_rate, decay)
        momentum = float(momentum)
        if not (0 <= momentum < 1):
            raise ValueError(f"momentum must lie in [0, 1), got {momentum}.")
        self.momentum = momentum
        self.velocity: dict[str, np.ndarray] = {}

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        for name, param in params.items():
            v = self.velocity.get(name)
            if v is None:
                v = self.velocity[name] = np.zeros_like(param)
            v *= self.momentum
            v += self._rates(param) * grads[name]
            param -= v

    @property
    def hyperparameters(self) -> dict:
        return {**super().hyperparameters, "momentum": self.momentum}
