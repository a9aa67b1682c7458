"""Bad configurations are rejected before any job, naming the key and what is allowed."""

import copy
from pathlib import Path

import pytest
import yaml

from twolayer.config import ConfigError, validate_config

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
DEFAULT = yaml.safe_load((REPO / "config.yaml").read_text())


def with_change(path: str, value):
    config = copy.deepcopy(DEFAULT)
    *parents, last = path.split(".")
    node = config
    for key in parents:
        node = node[key]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return config


DELETE = object()


def test_default_and_smoke_configs_are_valid():
    validate_config(DEFAULT, SCHEMA)
    for extra in ("smoke.yaml", "replica.yaml"):
        merged = copy.deepcopy(DEFAULT)
        for key, value in yaml.safe_load((REPO / "config" / extra).read_text()).items():
            merged[key] = {**merged[key], **value} if isinstance(value, dict) else value
        validate_config(merged, SCHEMA)


@pytest.mark.parametrize(
    "path, value, expected",
    [
        ("coarse.learning_rates", [0.1, -0.5], "coarse.learning_rates"),
        ("coarse.learning_rates", [0.0], "coarse.learning_rates"),
        ("fine.learning_rates", {"linspace": [0.35, -0.25, 4]}, "every learning rate must be > 0"),
        ("coarse.regularizations", [], "coarse.regularizations"),
        ("fine.regularizations", {"linspace": [0.005, 0.0005, 0]}, "fine.regularizations"),
        ("training.momentum", 1.0, "training.momentum = 1.0"),
        ("training.momentum", -0.1, "training.momentum = -0.1"),
        ("momentum.values", [0.3, 1.2], "momentum.values[1]"),
        ("training.hidden_size", 0, "training.hidden_size = 0"),
        ("training.hidden_size", "fifty", "training.hidden_size = 'fifty'"),
        ("training.batch_size", 2.5, "training.batch_size"),
        ("training.dtype", "float16", "one of 'float32', 'float64'"),
        ("training.weight_init", "glorot", "training.weight_init"),
        ("final.epochs", 0, "final.epochs = 0"),
        ("coarse.epochs", 0, "coarse.epochs = 0"),
        ("splits.test", ["data_batch_9"], "splits.test[0] = 'data_batch_9'"),
        ("splits.search_train", [], "splits.search_train"),
        ("data.md5", "1234", "data.md5"),
        ("gradcheck.method", "backward", "one of 'forward', 'centered'"),
        ("gradcheck.h", 0, "gradcheck.h = 0"),
        ("seed", -1, "seed = -1"),
        ("seed", 1.5, "seed = 1.5"),
        ("search_jobs", "pack", "one of 'grid', 'row', 'point'"),
        ("fine.derived.widen", 1.0, "fine.derived.widen"),
        ("trainig", {"momentum": 0.5}, "allowed keys here are"),
        ("training.momentun", 0.5, "'momentun' was unexpected"),
        ("final", DELETE, "'final' is a required property"),
    ],
)
def test_bad_value_is_rejected_with_key_and_allowed_values(path, value, expected):
    with pytest.raises(ConfigError) as error:
        validate_config(with_change(path, value), SCHEMA)
    message = str(error.value)
    assert message.startswith("The configuration is invalid, so no job was started.")
    assert expected in message


def test_every_problem_is_listed_at_once():
    config = with_change("final.epochs", 0)
    config["training"]["momentum"] = 2
    with pytest.raises(ConfigError) as error:
        validate_config(config, SCHEMA)
    assert "final.epochs" in str(error.value) and "training.momentum" in str(error.value)


def test_gradcheck_regularization_count_must_fit_the_layers():
    config = copy.deepcopy(DEFAULT)
    config["gradcheck"]["networks"]["two_layer"]["regularization"] = [0.1, 0.2, 0.3]
    with pytest.raises(ConfigError, match="one per linear layer"):
        validate_config(config, SCHEMA)
