"""Initializers for weight matrices and bias vectors.

Each initializer is a callable ``init(shape, rng, dtype) -> ndarray`` that draws only
from the ``numpy.random.Generator`` it is handed, so a run is reproducible from its
seed. Shapes follow the layers: a weight matrix is (fan_out, fan_in).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class Initializer:
    """Base class: subclasses implement ``_draw(shape, rng)`` in float64."""

    needs_rng = True

    def __call__(self, shape: tuple[int, int], rng: np.random.Generator | None, dtype=np.float64) -> np.ndarray:
        if self.needs_rng and rng is None:
            raise ValueError(
                f"Initializer {self} draws random numbers: pass rng=numpy.random.default_rng(seed)."
            )
        return self._draw(tuple(shape), rng).astype(dtype, copy=False)

    def _draw(self, shape, rng) -> np.ndarray:
        raise NotImplementedError


@dataclass(frozen=True)
class Zeros(Initializer):
    """All zeros; the usual choice for biases."""

    needs_rng = False

    def _draw(self, shape, rng):
        return np.zeros(shape)

    def __str__(self):
        return "zeros"


@dataclass(frozen=True)
class Gaussian(Initializer):
    """Zero-mean normal values with a fixed standard deviation.

    Notes
    -----
    .. math:: W_{ij} \\sim \\mathcal{N}(0, \\sigma^2)
    """

    std: float = 0.01

    def __post_init__(self):
        if not np.isfinite(self.std) or self.std <= 0:
            raise ValueError(f"Gaussian initializer needs a standard deviation > 0, got {self.std}.")

    def _draw(self, shape, rng):
        return rng.normal(0.0, self.std, size=shape)

    def __str__(self):
        return f"gaussian(std={self.std:g})"


def _fans(shape) -> tuple[int, int]:
    fan_out, fan_in = shape
    return fan_in, fan_out


@dataclass(frozen=True)
class Xavier(Initializer):
    """Xavier/Glorot normal values, scaled to the layer's fan-in and fan-out.

    Notes
    -----
    .. math:: W_{ij} \\sim \\mathcal{N}\\left(0, \\frac{2}{n_{in} + n_{out}}\\right)

    This is the variance the original study's code used.
    """

    def _draw(self, shape, rng):
        fan_in, fan_out = _fans(shape)
        return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=shape)

    def __str__(self):
        return "xavier"


@dataclass(frozen=True)
class XavierUniform(Initializer):
    """Xavier/Glorot uniform values with the same variance as ``Xavier``.

    Notes
    -----
    .. math:: W_{ij} \\sim \\mathcal{U}(-a, a), \\quad a = \\sqrt{\\frac{6}{n_{in} + n_{out}}}
    """

    def _draw(self, shape, rng):
        fan_in, fan_out = _fans(shape)
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=shape)

    def __str__(self):
        return "xavier_uniform"


@dataclass(frozen=True)
class FanOut(Initializer):
    """Normal values with standard deviation 1/sqrt(fan_out), the output size.

    The original study's code drew its weights this way when its gradient-check table was
    made (it later moved to ``xavier``); the gradient check runs it to set that table's
    magnitudes beside this study's.

    Notes
    -----
    .. math:: W_{ij} \\sim \\mathcal{N}\\left(0, \\frac{1}{n_{out}}\\right)
    """

    def _draw(self, shape, rng):
        _, fan_out = _fans(shape)
        return rng.normal(0.0, 1.0 / np.sqrt(fan_out), size=shape)

    def __str__(self):
        return "fan_out"


@dataclass(frozen=True)
class He(Initializer):
    """He/Kaiming normal values, suited to ReLU layers.

    Notes
    -----
    .. math:: W_{ij} \\sim \\mathcal{N}\\left(0, \\frac{2}{n_{in}}\\right)
    """

    def _draw(self, shape, rng):
        fan_in, _ = _fans(shape)
        return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)

    def __str__(self):
        return "he"


INITIALIZERS = {
    "zeros": Zeros,
    "gaussian": Gaussian,
    "xavier": Xavier,
    "xavier_uniform": XavierUniform,
    "he": He,
    "fan_out": FanOut,
}


def get_initializer(spec: str | Initializer, **kwargs) -> Initializer:
    """Return an initializer from its name (keyword arguments go to its constructor).

    Raises ValueError listing the valid names for an unknown one.
    """
    if isinstance(spec, Initializer):
        return spec
    try:
        cls = INITIALIZERS[spec]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown initializer {spec!r}; valid names are: {', '.join(INITIALIZERS)}."
        ) from None
    return cls(**kwargs)
