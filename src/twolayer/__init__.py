"""A two-layer neural network for CIFAR-10, written from scratch in NumPy.

The names below are imported on first use, not when the package is: a workflow job
that imports one stage loads only the modules that stage needs, which is what the
workflow's derived code dependencies (``twolayer.codedeps``) count on.
"""

import importlib

_EXPORTS = {
    "check_network": "gradcheck",
    "compare": "gradcheck",
    "numeric_gradient": "gradcheck",
    "relative_errors": "gradcheck",
    "INITIALIZERS": "initializers",
    "get_initializer": "initializers",
    "Layer": "layers",
    "Linear": "layers",
    "MeanSubtraction": "layers",
    "ReLU": "layers",
    "Softmax": "layers",
    "Network": "network",
    "build_network": "network",
    "one_layer_network": "network",
    "two_layer_network": "network",
    "Split": "preprocess",
    "load_split": "preprocess",
    "SGD": "optimizers",
    "MomentumSGD": "optimizers",
    "TrainingResult": "training",
    "evaluate": "training",
    "train": "training",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'twolayer' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
