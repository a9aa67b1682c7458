"""The mini-batches of one epoch, each gathered while the one before it is computed.

A shuffled mini-batch is a copy of scattered rows, ``X[order[start:stop]]``: about 120 MB
of memory traffic for 10,000 CIFAR-10 rows in float32, which the products of the step that
uses the batch before it do not need. So each batch after an epoch's first is gathered on a
background thread into one of two buffers in turn, while the step on the other runs; the
copy changes no value. Removing this makes the whole study about 9% slower
(docs/performance.md, "What each speed mechanism saves").
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait

import numpy as np

# The one background thread that gathers the next mini-batch (``take_rows_later``).
_copier: ThreadPoolExecutor | None = None


def _check_rows(X: np.ndarray, rows: np.ndarray, out: np.ndarray) -> None:
    if len(rows) and (rows.min() < 0 or rows.max() >= len(X)):
        raise IndexError(f"take_rows: row indices must lie in [0, {len(X)}), got {rows.min()} to {rows.max()}.")
    if out.shape != (len(rows), *X.shape[1:]) or out.dtype != X.dtype:
        raise ValueError(f"take_rows: out must be {X.dtype} of shape {(len(rows), *X.shape[1:])}, got {out.dtype} {out.shape}.")


def take_rows(X: np.ndarray, rows: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``X[rows]`` into ``out``.

    The indices are checked once here; the copy then runs with ``mode="clip"``, whose
    loop NumPy runs several times faster than the default one that checks every index.
    """
    _check_rows(X, rows, out)
    return np.take(X, rows, axis=0, out=out, mode="clip")


def take_rows_later(X: np.ndarray, rows: np.ndarray, out: np.ndarray) -> Future:
    """Start copying ``X[rows]`` into ``out`` on the background thread; the future returns ``out``.

    The indices are checked here, before the copy starts. ``out`` must not be read or
    written until the future is done. A gather is bound by memory traffic and the
    products by arithmetic, so the two overlap well.
    """
    global _copier
    _check_rows(X, rows, out)
    if _copier is None:
        _copier = ThreadPoolExecutor(1, thread_name_prefix="twolayer-copy")
    return _copier.submit(np.take, X, rows, 0, out, "clip")


def shuffled_batches(
    X: np.ndarray, y: np.ndarray, order: np.ndarray, batch_size: int, buffers: tuple[np.ndarray, np.ndarray], y_buffer: np.ndarray
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The mini-batches (X_b, y_b) of one epoch, rows taken in ``order``, ``batch_size`` at a time.

    Each batch after the first is gathered on the background thread while the one
    before it is being computed, into the two ``buffers`` (batch_size, D) in turn: a
    yielded batch stays valid until the next one is asked for.
    """
    pending: Future | None = None
    try:
        for index, start in enumerate(range(0, len(order), batch_size)):
            rows = order[start : start + batch_size]
            Xb = take_rows(X, rows, out=buffers[index % 2][: len(rows)]) if pending is None else pending.result()
            following = order[start + batch_size : start + 2 * batch_size]
            pending = None
            if len(following):
                pending = take_rows_later(X, following, out=buffers[(index + 1) % 2][: len(following)])
            yield Xb, np.take(y, rows, out=y_buffer[: len(rows)])
    finally:
        # A loop that stops early must not leave a copy writing into a buffer.
        if pending is not None:
            wait([pending])


class Minibatches:
    """The mini-batches of each epoch of a training set: its rows in order, or shuffled and gathered ahead.

    Shapes: X (N, D), y (N,); each batch (at most batch_size, D) and (at most batch_size,).
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, batch_size: int):
        self.X, self.y, self.batch_size = X, y, int(batch_size)
        self._buffers = None

    def epoch(self, order: np.ndarray | None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The batches of one epoch: rows ``order`` (or as they are, for None), ``batch_size`` at a time."""
        if order is None:
            return ((self.X[start : start + self.batch_size], self.y[start : start + self.batch_size])
                    for start in range(0, len(self.y), self.batch_size))
        if self._buffers is None:  # two buffers for the rows, one for the labels, made once
            shape = (self.batch_size, self.X.shape[1])
            self._buffers = (np.empty(shape, self.X.dtype), np.empty(shape, self.X.dtype)), np.empty(self.batch_size, self.y.dtype)
        return shuffled_batches(self.X, self.y, order, self.batch_size, *self._buffers)
