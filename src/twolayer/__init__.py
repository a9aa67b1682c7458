"""A two-layer neural network for CIFAR-10, written from scratch in NumPy."""

from .gradcheck import check_network, compare, numeric_gradient, relative_errors
from .initializers import INITIALIZERS, get_initializer
from .layers import BlockLinear, Layer, Linear, MeanSubtraction, ReLU, Softmax
from .network import Network, build_network, one_layer_network, packed_two_layer_network, two_layer_network, unpack
from .optimizers import SGD, MomentumSGD
from .training import TrainingResult, evaluate, evaluate_groups, train, train_groups

__all__ = [
    "BlockLinear",
    "INITIALIZERS",
    "Layer",
    "Linear",
    "MeanSubtraction",
    "MomentumSGD",
    "Network",
    "ReLU",
    "SGD",
    "Softmax",
    "TrainingResult",
    "build_network",
    "check_network",
    "compare",
    "evaluate",
    "get_initializer",
    "numeric_gradient",
    "one_layer_network",
    "packed_two_layer_network",
    "relative_errors",
    "train",
    "train_groups",
    "two_layer_network",
    "unpack",
    "evaluate_groups",
]
