"""The gradient-check stage: the gate that stops the workflow, and the published table reproduced."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..gradcheck import STATISTICS, gate_network, published_table
from ..io import write_csv
from ..network import build_network
from ..preprocess import centre, load_split, used_size
from ..seeding import derive_rng

log = logging.getLogger(__name__)

GRADCHECK_COLUMNS = ("network", "parameter", "shape", *STATISTICS)
GATE_COLUMNS = ("network", "parameter", "shape", "entries", "max_rel_error", "row", "column", "analytic", "numeric")


class GradientCheckError(RuntimeError):
    """Backpropagation and finite differences disagree beyond the configured bound."""


def check_gradients(
    split_path: str | Path,
    samples: int,
    networks: Mapping[str, Mapping],
    gate: Mapping,
    published: Mapping,
    seed: int,
    out_csv: str | Path,
    gate_csv: str | Path,
) -> pd.DataFrame:
    """Check backpropagation for each configured network (float64); fail on any real disagreement.

    ``networks`` maps a name to ``{"hidden_sizes": [...], "regularization": [...]}``.
    Each network is built and fed as training builds and feeds its networks (the layers from
    the first linear one, on the split centred once by the training mean), and two tables are
    written: ``gate_csv``, the gate: centred differences with step ``gate["h"]`` of the
    network's own cost; and ``out_csv``, the original study's statistics from
    ``published["method"]`` differences with step ``published["h"]`` (a reproduction of its
    table, reported, not judged). Raises GradientCheckError if the gate's largest relative
    error exceeds ``gate["bound"]``.
    """
    data = load_split(split_path, dtype=np.float64, limit=samples)
    used_size("gradcheck.samples", samples, len(data.y))
    data = centre(data, data.mean)
    rows, gate_rows = [], []
    for name, spec in networks.items():
        net = build_network(data.X.shape[1], spec["hidden_sizes"], regularization=spec["regularization"],
                            rngs=[derive_rng(seed, "gradcheck", name)], dtype=np.float64)
        for row in gate_network(net, data.X, data.y, h=gate["h"], rng=derive_rng(seed, "gradcheck", name, "entries")):
            gate_rows.append({"network": name, **row})
            log.info("gate %s %s: %d entries, max rel error %.3e", name, row["parameter"], row["entries"], row["max_rel_error"])
        for row in published_table(net, data.X, data.y, h=published["h"], method=published["method"]):
            rows.append({"network": name, **row})
            log.info("%s %s: sum |diff| %.3e (%s differences, h=%g)", name, row["parameter"], row["sum_abs_diff"], published["method"], published["h"])
    table = pd.DataFrame(rows, columns=GRADCHECK_COLUMNS)
    write_csv(table, out_csv)
    gate_table = pd.DataFrame(gate_rows, columns=GATE_COLUMNS)
    write_csv(gate_table, gate_csv)
    worst = gate_table.loc[gate_table["max_rel_error"].idxmax()]
    if not worst["max_rel_error"] <= gate["bound"]:
        raise GradientCheckError(
            f"Gradient check failed: for {worst['network']} / {worst['parameter']} backpropagation gives "
            f"{worst['analytic']:.6e} at entry ({worst['row']}, {worst['column']}) where centered differences of the "
            f"network's cost give {worst['numeric']:.6e}: a relative error of {worst['max_rel_error']:.3e}, above the "
            f"bound gradcheck.gate.bound = {gate['bound']:g}. The backward pass (or the cost) of a layer is wrong; "
            "fix the code before training on it. Full table:\n" + gate_table.to_string(index=False)
        )
    return gate_table
