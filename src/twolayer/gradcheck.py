"""Numeric gradients by finite differences, and their comparison with backpropagation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .layers import Linear
from .network import Network

METHODS = ("forward", "centered")

# Columns of one comparison row, in the order of the results table.
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

# Entries whose magnitude |a| + |n| is below this fraction of the matrix's largest are
# measured against that floor instead of their own size: the finite-difference noise
# (about h |f''| / 2 + eps |f| / h in absolute terms) is the same for every entry, so
# dividing it by a near-zero gradient would report noise as a large relative error.
RELATIVE_ERROR_FLOOR = 1e-3


def numeric_gradient(
    f: Callable[[], float], array: np.ndarray, h: float = 1e-6, method: str = "forward"
) -> np.ndarray:
    """Estimate d f / d array element by element, perturbing ``array`` in place.

    Parameters
    ----------
    f : callable
        Returns the scalar cost for the current contents of ``array``.
    array : ndarray
        The parameter to differentiate against; restored exactly after each element.
    h : float
        Step size. Default is 1e-6.
    method : "forward" or "centered"
        ``(f(x+h) - f(x)) / h`` (one extra evaluation per element, error O(h)) or
        ``(f(x+h) - f(x-h)) / 2h`` (two, error O(h^2)).

    Returns
    -------
    ndarray of the shape of ``array``, in float64.
    """
    if method not in METHODS:
        raise ValueError(f"Unknown finite-difference method {method!r}; valid ones are: {', '.join(METHODS)}.")
    if not h > 0:
        raise ValueError(f"The step h must be > 0, got {h}.")
    grad = np.zeros(array.shape, dtype=np.float64)
    flat = array.reshape(-1)  # a view: writing into it perturbs the parameter itself
    out = grad.reshape(-1)
    base = f() if method == "forward" else None
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        plus = f()
        if method == "forward":
            out[i] = (plus - base) / h
        else:
            flat[i] = old - h
            out[i] = (plus - f()) / (2 * h)
        flat[i] = old
    return grad


def relative_errors(
    analytic: np.ndarray, numeric: np.ndarray, floor_fraction: float = RELATIVE_ERROR_FLOOR
) -> np.ndarray:
    """Element-wise ``|a - n| / max(|a| + |n|, floor)``, floor = floor_fraction * max(|a| + |n|).

    Where both gradients are exactly zero the error is 0.
    """
    magnitude = np.abs(analytic) + np.abs(numeric)
    floor = max(floor_fraction * float(magnitude.max(initial=0.0)), np.finfo(np.float64).tiny)
    return np.abs(analytic - numeric) / np.maximum(magnitude, floor)


def compare(analytic: np.ndarray, numeric: np.ndarray) -> dict[str, float]:
    """The comparison statistics of two gradients of the same shape (keys ``STATISTICS``)."""
    a, n = np.abs(analytic), np.abs(numeric)
    return {
        "sum_abs_diff": float(np.sum(np.abs(analytic - numeric))),
        "mean_abs_analytic": float(a.mean()),
        "mean_abs_numeric": float(n.mean()),
        "min_abs_analytic": float(a.min()),
        "min_abs_numeric": float(n.min()),
        "max_abs_analytic": float(a.max()),
        "max_abs_numeric": float(n.max()),
        "max_rel_error": float(relative_errors(analytic, numeric).max()),
    }


class _LinearPerturbations:
    """Costs of a network with one entry of one Linear layer's W or b moved, many entries at once.

    Moving ``W[i, j]`` by delta moves column i of the layer's output by ``delta * A[:, j]``
    (A the layer's input), and moving ``b[i]`` moves it by delta: exact consequences of
    the layer's definition, so the perturbed output needs no new matrix product. Everything after the layer runs
    through the layers' own forward code on a stack of perturbed batches, and the L2
    term changes by ``lambda_i ((W_ij + delta)^2 - W_ij^2)``. No backward code is used.
    """

    def __init__(self, network: Network, index: int, X: np.ndarray, y: np.ndarray):
        self.network, self.index, self.y = network, index, y
        self.layer: Linear = network.layers[index]
        network.forward(X)
        self.A = self.layer._X
        self.Z = self.layer.forward(self.layer._X)
        self.base_l2 = network.regularization_cost()

    def costs(self, key: str, flat: np.ndarray, delta: float) -> np.ndarray:
        """Cost with entry ``flat[k]`` of parameter ``key`` moved by ``delta``, for every k."""
        K, (N, out) = len(flat), self.Z.shape
        param = self.layer.params[key]
        rows, cols = np.unravel_index(flat, param.shape)
        stacked = np.repeat(self.Z[None], K, axis=0)  # (K, N, out)
        shift = delta * self.A[:, cols].T if key == "W" else np.full((K, N), delta)
        stacked[np.arange(K), :, rows] += shift
        signal = stacked.reshape(K * N, out)
        for layer in self.network.layers[self.index + 1 :]:
            signal = layer.forward(signal)
        log_probs = self.network.softmax.log_probs
        log_probs = log_probs.reshape(K, N, -1, log_probs.shape[-1])  # (K, N, networks held, C)
        labels = np.broadcast_to(self.y[None, :, None, None], (*log_probs.shape[:3], 1))
        picked = np.take_along_axis(log_probs, labels, axis=3)[..., 0]  # (K, N, networks held)
        cross_entropy = -picked.mean(axis=1).sum(axis=1)
        l2 = np.full(K, self.base_l2)
        if key == "W":
            lam = np.broadcast_to(np.asarray(self.layer.regularization, dtype=np.float64), (param.shape[0],))[rows]
            old = param[rows, cols].astype(np.float64)
            l2 += lam * ((old + delta) ** 2 - old**2)
        return cross_entropy + l2


def batched_numeric_gradient(
    network: Network, index: int, key: str, X: np.ndarray, y: np.ndarray, h: float = 1e-6, method: str = "forward",
    chunk: int = 512,
) -> np.ndarray:
    """Finite differences for every entry of ``W`` or ``b`` of the Linear layer ``layers[index]``.

    The same estimate as ``numeric_gradient`` on the network's cost, computed for
    ``chunk`` entries at a time (see ``_LinearPerturbations``); float64 result.
    """
    if method not in METHODS:
        raise ValueError(f"Unknown finite-difference method {method!r}; valid ones are: {', '.join(METHODS)}.")
    perturb = _LinearPerturbations(network, index, X, y)
    size = perturb.layer.params[key].size
    grad = np.empty(size)
    base = perturb.costs(key, np.array([0]), 0.0)[0] if method == "forward" else None
    for start in range(0, size, chunk):
        flat = np.arange(start, min(start + chunk, size))
        plus = perturb.costs(key, flat, h)
        if method == "forward":
            grad[flat] = (plus - base) / h
        else:
            grad[flat] = (plus - perturb.costs(key, flat, -h)) / (2 * h)
    return grad.reshape(perturb.layer.params[key].shape)


def check_network(
    network: Network, X: np.ndarray, y: np.ndarray, h: float = 1e-6, method: str = "forward", batched: bool = True
) -> list[dict]:
    """Compare backpropagation with numeric gradients for every parameter of ``network``.

    The cost is the network's full cost (cross-entropy + L2) on X (N, D), y (N,).
    Use a float64 network: finite differences with h = 1e-6 drown in float32 rounding.
    With ``batched`` (the default) the parameters of Linear layers are differenced many
    entries at a time (``batched_numeric_gradient``); other parameters, or all with
    ``batched=False``, one entry at a time by re-running the whole network.

    Returns one dict per parameter: ``parameter``, ``shape`` ("rows x cols") and the
    ``STATISTICS``.
    """
    network.forward(X)
    network.backward(y)
    analytic = {name: grad.astype(np.float64) for name, grad in network.grads().items()}

    def cost() -> float:
        return network.cost(X, y)

    rows = []
    for index, layer in enumerate(network.layers):
        for key, param in layer.params.items():
            name = f"{layer.name}.{key}"
            if batched and type(layer) is Linear:
                numeric = batched_numeric_gradient(network, index, key, X, y, h=h, method=method)
            else:
                numeric = numeric_gradient(cost, param, h=h, method=method)
            rows.append({"parameter": name, "shape": " x ".join(map(str, param.shape)), **compare(analytic[name], numeric)})
    return rows


# -- the gate ---------------------------------------------------------------------------------
#
# The check that fails the workflow: centered differences in float64 through the network's
# own ``cost`` (its forward pass, cross-entropy and L2 terms, exactly as training computes
# them), one entry at a time, compared with backpropagation by the usual relative error.

# Gradients smaller than this are compared in absolute terms: an entry whose analytic and
# numeric values are both below it counts as |a - n| / GATE_FLOOR. Centered differences
# of the study's cost carry an absolute noise of about eps |f| / h + h^2 |f'''| / 6, some
# 1e-10 at h = 1e-5, so a floor of 1e-6 keeps that noise below 1e-4 in relative terms.
GATE_FLOOR = 1e-6
# Matrices with at most this many entries are checked whole.
GATE_FULL_LIMIT = 1024
# Besides a seeded cover of every row and column, the entries of largest analytic
# gradient are always checked: a wrong gradient shows there first.
GATE_LARGEST = 32


def gate_relative_errors(analytic: np.ndarray, numeric: np.ndarray, floor: float = GATE_FLOOR) -> np.ndarray:
    """Element-wise ``|a - n| / max(|a|, |n|, floor)``."""
    scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), floor)
    return np.abs(analytic - numeric) / scale


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
    rows = rng.permutation(np.arange(count) % R)
    cols = rng.permutation(np.arange(count) % C)
    cover = rows * C + cols
    largest = np.argpartition(np.abs(analytic).reshape(-1), -GATE_LARGEST)[-GATE_LARGEST:]
    return np.unique(np.concatenate([cover, largest]))


def centered_differences(
    cost: Callable[[], float], array: np.ndarray, entries: np.ndarray, h: float
) -> np.ndarray:
    """``(f(x + h) - f(x - h)) / 2h`` for the given flat ``entries`` of ``array``, perturbed in place and restored."""
    flat = array.reshape(-1)  # a view: writing into it perturbs the parameter itself
    numeric = np.empty(len(entries))
    for k, i in enumerate(entries):
        old = flat[i]
        flat[i] = old + h
        plus = cost()
        flat[i] = old - h
        minus = cost()
        flat[i] = old
        numeric[k] = (plus - minus) / (2 * h)
    return numeric


@dataclass(frozen=True)
class GateValues:
    """What the gate compared for one parameter: flat ``entries`` checked, ``analytic`` and ``numeric`` there."""

    shape: tuple[int, ...]
    entries: np.ndarray
    analytic: np.ndarray
    numeric: np.ndarray


def gate_values(network: Network, X: np.ndarray, y: np.ndarray, h: float, rng: np.random.Generator) -> dict[str, GateValues]:
    """Backpropagated and centered-difference gradients of ``network.cost`` on the gate's entries, per parameter.

    The network must be float64; the entries come from ``gate_entries`` with ``rng``.
    """
    if any(p.dtype != np.float64 for p in network.params().values()):
        raise ValueError("The gradient check needs a float64 network: float32 rounding drowns the differences.")
    network.forward(X)
    network.backward(y)
    analytic = {name: grad.astype(np.float64) for name, grad in network.grads().items()}

    values = {}
    for name, param in network.params().items():
        entries = gate_entries(analytic[name], rng)
        numeric = centered_differences(lambda: network.cost(X, y), param, entries, h)
        values[name] = GateValues(param.shape, entries, analytic[name].reshape(-1)[entries], numeric)
    return values


def gate_network(
    network: Network, X: np.ndarray, y: np.ndarray, h: float, rng: np.random.Generator, floor: float = GATE_FLOOR
) -> list[dict]:
    """Backpropagation against centered differences of ``network.cost`` for every parameter.

    Returns one dict per parameter: ``parameter``, ``shape``, ``entries`` (how many were
    checked), ``max_rel_error``, and the worst entry's ``row``, ``column``, ``analytic``
    and ``numeric`` values.
    """
    rows = []
    for name, values in gate_values(network, X, y, h, rng).items():
        errors = gate_relative_errors(values.analytic, values.numeric, floor)
        worst = int(np.argmax(errors))
        index = np.unravel_index(values.entries[worst], values.shape)
        rows.append(
            {
                "parameter": name,
                "shape": " x ".join(map(str, values.shape)),
                "entries": len(values.entries),
                "max_rel_error": float(errors[worst]),
                "row": int(index[0]),
                "column": int(index[1]) if len(index) > 1 else 0,
                "analytic": float(values.analytic[worst]),
                "numeric": float(values.numeric[worst]),
            }
        )
    return rows
