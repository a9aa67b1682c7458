"""The trained network's file: written by the final training, read back with every array checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..cifar import NUM_CLASSES, PIXELS
from ..io import save_npz
from ..network import Network, two_layer_network


class ModelFileError(ValueError):
    """A model file does not hold the study's two-layer network."""


MODEL_KEYS = ("W1", "b1", "W2", "b2", "mean", "regularization")


def _model_shapes(hidden: int) -> dict[str, tuple[int, ...]]:
    return {"W1": (hidden, PIXELS), "b1": (hidden, 1), "W2": (NUM_CLASSES, hidden), "b2": (NUM_CLASSES, 1), "mean": (PIXELS, 1), "regularization": ()}


# The model file's name of each parameter of the two-layer network.
PARAMETERS = {"W1": "linear1.W", "b1": "linear1.b", "W2": "linear2.W", "b2": "linear2.b"}


def save_model(path: str | Path, network: Network, mean: np.ndarray) -> None:
    """Write the trained two-layer ``network`` (one network, trained on inputs centred by ``mean``) as
    ``model.npz``: the arrays ``MODEL_KEYS`` that ``load_model`` reads."""
    if network.count != 1:
        raise ValueError(f"A model file holds one network, not {network.count}.")
    weights = network.weights(0)
    regularization = float(network.layers[0].regularization[0])
    save_npz(path, **{key: weights[name] for key, name in PARAMETERS.items()}, mean=mean, regularization=np.float64(regularization))


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
    net = two_layer_network(PIXELS, hidden_size=hidden, regularization=regularization, bias_init="zeros", weight_init="zeros",
                            mean=arrays["mean"])
    params = net.params()
    for key, name in PARAMETERS.items():
        params[name][0] = arrays[key]
    return net
