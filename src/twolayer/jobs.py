"""What every workflow job does around its stage: check it runs its workflow's package, log to
its file, limit BLAS threads."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from threadpoolctl import threadpool_info, threadpool_limits

from .io import check_unchanged

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
PACKAGE = Path(__file__).resolve().parent


def put_package_first(root: str | Path) -> None:
    """Make the jobs this process starts import twolayer from ``root`` (a checkout's ``src``), by
    putting it first on their PYTHONPATH, whatever else the environment has installed."""
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))


class ForeignPackage(RuntimeError):
    """The job imported another checkout's package than the one its workflow declares."""


def check_package(scriptdir: str | Path, package: Path = PACKAGE) -> None:
    """Stop unless ``package`` (the imported twolayer) is the workflow's own ``src/twolayer``.

    ``scriptdir`` is the folder of the job's script, ``workflow/scripts`` of its checkout. The
    workflow declares that checkout's modules as the rule's code inputs and the report names
    its commit, so a job that ran another checkout's package would make both untrue.
    """
    own = (Path(scriptdir).resolve().parents[1] / "src" / "twolayer").resolve()
    if package.resolve() != own:
        raise ForeignPackage(
            f"This job imported the package twolayer from {package}, but its workflow's package is "
            f"{own}: the environment holds another checkout's package, so this job would run code the "
            f"workflow did not declare and the report would describe code that did not run. Run the "
            f"workflow with this checkout's package first on the path (install it with "
            f"`pip install -e {own.parents[1]}`, or give each checkout its own virtual environment), "
            f"then run the same command again."
        )


@contextlib.contextmanager
def job(log_path: str | Path, inputs: Iterable[str | Path] = (), scriptdir: str | Path | None = None) -> Iterator[logging.Logger]:
    """Check that the package is the workflow's own (``scriptdir``, see check_package) and
    ``inputs`` against what their jobs wrote, send the package's log records to ``log_path``
    and compute on one BLAS thread.

    The log file gets every record; the console (stderr) only warnings and errors, so that a
    run's console shows Snakemake's progress, not the epochs of parallel jobs.

    Every job is single-threaded: parallel jobs never oversubscribe the machine, and
    OpenBLAS, which rounds differently with different thread counts, gives the same bits
    whatever ``--cores`` is. (Mini-batch training adds one background thread that copies
    the next batch; it spends its time waiting on memory.) An exception is logged with
    its message before it propagates, so the job's log says why it failed.
    """
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.WARNING)
    handlers = [logging.FileHandler(log_path, mode="w"), console]
    logging.basicConfig(level=logging.INFO, format=FORMAT, handlers=handlers, force=True)
    logger = logging.getLogger("twolayer")
    logger.info("package twolayer from %s", PACKAGE)
    try:
        if scriptdir is not None:
            check_package(scriptdir)
        check_unchanged(list(inputs))  # Snakemake's input list holds every file once, flat
        with threadpool_limits(limits=1):
            # The kernel decides the last bits of every sum (docs/configuration.md, "Determinism").
            for blas in (info for info in threadpool_info() if info["user_api"] == "blas"):
                logger.info("BLAS %s %s, %d thread, kernel %s", blas["internal_api"], blas["version"],
                            blas["num_threads"], blas.get("architecture", "?"))
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
