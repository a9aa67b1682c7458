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
        ("gradcheck.published.method", "backward", "one of 'forward', 'centered'"),
        ("gradcheck.published.draws", 100000, "gradcheck.published.draws = 100000"),
        ("gradcheck.published.weight_init", "glorot", "gradcheck.published.weight_init"),
        ("gradcheck.published.centred", 3, "gradcheck.published.centred = 3"),
        ("gradcheck.gate.h", 0, "gradcheck.gate.h = 0"),
        ("gradcheck.gate.bound", -1e-3, "gradcheck.gate.bound = -0.001"),
        ("seed", -1, "seed = -1"),
        ("seed", 1.5, "seed = 1.5"),
        ("search_jobs", "pack", "one of 'grid', 'row', 'point'"),
        ("fine.derived.widen", 1.0, "fine.derived.widen"),
        ("trainig", {"momentum": 0.5}, "allowed keys here are"),
        ("training.momentun", 0.5, "'momentun' is not a key of the configuration here"),
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


def _numeric_paths(value, path=()):
    """Every number in a config (dict keys and list positions), as paths."""
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield path
    elif isinstance(value, dict):
        for key, sub in value.items():
            yield from _numeric_paths(sub, (*path, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _numeric_paths(sub, (*path, index))


NUMERIC_PATHS = list(_numeric_paths(DEFAULT))


def _set_path(config, path, value):
    node = config
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _label(path):
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), ".nan", ".inf"])
@pytest.mark.parametrize("path", NUMERIC_PATHS, ids=_label)
def test_nan_and_infinity_are_rejected_for_every_numeric_key(path, value):
    config = copy.deepcopy(DEFAULT)
    _set_path(config, path, value)
    with pytest.raises(ConfigError) as error:
        validate_config(config, SCHEMA)
    assert f"{_label(path)} = " in str(error.value) and "NaN and infinity are not allowed" in str(error.value)


def test_every_numeric_key_type_is_covered():
    labels = {_label(path) for path in NUMERIC_PATHS}
    assert {"seed", "gradcheck.gate.h", "training.batch_size", "coarse.learning_rates[0]", "fine.learning_rates.linspace[2]",
            "momentum.values[0]", "gradcheck.networks.two_layer.regularization[1]", "data.timeout"} <= labels


@pytest.mark.parametrize(
    "path, text, value",
    [
        (("gradcheck", "gate", "h"), "1e-9", 1e-9),
        (("final", "epochs"), "3", 3),
        (("coarse", "learning_rates", 1), "3e-1", 0.3),
        (("fine", "learning_rates", "linspace", 2), "4", 4),
        (("training", "shuffle"), "false", False),
        (("training", "momentum"), "0.5", 0.5),
    ],
)
def test_numbers_written_as_text_are_read_as_numbers(path, text, value):
    config = copy.deepcopy(DEFAULT)
    _set_path(config, path, text)
    validate_config(config, SCHEMA)
    node = config
    for part in path:
        node = node[part]
    assert node == value and type(node) is type(value)


def test_text_that_is_no_number_names_the_yaml_traps():
    with pytest.raises(ConfigError) as error:
        validate_config(with_change("gradcheck.gate.h", "1e-9x"), SCHEMA)
    assert "gradcheck.gate.h = '1e-9x'" in str(error.value) and "write 1.0e-9" in str(error.value) and "--configfile" in str(error.value)
    with pytest.raises(ConfigError) as error:
        validate_config(with_change("seed", "abc"), SCHEMA)
    assert "seed = 'abc'" in str(error.value) and "1.0e-9" not in str(error.value)  # a word: no trap to name


def test_schema_defaults_are_filled_in():
    config = copy.deepcopy(DEFAULT)
    del config["data"]["retries"], config["data"]["timeout"]
    validate_config(config, SCHEMA)
    assert config["data"]["retries"] == 3 and config["data"]["timeout"] == 60


@pytest.mark.parametrize(
    "splits, expected",
    [
        ({"search_train": ["test_batch"]}, "splits.search_train contains test_batch"),
        ({"search_val": ["data_batch_5", "test_batch"]}, "splits.search_val contains test_batch"),
        ({"final_train": ["data_batch_1", "test_batch"]}, "splits.final_train contains test_batch"),
        ({"search_val": ["data_batch_1"]}, "splits.search_train and splits.search_val share data_batch_1"),
        ({"search_train": ["data_batch_2", "data_batch_3"], "search_val": ["data_batch_3"]}, "share data_batch_3"),
        ({"test": ["data_batch_4"]}, "splits.test and splits.final_train share data_batch_4"),
        ({"test": ["test_batch", "data_batch_5"]}, "splits.test and splits.search_val share data_batch_5"),
    ],
)
def test_splits_that_leak_are_rejected_naming_the_splits_and_batches(splits, expected):
    config = copy.deepcopy(DEFAULT)
    config["splits"].update(splits)
    with pytest.raises(ConfigError) as error:
        validate_config(config, SCHEMA)
    assert expected in str(error.value)


def test_a_grid_too_large_to_plan_is_refused_with_its_size():
    config = copy.deepcopy(DEFAULT)
    config["coarse"]["learning_rates"] = {"geomspace": [1e-4, 1.0, 400]}
    config["coarse"]["regularizations"] = {"linspace": [0.0, 1.0, 250]}
    with pytest.raises(ConfigError, match=r"400 learning rates x 250 regularizations = 100,000 grid points"):
        validate_config(config, SCHEMA)
    config["coarse"]["learning_rates"] = {"linspace": [0.1, 1.0, 10**9]}
    with pytest.raises(ConfigError, match=r"coarse\.learning_rates"):  # refused before the values are built
        validate_config(config, SCHEMA)


@pytest.mark.parametrize("path", ["final.replicates", "training.hidden_size", "training.batch_size", "seed", "coarse.epochs"])
def test_integral_floats_become_integers_before_any_job(path):
    *_, last = path.split(".")
    node = DEFAULT
    for key in path.split(".")[:-1]:
        node = node[key]
    config = with_change(path, float(node[last]))
    validate_config(config, SCHEMA)
    value = config
    for key in path.split("."):
        value = value[key]
    assert type(value) is int and value == node[last]


def test_a_non_integral_float_for_an_integer_key_is_refused():
    with pytest.raises(ConfigError, match=r"final.replicates = 2.5"):
        validate_config(with_change("final.replicates", 2.5), SCHEMA)


def test_momentum_values_that_would_share_a_figure_file_are_refused():
    with pytest.raises(ConfigError, match=r"0.9, 0.9000001 are distinct values but share the name '0.9'"):
        validate_config(with_change("momentum.values", [0.3, 0.9, 0.9000001]), SCHEMA)


def test_a_derived_fine_grid_over_the_bound_is_refused_before_planning():
    config = with_change("fine.grid_from", "coarse")
    config["fine"]["derived"] = {"learning_rates": 200, "regularizations": 200, "widen": 1.5}
    with pytest.raises(ConfigError, match=r"fine.derived: 200 learning rates x 200 regularizations = 40,000 grid points"):
        validate_config(config, SCHEMA)


def test_repeated_yaml_keys_are_refused_with_their_lines(tmp_path):
    source = tmp_path / "config.yaml"
    source.write_text("seed: 1\ntraining:\n  momentum: 0.9\n  momentum: 0.5\nseed: 2\n")
    config = copy.deepcopy(DEFAULT)
    with pytest.raises(ConfigError) as error:
        validate_config(config, SCHEMA, sources=(source,))
    message = str(error.value)
    assert "'momentum' on line 4 repeats the key of line 3" in message
    assert "'seed' on line 5 repeats the key of line 1" in message and str(source) in message


def test_an_md5_in_upper_case_is_the_same_md5():
    config = with_change("data.md5", DEFAULT["data"]["md5"].upper())
    validate_config(config, SCHEMA)
    assert config["data"]["md5"] == DEFAULT["data"]["md5"].lower()


@pytest.mark.parametrize("name", ["two\nlayer", "`#read(\"x\")`{=typst}", "", "a" * 41])
def test_gradient_check_network_names_are_short_plain_words(name):
    config = copy.deepcopy(DEFAULT)
    config["gradcheck"]["networks"][name] = config["gradcheck"]["networks"]["one_layer"]
    with pytest.raises(ConfigError, match="gradcheck.networks"):
        validate_config(config, SCHEMA)


def test_integral_numbers_written_as_text_become_integers():
    config = with_change("final.replicates", "3.0")
    config["training"]["batch_size"] = "1e2"
    validate_config(config, SCHEMA)
    assert (config["final"]["replicates"], config["training"]["batch_size"]) == (3, 100)
    assert type(config["training"]["batch_size"]) is int


@pytest.mark.parametrize("path, value, expected", [
    ("data.md5", DEFAULT["data"]["md5"] + "\n", "data.md5 = 'c58f30108f718f92721af3b95e74349a\\n': holds U+000A"),
    ("data.url", "https://example.org/a\u202egz.rat", "data.url = 'https://example.org/a\\u202egz.rat': holds U+202E"),
    ("study_dir", "runs/mine\n", "holds U+000A"),
    ("study_dir", "runs/\u200bmine", "holds U+200B"),
    ("study_dir", "runs/{x}", "braces are Snakemake's wildcards"),
    ("study_dir", "config.yaml", "'config.yaml' is a file, not a folder"),
    ("study_dir", "runs/" + "a" * 100, "study_dir has 105 characters"),
])
def test_names_md5s_and_folders_are_matched_whole(path, value, expected, monkeypatch):
    """A pattern's $ lets a trailing line break through, and a control or bidirectional character prints as
    something else: refused in every key and value, with the key named; a study folder is also refused
    with wildcard braces, as an existing file, or too long."""
    monkeypatch.chdir(REPO)  # where config.yaml is a file
    with pytest.raises(ConfigError) as error:
        validate_config(with_change(path, value), SCHEMA)
    assert expected in str(error.value)


def test_a_network_name_with_a_line_break_is_refused_and_patterns_match_whole_strings():
    import jsonschema

    config = copy.deepcopy(DEFAULT)
    config["gradcheck"]["networks"]["abc\n"] = {"hidden_sizes": [], "regularization": [0.1]}
    with pytest.raises(ConfigError, match=r"gradcheck.networks.\(a key\) = 'abc\\n': holds U\+000A"):
        validate_config(config, SCHEMA)
    patterns = [node["pattern"] for node in _walk(yaml.safe_load(SCHEMA.read_text())) if "pattern" in node]
    assert len(patterns) == 2
    for pattern in patterns:
        assert pattern.endswith("\\Z"), pattern  # Python's $ matches before a final line break
        assert not jsonschema.Draft202012Validator({"pattern": pattern}).is_valid("A" * 32 + "\n")


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_full_scale_configurations_that_share_a_run_id_are_refused_naming_both():
    """Found as 0.00275 and 0.002750000001: the stage kept the first, and the report called it the published one."""
    also = [{"learning_rate": 0.35, "regularization": 0.00275}, {"learning_rate": 0.2, "regularization": 0.004},
            {"learning_rate": 0.35, "regularization": 0.002750000001}]
    with pytest.raises(ConfigError) as error:
        validate_config(with_change("transfer.also", also), SCHEMA)
    assert ("transfer.also[0] and transfer.also[2] (learning rate 0.35, regularization 0.00275 and learning rate 0.35, "
            "regularization 0.002750000001) share the run id lr0.35_reg0.00275") in str(error.value)
    validate_config(with_change("transfer.also", also[:2]), SCHEMA)
    config = with_change("transfer.also", also)
    config["transfer"]["enabled"] = False
    validate_config(config, SCHEMA)  # the stage is off: nothing is trained


def test_one_regularization_value_serves_every_layer_of_a_gradient_check_network(rng):
    """Validation lets one value stand for every linear layer; the network is built that way, not refused."""
    import numpy as np

    from twolayer.network import build_network

    config = copy.deepcopy(DEFAULT)
    config["gradcheck"]["networks"]["two_layer"]["regularization"] = [0.1]
    validate_config(config, SCHEMA)
    network = build_network(6, [4], 3, config["gradcheck"]["networks"]["two_layer"]["regularization"], rngs=[rng])
    assert [layer.regularization.tolist() for layer in network.layers if hasattr(layer, "regularization")] == [[0.1], [0.1]]
    with pytest.raises(ConfigError, match=r"gradcheck.networks.two_layer.regularization: give 1 value or one per linear layer \(2\), got 3"):
        validate_config(with_change("gradcheck.networks.two_layer.regularization", [0.1, 0.2, 0.3]), SCHEMA)


def test_the_keys_are_put_in_the_schemas_order_whatever_order_they_came_in():
    config = copy.deepcopy(DEFAULT)
    final = config.pop("final")
    config = {"final": dict(reversed(list(final.items()))), **config}  # as --config final=... leaves it
    validate_config(config, SCHEMA)
    schema = yaml.safe_load(SCHEMA.read_text())
    assert list(config) == [key for key in schema["properties"] if key in config]
    assert list(config["final"]) == ["epochs", "replicates"]


@pytest.mark.parametrize("path, value, expected", [
    ("cyclical.eta_min", 0.5, "cyclical.eta_min (0.5) must be below cyclical.eta_max (0.1)"),
    ("cyclical.range_test.eta_max", 1e-6, "cyclical.range_test.eta_min (1e-05) must be below cyclical.range_test.eta_max"),
    ("cyclical.search.l_max", -6, "cyclical.search.l_min (-5) must be below l_max (-6)"),
    ("cyclical.validation", 50000, "cyclical.validation is 50,000 rows, but splits.final_train holds 50,000"),
    ("cyclical.half_cycle", "often", "cyclical.half_cycle"),
    ("cyclical.final.replicates", 1, "cyclical.final.replicates"),
])
def test_the_later_recipe_refuses_ranges_out_of_order_and_no_rows_to_train_on(path, value, expected):
    with pytest.raises(ConfigError) as error:
        validate_config(with_change(path, value), SCHEMA)
    assert expected in str(error.value)
