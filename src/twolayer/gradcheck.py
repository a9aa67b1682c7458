"""Backpropagation checked against numerical gradients: one numerical gradient, one relative error.

Two tables are built on them. The gate, which stops the workflow, compares backpropagation
with centred differences of the network's own cost on a seeded cover of every row and
column of each parameter. The published table reproduces the original study's: its
statistics of the two gradients over every entry, by the finite differences it used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .network import Network

METHODS = ("centered", "forward")

# The published table's columns, in its order.
STATISTICS = (
    "sum_abs_diff",
    "mean_abs_analytic",
    "mean_abs_numeric",
    "min_abs_analytic",
    "min_abs_numeric",
    "max_abs_analytic",
    "max_abs_numeric",
    "max_rel_error",
)

# Gradients smaller than this are compared in absolute terms: centred differences of the
# study's cost carry an absolute noise of about eps |f| / h + h^2 |f'''| / 6, some 1e-10 at
# h = 1e-5, so a floor of 1e-6 keeps that noise below 1e-4 in relative terms.
FLOOR = 1e-6
# Matrices with at most this many entries are checked whole by the gate.
GATE_FULL_LIMIT = 1024
# Besides a seeded cover of every row and column, the gate always checks the entries of
# largest analytic gradient: a wrong gradient shows there first.
GATE_LARGEST = 32


def numerical_gradient(cost: Callable[[], float], array: np.ndarray, entries: np.ndarray, h: float,
                       method: str = "centered") -> np.ndarray:
    """d cost / d array at the flat ``entries`` of ``array``, perturbed in place one at a time and restored.

    ``centered``: (f(x + h) - f(x - h)) / 2h, error O(h^2); ``forward``: (f(x + h) - f(x)) / h,
    error O(h), as the original study computed its table. Returns float64 of shape (len(entries),).
    """
    if method not in METHODS:
        raise ValueError(f"Unknown finite-difference method {method!r}; valid ones are: {', '.join(METHODS)}.")
    if not h > 0:
        raise ValueError(f"The step h must be > 0, got {h}.")
    flat = array.reshape(-1)  # a view: writing into it perturbs the parameter itself
    base = cost() if method == "forward" else None
    numeric = np.empty(len(entries))
    for k, i in enumerate(entries):
        old = flat[i]
        flat[i] = old + h
        plus = cost()
        if method == "forward":
            numeric[k] = (plus - base) / h
        else:
            flat[i] = old - h
            numeric[k] = (plus - cost()) / (2 * h)
        flat[i] = old
    return numeric


def relative_error(analytic: np.ndarray, numeric: np.ndarray, floor: float = FLOOR) -> np.ndarray:
    """Element-wise ``|a - n| / max(|a|, |n|, floor)``."""
    return np.abs(analytic - numeric) / np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), floor)


def _gradients(network: Network, X: np.ndarray, y: np.ndarray) -> tuple[Callable[[], float], dict[str, np.ndarray]]:
    """The cost of the network's one network (float64) as a function of its parameters, and backpropagation's
    gradients of it, each without the network axis."""
    if network.count != 1 or any(p.dtype != np.float64 for p in network.params().values()):
        raise ValueError("The gradient check takes one float64 network: float32 rounding drowns the differences.")
    network.forward(X)
    network.backward(y)
    return (lambda: float(network.costs(X, y)[0])), {name: grad[0].astype(np.float64) for name, grad in network.grads().items()}


def gate_entries(analytic: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Flat indices of the entries the gate checks in a parameter whose gradient is ``analytic``.

    Every entry of a matrix of at most ``GATE_FULL_LIMIT`` entries. Of a larger (R, C)
    matrix: max(R, C) entries that together touch every row and every column (rows and
    columns each cycled in a seeded random order and paired), plus the ``GATE_LARGEST``
    entries of largest |gradient|. Sorted, without repeats.
    """
    size = analytic.size
    if size <= GATE_FULL_LIMIT:
        return np.arange(size)
    R, C = analytic.shape[0], int(np.prod(analytic.shape[1:]))
    count = max(R, C)
    cover = rng.permutation(np.arange(count) % R) * C + rng.permutation(np.arange(count) % C)
    largest = np.argpartition(np.abs(analytic).reshape(-1), -GATE_LARGEST)[-GATE_LARGEST:]
    return np.unique(np.concatenate([cover, largest]))


@dataclass(frozen=True)
class GateValues:
    """What the gate compared for one parameter: flat ``entries`` checked, ``analytic`` and ``numeric`` there."""

    shape: tuple[int, ...]
    entries: np.ndarray
    analytic: np.ndarray
    numeric: np.ndarray


def gate_values(network: Network, X: np.ndarray, y: np.ndarray, h: float, rng: np.random.Generator) -> dict[str, GateValues]:
    """Backpropagation's and centred differences' gradients of the network's cost on each parameter's gate entries."""
    cost, analytic = _gradients(network, X, y)
    values = {}
    for name, param in network.params().items():
        entries = gate_entries(analytic[name], rng)
        values[name] = GateValues(analytic[name].shape, entries, analytic[name].reshape(-1)[entries],
                                  numerical_gradient(cost, param[0], entries, h))
    return values


def gate_network(network: Network, X: np.ndarray, y: np.ndarray, h: float, rng: np.random.Generator) -> list[dict]:
    """The gate: backpropagation against centred differences of the network's cost (``gate_values``).

    Returns one dict per parameter: ``parameter``, ``shape``, ``entries`` (how many were
    checked), ``max_rel_error``, and the worst entry's ``row``, ``column``, ``analytic``
    and ``numeric`` values.
    """
    rows = []
    for name, values in gate_values(network, X, y, h, rng).items():
        errors = relative_error(values.analytic, values.numeric)
        worst = int(np.argmax(errors))
        index = np.unravel_index(values.entries[worst], values.shape)
        rows.append({"parameter": name, "shape": " x ".join(map(str, values.shape)), "entries": len(values.entries),
                     "max_rel_error": float(errors[worst]), "row": int(index[0]),
                     "column": int(index[1]) if len(index) > 1 else 0,
                     "analytic": float(values.analytic[worst]), "numeric": float(values.numeric[worst])})
    return rows


def published_table(network: Network, X: np.ndarray, y: np.ndarray, h: float, method: str) -> list[dict]:
    """The original study's table: statistics of backpropagation's and ``method``'s gradients over every entry
    of each parameter (keys ``parameter``, ``shape`` and ``STATISTICS``)."""
    cost, analytic = _gradients(network, X, y)
    rows = []
    for name, param in network.params().items():
        a = analytic[name]
        n = numerical_gradient(cost, param[0], np.arange(a.size), h, method).reshape(a.shape)
        rows.append({"parameter": name, "shape": " x ".join(map(str, a.shape)),
                     "sum_abs_diff": float(np.sum(np.abs(a - n))),
                     "mean_abs_analytic": float(np.abs(a).mean()), "mean_abs_numeric": float(np.abs(n).mean()),
                     "min_abs_analytic": float(np.abs(a).min()), "min_abs_numeric": float(np.abs(n).min()),
                     "max_abs_analytic": float(np.abs(a).max()), "max_abs_numeric": float(np.abs(n).max()),
                     "max_rel_error": float(relative_error(a, n).max())})
    return rows
