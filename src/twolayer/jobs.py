"""What every workflow job does around its stage: log to its file, limit BLAS threads."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from threadpoolctl import threadpool_limits

from .io import check_unchanged

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@contextlib.contextmanager
def job(log_path: str | Path, inputs: Iterable[str | Path] = ()) -> Iterator[logging.Logger]:
    """Check ``inputs`` against what their jobs wrote, send the package's log records to
    ``log_path`` (and stderr) and compute on one BLAS thread.

    Every job is single-threaded: parallel jobs never oversubscribe the machine, and
    OpenBLAS, which rounds differently with different thread counts, gives the same bits
    whatever ``--cores`` is. (Mini-batch training adds one background thread that copies
    the next batch; it spends its time waiting on memory.) An exception is logged with
    its message before it propagates, so the job's log says why it failed.
    """
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    handlers = [logging.FileHandler(log_path, mode="w"), logging.StreamHandler(sys.stderr)]
    logging.basicConfig(level=logging.INFO, format=FORMAT, handlers=handlers, force=True)
    logger = logging.getLogger("twolayer")
    logger.info("package twolayer from %s", Path(__file__).resolve().parent)
    try:
        check_unchanged(list(inputs))  # Snakemake's input list holds every file once, flat
        with threadpool_limits(limits=1):
            yield logger
    except Exception as error:
        logger.error("%s: %s", type(error).__name__, error)
        raise
    finally:
        # What the job ran of the package: the workflow's derived code dependencies are checked against it.
        used = sorted(name for name in sys.modules if name == "twolayer" or name.startswith("twolayer."))
        logger.info("package modules used: %s", " ".join(used))
        for handler in handlers:
            handler.flush()
