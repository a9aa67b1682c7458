"""Numeric gradients by finite differences, and their comparison with backpropagation."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

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


def check_network(
    network: Network, X: np.ndarray, y: np.ndarray, h: float = 1e-6, method: str = "forward"
) -> list[dict]:
    """Compare backpropagation with numeric gradients for every parameter of ``network``.

    The cost is the network's full cost (cross-entropy + L2) on X (N, D), y (N,).
    Use a float64 network: finite differences with h = 1e-6 drown in float32 rounding.

    Returns one dict per parameter: ``parameter``, ``shape`` ("rows x cols") and the
    ``STATISTICS``.
    """
    network.forward(X)
    network.backward(y)
    analytic = {name: grad.astype(np.float64) for name, grad in network.grads().items()}

    def cost() -> float:
        return network.cost(X, y)

    rows = []
    for name, param in network.params().items():
        numeric = numeric_gradient(cost, param, h=h, method=method)
        rows.append({"parameter": name, "shape": " x ".join(map(str, param.shape)), **compare(analytic[name], numeric)})
    return rows
