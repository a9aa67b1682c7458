"""Matrix products split into a fixed number of slices, computed on a pool of threads.

BLAS runs single-threaded in every job; a job that is given several cores computes
fixed slices of its large products side by side instead. The slices depend only on
the shapes, never on the number of threads, so a product is bit-for-bit the same
whether a job runs with one thread or eight. (Letting BLAS itself use more threads
changes how it splits the sums, and with it the rounding of every result.)

Besides those threads, one background thread copies rows (``take_rows_later``): the
training loop gathers its next mini-batch there while the current one is computed.
A gather is bound by memory traffic and the products by arithmetic, so the two
overlap well; the copy changes no value.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

# Slices per large product: enough for the cores a job is given here, and fixed.
PARTS = 4
# Products with fewer multiply-adds than this are computed in one call.
MIN_WORK = 50_000_000

_threads = 1
_pool: ThreadPoolExecutor | None = None
_copier: ThreadPoolExecutor | None = None


def set_threads(threads: int) -> None:
    """Use ``threads`` worker threads for the sliced products (1: compute slices in turn)."""
    global _threads, _pool
    threads = max(1, int(threads))
    if threads != _threads:
        if _pool is not None:
            _pool.shutdown()
        _pool = ThreadPoolExecutor(threads, thread_name_prefix="twolayer") if threads > 1 else None
        _threads = threads


def threads() -> int:
    return _threads


def _bounds(size: int) -> list[tuple[int, int]]:
    edges = np.linspace(0, size, PARTS + 1).astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def _run(tasks) -> None:
    if _pool is None:
        for task in tasks:
            task()
    else:
        for future in [_pool.submit(task) for task in tasks]:
            future.result()


def map_parts(function, parts) -> list:
    """``function(part)`` for every part, on the job's threads; the results in the order of ``parts``."""
    parts = list(parts)
    if _pool is None:
        return [function(part) for part in parts]
    return [future.result() for future in [_pool.submit(function, part) for part in parts]]


def _sliced_matmul(A: np.ndarray, B: np.ndarray, out: np.ndarray | None, by_rows: bool) -> np.ndarray:
    M, K = A.shape
    N = B.shape[1]
    if out is None:
        out = np.empty((M, N), dtype=np.result_type(A, B))
    if M * K * N < MIN_WORK:
        return np.matmul(A, B, out=out)
    if by_rows:
        tasks = [lambda a=a, b=b: np.matmul(A[a:b], B, out=out[a:b]) for a, b in _bounds(M)]
    else:
        tasks = [lambda a=a, b=b: np.matmul(A, B[:, a:b], out=out[:, a:b]) for a, b in _bounds(N)]
    _run(tasks)
    return out


def matmul_rows(A: np.ndarray, B: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """A (M, K) @ B (K, N), computed as fixed slices of the rows of A."""
    return _sliced_matmul(A, B, out, by_rows=True)


def matmul_cols(A: np.ndarray, B: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """A (M, K) @ B (K, N), computed as fixed slices of the columns of B."""
    return _sliced_matmul(A, B, out, by_rows=False)


def _check_rows(X: np.ndarray, rows: np.ndarray, out: np.ndarray) -> None:
    if len(rows) and (rows.min() < 0 or rows.max() >= len(X)):
        raise IndexError(f"take_rows: row indices must lie in [0, {len(X)}), got {rows.min()} to {rows.max()}.")
    if out.shape != (len(rows), *X.shape[1:]) or out.dtype != X.dtype:
        raise ValueError(f"take_rows: out must be {X.dtype} of shape {(len(rows), *X.shape[1:])}, got {out.dtype} {out.shape}.")


def take_rows(X: np.ndarray, rows: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``X[rows]`` into ``out``, fixed slices of the rows copied side by side.

    The indices are checked once here; the copy then runs with ``mode="clip"``, whose
    loop NumPy runs several times faster than the default one that checks every index.
    """
    _check_rows(X, rows, out)
    if out.size < MIN_WORK // 64:
        return np.take(X, rows, axis=0, out=out, mode="clip")
    _run([lambda a=a, b=b: np.take(X, rows[a:b], axis=0, out=out[a:b], mode="clip") for a, b in _bounds(len(rows))])
    return out


def take_rows_later(X: np.ndarray, rows: np.ndarray, out: np.ndarray) -> Future:
    """Start copying ``X[rows]`` into ``out`` on the background thread; the future returns ``out``.

    The indices are checked here, before the copy starts. ``out`` must not be read or
    written until the future is done.
    """
    global _copier
    _check_rows(X, rows, out)
    if _copier is None:
        _copier = ThreadPoolExecutor(1, thread_name_prefix="twolayer-copy")
    return _copier.submit(np.take, X, rows, 0, out, "clip")
