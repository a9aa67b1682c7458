"""The gradient-check stage: the gate that stops the workflow, and the published table reproduced from two starting points."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..gradcheck import STATISTICS, gate_network, published_table
from ..io import write_csv
from ..network import build_network
from ..preprocess import Split, centre, load_split, used_size
from ..seeding import derive_rng

log = logging.getLogger(__name__)

GRADCHECK_COLUMNS = ("setup", "network", "parameter", "shape", *STATISTICS)
GATE_COLUMNS = ("network", "parameter", "shape", "entries", "max_rel_error", "row", "column", "analytic", "numeric")
MAGNITUDE_COLUMNS = ("setup", "network", "parameter", "draw", "mean_abs_analytic")


class GradientCheckError(RuntimeError):
    """Backpropagation and finite differences disagree beyond the configured bound."""


def check_gradients(
    split_path: str | Path,
    samples: int,
    networks: Mapping[str, Mapping],
    gate: Mapping,
    published: Mapping,
    weight_init: str,
    bias_init: str,
    seed: int,
    out_csv: str | Path,
    gate_csv: str | Path,
    magnitudes_csv: str | Path,
) -> pd.DataFrame:
    """Check backpropagation for each configured network (float64); fail on any real disagreement.

    ``networks`` maps a name to ``{"hidden_sizes": [...], "regularization": [...]}``. Two
    set-ups are checked on the first ``samples`` images of the split:

    - ``study``: each network built and fed as training builds and feeds its networks
      (``weight_init`` and ``bias_init``, the layers from the first linear one, the split
      centred once by the training mean);
    - ``published``: the starting point the original table was made from
      (``published["weight_init"]``, pixels centred only if ``published["centred"]``).

    Three tables are written. ``gate_csv``, the gate, on the study set-up: centred
    differences with step ``gate["h"]`` of the network's own cost. ``out_csv``, for both
    set-ups, the original study's statistics from ``published["method"]`` differences with
    step ``published["h"]`` (reported, not judged). ``magnitudes_csv``: for both set-ups the
    mean absolute backpropagated gradient of every matrix over ``published["draws"]`` draws of
    the initial weights, draw 0 being the network of ``out_csv``. Raises GradientCheckError
    if the gate's largest relative error exceeds ``gate["bound"]``.
    """
    raw = load_split(split_path, dtype=np.float64, limit=samples)
    used_size("gradcheck.samples", samples, len(raw.y))
    centred = centre(Split(raw.X.copy(), raw.y, raw.mean), raw.mean)  # centre() writes into its split
    inputs = {"study": (centred.X, weight_init), "published": ((centred if published["centred"] else raw).X, published["weight_init"])}
    rows, gate_rows, magnitudes = [], [], []
    for name, spec in networks.items():
        for setup, (X, init) in inputs.items():
            for draw in range(published["draws"]):
                net = build_network(X.shape[1], spec["hidden_sizes"], regularization=spec["regularization"],
                                    weight_init=init, bias_init=bias_init,
                                    rngs=[derive_rng(seed, "gradcheck", name, setup, f"draw{draw}")], dtype=np.float64)
                if draw == 0:
                    if setup == "study":
                        gate_rng = derive_rng(seed, "gradcheck", name, "entries")
                        for row in gate_network(net, X, centred.y, h=gate["h"], rng=gate_rng):
                            gate_rows.append({"network": name, **row})
                            log.info("gate %s %s: %d entries, max rel error %.3e", name, row["parameter"], row["entries"], row["max_rel_error"])
                    for row in published_table(net, X, centred.y, h=published["h"], method=published["method"]):
                        rows.append({"setup": setup, "network": name, **row})
                        log.info("%s set-up, %s %s: sum |diff| %.3e (%s differences, h=%g)", setup, name, row["parameter"],
                                 row["sum_abs_diff"], published["method"], published["h"])
                net.forward(X)
                net.backward(centred.y)
                magnitudes += [{"setup": setup, "network": name, "parameter": parameter, "draw": draw,
                                "mean_abs_analytic": float(np.abs(grad[0]).mean())} for parameter, grad in net.grads().items()]
    write_csv(pd.DataFrame(rows, columns=GRADCHECK_COLUMNS), out_csv)
    write_csv(pd.DataFrame(magnitudes, columns=MAGNITUDE_COLUMNS), magnitudes_csv)
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
