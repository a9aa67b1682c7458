"""Validation of the study's configuration, with readable errors, before any job runs.

``validate_config`` turns numbers written as text into numbers and integral floats
(``2.0``) into integers where the schema wants integers, fills in the schema's defaults,
then rejects in one message everything that is wrong: duplicate keys in the YAML
files, values the schema forbids, NaN and infinity anywhere, grids (configured or
derived) that cannot be built or are too large to plan, names of runs and figures
that would collide, and splits that would leak the test set or the validation set
into training. The md5 is written in lower case, so its spelling changes nothing.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import unicodedata
from collections.abc import Iterator, Mapping, MutableMapping
from pathlib import Path, PurePosixPath

import jsonschema
import yaml

from .cifar import IMAGES_PER_BATCH
from .io import read_at_most
from .search import grid_values, run_id

# A grid larger than this is refused before planning: one job per point would give a
# DAG that takes minutes to build and a selection that reads as many files.
MAX_GRID_POINTS = 10_000

# Which splits train or select, and so must never hold test images.
TRAINING_SPLITS = ("search_train", "search_val", "final_train")
TEST_BATCH = "test_batch"


class ConfigError(ValueError):
    """The configuration breaks the schema; the message lists every problem."""


# JSON Schema counts 2.0 as an integer; the code that reads the config would then get a
# float where it needs an int (a range, an array shape), so only true integers pass here.
_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda checker, instance: isinstance(instance, int) and not isinstance(instance, bool)
    ),
)


# A configuration file is a few kilobytes of keys; these bound what reading one can cost, whatever
# it holds: its size, the nodes it describes once every alias is expanded (a "billion laughs" file
# of 1 KB describes 10**9), and how deep its values nest (past about 300, PyYAML's composer, which
# recurses, would end in a RecursionError).
MAX_CONFIG_BYTES = 1_000_000
MAX_CONFIG_NODES = 100_000
MAX_CONFIG_DEPTH = 32


class _ConfigTooLarge(Exception):
    """A configuration file whose aliases or nesting pass their bound."""


class _ConfigLoader(yaml.SafeLoader):
    """Safe YAML that refuses nesting deeper than MAX_CONFIG_DEPTH as it composes, and records every key a
    mapping repeats (a plain loader keeps the last one silently)."""

    def __init__(self, stream):
        super().__init__(stream)
        self.depth = 0
        self.duplicates: list[str] = []

    def compose_node(self, parent, index):
        self.depth += 1
        try:
            if self.depth > MAX_CONFIG_DEPTH:
                raise _ConfigTooLarge(f"its values nest more than {MAX_CONFIG_DEPTH} deep")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key != "<<" and key in seen:
                self.duplicates.append(f"{key!r} on line {line} repeats the key of line {seen[key]}")
            seen.setdefault(key, line)
        return super().construct_mapping(node, deep=deep)


def _values(value, depth: int = 0, sizes: dict | None = None) -> int:
    """How many values ``value`` holds, each shared one counted each time it is used (YAML aliases share
    objects), computed once per object; _ConfigTooLarge past MAX_CONFIG_DEPTH levels or MAX_CONFIG_NODES
    values. Constructing what YAML describes is linear in its text; walking it, without this, would not be."""
    sizes = {} if sizes is None else sizes
    if depth > MAX_CONFIG_DEPTH:
        raise _ConfigTooLarge(f"its values nest more than {MAX_CONFIG_DEPTH} deep")
    if not isinstance(value, (Mapping, list)):
        return 1
    if id(value) not in sizes:
        items = value.values() if isinstance(value, Mapping) else value
        sizes[id(value)] = 1 + sum(_values(item, depth + 1, sizes) for item in items)
        if sizes[id(value)] > MAX_CONFIG_NODES:
            raise _ConfigTooLarge(f"its aliases expand to more than {MAX_CONFIG_NODES:,} values")
    return sizes[id(value)]


def _fix(path: str | Path) -> str:
    """How to get past a bad configuration file: config/local.yaml may simply go."""
    if Path(path).as_posix().endswith("config/local.yaml"):
        return "fix it, or delete it to run with config.yaml alone"
    return "fix it"


def read_config_file(path: str | Path) -> tuple[dict, list[str]]:
    """The mapping a YAML configuration file holds and its repeated keys, read as untrusted data.

    The file must be a regular file (a FIFO or a device would make the read wait for ever) of at
    most MAX_CONFIG_BYTES, UTF-8 YAML whose values nest at most MAX_CONFIG_DEPTH deep and stand
    for at most MAX_CONFIG_NODES nodes with every alias expanded, holding a mapping. Raises
    ConfigError naming the file, what is wrong and the fix.
    """
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise ConfigError(f"{path} is not a regular file (a folder, a FIFO or a device): a configuration is "
                              f"a YAML file of key: value lines; {_fix(path)}.")
        raw = read_at_most(path, MAX_CONFIG_BYTES)
        if raw is None:
            raise ConfigError(f"{path} has more than the {MAX_CONFIG_BYTES:,} bytes a configuration file can "
                              f"need: it is not a configuration; {_fix(path)}.")
        loader = _ConfigLoader(raw.decode("utf-8"))
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
        _values(data)
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path} cannot be read as a text file ({error}): make it a YAML file of "
                          f"configuration keys; {_fix(path)}.") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML ({' '.join(str(error).split())}): {_fix(path)} at the line "
                          f"named.") from None
    except _ConfigTooLarge as error:
        raise ConfigError(f"{path} is not a configuration: {error}, where a configuration holds a few dozen "
                          f"plain values; {_fix(path)}.") from None
    if data is None:
        raise ConfigError(f"{path} is empty: give it the keys it changes (key: value lines, like config.yaml); "
                          f"{_fix(path)}.")
    if not isinstance(data, dict):
        raise ConfigError(f"{path} holds a {type(data).__name__}, not a mapping of configuration keys: write it "
                          f"like config.yaml (key: value lines); {_fix(path)}.")
    return data, loader.duplicates


def check_config_file(path: str | Path) -> None:
    """Raise ConfigError unless ``path`` is a configuration file ``read_config_file`` accepts: called before
    Snakemake reads a file, whose own error would not name it, or would never come."""
    read_config_file(path)


# Characters no configuration value needs and a reader cannot see: control characters (a trailing
# line break among them), and format characters such as the bidirectional overrides.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def _invisible_characters(value, path=()) -> Iterator[str]:
    """A problem for every key or string of the configuration holding a character one cannot see."""
    if isinstance(value, str):
        hidden = sorted({f"U+{ord(c):04X}" for c in value if unicodedata.category(c) in _INVISIBLE_CATEGORIES})
        if hidden:
            yield (f"{_where(path)} = {value!r}: holds {', '.join(hidden)}, a control or formatting character "
                   "(a line break, a tab, a bidirectional override) that no key or value needs; remove it")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str):
                yield from _invisible_characters(key, (*path, "(a key)"))
            yield from _invisible_characters(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _invisible_characters(item, (*path, index))


def _where(path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _text_hint(instance, expected) -> str:
    """Why a number may have arrived as text, for text with a digit in it (1e-9, '{a: 3}') where a number
    is wanted; a word such as 'abc' was no number to begin with."""
    if not isinstance(instance, str) or not set(_as_list(expected)) & {"number", "integer"}:
        return ""
    if not re.search(r"\d", instance):
        return ""
    return (
        " (a number was expected but text was given: YAML reads 1e-9 without a dot as text, so write 1.0e-9; "
        "nested values given with --config key='{a: 3}' also arrive as text, so put them in a file for --configfile)"
    )


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _describe(error: jsonschema.ValidationError) -> str:
    where = _where(error.absolute_path)
    schema = error.schema
    if error.validator == "additionalProperties":
        allowed = ", ".join(sorted(error.schema.get("properties", {}))) or "none"
        return f"{where}: {error.message}; the allowed keys here are: {allowed}"
    if error.validator == "enum":
        return f"{where} = {error.instance!r}: must be one of {', '.join(map(repr, schema['enum']))}"
    if error.validator == "oneOf":
        return f"{where} = {error.instance!r}: must be {error.schema.get('description', 'one of the allowed forms')}"
    hint = f" ({schema['description']})" if isinstance(schema, Mapping) and "description" in schema else ""
    if error.validator == "type":
        hint += _text_hint(error.instance, error.validator_value)
    return f"{where} = {error.instance!r}: {error.message}{hint}"


def _parse_text(text: str, expected: list[str]):
    """The number or boolean ``text`` spells, if it spells one of the expected types; else None."""
    candidates = []
    if "integer" in expected:
        candidates.append(int)
    if "number" in expected:
        candidates.append(float)
    for parse in candidates:
        try:
            return parse(text.strip())
        except ValueError:
            pass
    parsed = yaml.safe_load(text) if text.strip() else None  # YAML spellings: .nan, .inf, true, 1.0e-9
    if isinstance(parsed, str):
        try:
            parsed = float(parsed)  # nan, inf: kept only if not finite, to be reported as such
        except ValueError:
            pass
    if isinstance(parsed, float) and not math.isfinite(parsed) and set(expected) & {"integer", "number"}:
        return parsed  # reported as NaN or infinity, not as text
    if isinstance(parsed, float) and parsed.is_integer() and "integer" in expected:
        return int(parsed)  # "2.0" or "1e3" where an integer is wanted
    types = {"integer": int, "number": (int, float), "boolean": bool}
    if any(isinstance(parsed, types[name]) for name in expected if name in types):
        if not (isinstance(parsed, bool) and "boolean" not in expected):
            return parsed
    return None


def _integral(value) -> bool:
    return isinstance(value, float) and value.is_integer()


def _type_errors(errors) -> Iterator[jsonschema.ValidationError]:
    for error in errors:
        if error.validator == "type":
            yield error
        yield from _type_errors(error.context or [])


def _set(config: MutableMapping, path, value) -> None:
    target = config
    for part in list(path)[:-1]:
        target = target[part]
    target[list(path)[-1]] = value


def _coerce_text(config: MutableMapping, validator: jsonschema.Validator) -> None:
    """Replace text that spells a number or boolean where the schema wants one (YAML and --config traps)."""
    for error in list(_type_errors(validator.iter_errors(config))):
        expected = _as_list(error.validator_value)
        value = None
        if isinstance(error.instance, str):
            value = _parse_text(error.instance, expected)
        elif _integral(error.instance) and "integer" in expected:
            value = int(error.instance)  # 2.0 -> 2; 2.5 stays an error
        if value is not None:
            _set(config, error.absolute_path, value)


def _apply_defaults(instance, schema: Mapping, root: Mapping) -> None:
    """Fill missing keys that have a ``default`` in the schema, recursively (the schema's defaults are the only ones)."""
    if "$ref" in schema:
        _apply_defaults(instance, _resolve(schema["$ref"], root), root)
    if not isinstance(instance, MutableMapping):
        return
    for key, sub in schema.get("properties", {}).items():
        if key not in instance and "default" in sub:
            instance[key] = sub["default"]
        if key in instance:
            _apply_defaults(instance[key], sub, root)


def _resolve(ref: str, root: Mapping) -> Mapping:
    node = root
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _non_finite(value, path=()) -> Iterator[tuple]:
    if isinstance(value, float) and not math.isfinite(value):
        yield path, value
    elif isinstance(value, Mapping):
        for key, sub in value.items():
            yield from _non_finite(sub, (*path, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _non_finite(sub, (*path, index))


def split_batches(config: Mapping) -> dict[str, list[str]]:
    """Every split the study builds, by name, with its batches in order: the configured splits and,
    when the transfer stage is on, ``transfer_train`` (final_train without ``transfer.held_out``)
    and ``transfer_val`` (the held-out batches)."""
    splits = {name: list(batches) for name, batches in config["splits"].items()}
    transfer = config["transfer"]
    if transfer["enabled"]:
        held_out = list(transfer["held_out"])
        splits["transfer_train"] = [batch for batch in splits["final_train"] if batch not in held_out]
        splits["transfer_val"] = held_out
    return splits


def _transfer_leakage(config: Mapping) -> list[str]:
    """The transfer stage trains on final_train minus transfer.held_out and scores on the held-out
    batches: they must be final_train's own, leave it a batch to train on, and hold no test image."""
    transfer, splits = config["transfer"], config["splits"]
    if not transfer["enabled"]:
        return []
    held_out = list(transfer["held_out"])
    problems = []
    foreign = [batch for batch in held_out if batch not in splits["final_train"]]
    if foreign:
        problems.append(
            f"transfer.held_out names {', '.join(foreign)}, which splits.final_train does not hold: the transfer "
            "stage trains on final_train minus the held-out batches, so hold out training batches of final_train "
            f"({', '.join(b for b in splits['final_train'] if b != TEST_BATCH) or 'none: give final_train data_batch_1..5'}), "
            "or set transfer.enabled: false."
        )
    elif len(held_out) >= len(splits["final_train"]):
        problems.append(
            f"transfer.held_out holds out every batch of splits.final_train ({', '.join(held_out)}), which leaves "
            "nothing to train on; hold out fewer batches, or set transfer.enabled: false."
        )
    tested = sorted(set(held_out) & (set(splits["test"]) | {TEST_BATCH}))
    if tested:
        problems.append(
            f"transfer.held_out holds {', '.join(tested)}, a batch of the test set: the transfer stage compares "
            "configurations on its held-out batches, which must hold no test image. Use data_batch_1..5."
        )
    return problems


def _cyclical_problems(config: Mapping) -> list[str]:
    """The later recipe's ranges must be ordered, and its held-out rows must leave rows to train on."""
    cyclical = config["cyclical"]
    problems = []
    for where, low, high in (("cyclical", cyclical["eta_min"], cyclical["eta_max"]),
                             ("cyclical.range_test", cyclical["range_test"]["eta_min"], cyclical["range_test"]["eta_max"])):
        if not low < high:
            problems.append(f"{where}.eta_min ({low:g}) must be below {where}.eta_max ({high:g}): the rate cycles between them")
    search = cyclical["search"]
    if not search["l_min"] < search["l_max"]:
        problems.append(f"cyclical.search.l_min ({search['l_min']:g}) must be below l_max ({search['l_max']:g}): "
                        "lambda = 10^l is drawn with l uniform between them")
    rows = len(config["splits"]["final_train"]) * IMAGES_PER_BATCH
    for key in ("validation", "final_validation"):
        if cyclical[key] >= rows:
            problems.append(f"cyclical.{key} is {cyclical[key]:,} rows, but splits.final_train holds {rows:,}: hold out "
                            "fewer rows so that some are left to train on (the later recipe's default is 5,000 and 1,000)")
    return problems


def _leakage(splits: Mapping) -> list[str]:
    problems = []
    for name in TRAINING_SPLITS:
        if TEST_BATCH in splits[name]:
            problems.append(
                f"splits.{name} contains {TEST_BATCH}: the test batch may appear only in splits.test, or the study "
                "would train or select on the images it is tested on. Use data_batch_1..5 there."
            )
    shared = sorted(set(splits["search_train"]) & set(splits["search_val"]))
    if shared:
        problems.append(
            f"splits.search_train and splits.search_val share {', '.join(shared)}: the searches would choose by "
            "accuracy on images they trained on. Give them disjoint batches."
        )
    for name in TRAINING_SPLITS:
        shared = sorted(set(splits["test"]) & set(splits[name]))
        if shared and TEST_BATCH not in shared:
            problems.append(
                f"splits.test and splits.{name} share {', '.join(shared)}: the test set must hold no image used "
                "for training or selection. Give splits.test batches that no other split uses."
            )
    return problems


def _too_many_points(grid: str, learning_rates: int, regularizations: int, derived: bool = False) -> list[str]:
    points = learning_rates * regularizations
    if points <= MAX_GRID_POINTS:
        return []
    where = f"{grid}.derived" if derived else grid
    return [
        f"{where}: {learning_rates} learning rates x {regularizations} regularizations = {points:,} grid points, "
        f"more than the {MAX_GRID_POINTS:,} this workflow plans; search a smaller grid (a coarse one first, then a "
        "finer one around its best runs)."
    ]


def _collisions(config: Mapping) -> list[str]:
    """Values that would give two figures, or two full-scale runs, one name."""
    # Grid values are already refused when they share a run id (search.grid_values).
    return (_same_names("momentum.values", config["momentum"]["values"], lambda v: f"{v:g}", "figure files momentum_<m>.png")
            + _shared_run_ids(config["transfer"]))


def _shared_run_ids(transfer: Mapping) -> list[str]:
    """transfer.also entries with one run id: the stage would keep only the first of them."""
    if not transfer["enabled"]:
        return []
    by_id: dict[str, list[int]] = {}
    for index, entry in enumerate(transfer["also"]):
        by_id.setdefault(run_id(entry["learning_rate"], entry["regularization"]), []).append(index)
    problems = []
    for name, (first, *others) in by_id.items():
        for other in others:
            problems.append(
                f"transfer.also[{first}] and transfer.also[{other}] ({_entry(transfer['also'][first])} and "
                f"{_entry(transfer['also'][other])}) share the run id {name}, so the stage would train one and drop "
                "the other; list each configuration once, with values that differ in their first six significant digits"
            )
    return problems


def _entry(entry: Mapping) -> str:
    return f"learning rate {entry['learning_rate']!r}, regularization {entry['regularization']!r}"


def _same_names(where: str, values, name, what: str) -> list[str]:
    by_name: dict[str, list] = {}
    for value in values:
        by_name.setdefault(name(value), []).append(value)
    return [
        f"{where}: {', '.join(map(repr, group))} are distinct values but share the name {key!r} in the {what}; "
        "give values that differ in their first six significant digits"
        for key, group in by_name.items() if len(group) > 1
    ]


def _grid_problems(config: Mapping) -> list[str]:
    problems = []
    if config["fine"]["grid_from"] == "coarse":
        derived = config["fine"]["derived"]
        problems += _too_many_points("fine", derived["learning_rates"], derived["regularizations"], derived=True)
    for grid in ("coarse", "fine"):
        sizes = {}
        for axis in ("learning_rates", "regularizations"):
            try:
                values = grid_values(config[grid][axis])
            except ValueError as error:
                problems.append(f"{grid}.{axis}: {error}")
                continue
            sizes[axis] = len(values)
            if axis == "learning_rates" and min(values) <= 0:
                problems.append(f"{grid}.{axis}: every learning rate must be > 0, got {values}")
            if axis == "regularizations" and min(values) < 0:
                problems.append(f"{grid}.{axis}: every regularization must be >= 0, got {values}")
        if len(sizes) == 2:
            problems += _too_many_points(grid, sizes["learning_rates"], sizes["regularizations"])
    return problems


# The checkout's own folders: a study folder inside one would mix results with code or records.
CHECKOUT_FOLDERS = frozenset({"benchmarks", "cluster", "config", "docs", "profiles", "report", "resources",
                              "results", "src", "tests", "tools", "workflow"})


MAX_STUDY_DIR = 100  # characters: runs/<name> with room to spare, far inside any file system's limit


def _study_dir_problems(study_dir: str) -> list[str]:
    """A study folder must lie inside the checkout, outside its own folders: a relative path that
    never climbs out of it and does not start in src/, config/, results/, a hidden folder; a short
    one, without Snakemake's wildcard braces, that is not a file already."""
    if len(study_dir) > MAX_STUDY_DIR:
        return [f"study_dir has {len(study_dir):,} characters: give a short folder such as runs/mine (at most "
                f"{MAX_STUDY_DIR})"]
    if "{" in study_dir or "}" in study_dir:
        return [f"study_dir = {study_dir!r}: braces are Snakemake's wildcards in every path of the study; give a "
                "folder name without them, such as runs/mine"]
    if Path(study_dir).exists() and not Path(study_dir).is_dir():
        return [f"study_dir = {study_dir!r} is a file, not a folder: give a folder of its own, such as runs/mine"]
    path = PurePosixPath(study_dir)
    if path.is_absolute() or ".." in path.parts or "\\" in study_dir or ":" in study_dir:
        return [f"study_dir = {study_dir!r}: give a folder inside the checkout as a relative path "
                "without '..', such as runs/mine ('.' is the checkout itself)"]
    first = path.parts[0] if path.parts else None  # no parts: "." itself
    if first is not None and (first in CHECKOUT_FOLDERS or first.startswith(".")):
        return [f"study_dir = {study_dir!r}: {first}/ is one of the checkout's own folders; give a folder "
                "of its own, such as runs/mine ('.' is the checkout itself)"]
    return []


def _unknown_keys(value, schema: Mapping, root: Mapping, path: tuple = ()) -> Iterator[str]:
    """Every key the schema does not allow, found by walking the configuration's keys along the schema's
    properties only: nothing under an unknown key is looked at."""
    while "$ref" in schema:
        schema = _resolve(schema["$ref"], root)
    if not isinstance(value, Mapping):
        return
    properties, additional = schema.get("properties", {}), schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in properties:
            yield from _unknown_keys(item, properties[key], root, (*path, key))
        elif additional is False:
            allowed = ", ".join(sorted(properties)) or "none"
            yield f"{_where((*path, key))}: {key!r} is not a key of the configuration here; the allowed keys here are: {allowed}"
        elif isinstance(additional, Mapping):
            yield from _unknown_keys(item, additional, root, (*path, key))


def validate_config(config: MutableMapping, schema_path: str | Path, sources: tuple[str | Path, ...] = ()) -> None:
    """Check ``config`` in place: coerce numeric text, apply defaults, raise ConfigError listing every problem.

    ``sources`` are the YAML files the configuration was read from: each is read again as untrusted
    data (``read_config_file``: a regular file, bounded in size, nesting and expanded aliases) and
    checked for repeated keys. Before anything walks the values, their count with aliases expanded
    is bounded and unknown keys are refused.
    """
    duplicates = [f"{source}: {duplicate} (YAML keeps only the last value; remove one)"
                  for source in sources for duplicate in read_config_file(source)[1]]
    schema = yaml.safe_load(Path(schema_path).read_text())
    try:
        _values(config)
    except _ConfigTooLarge as error:
        raise ConfigError(f"The configuration is not one: {error}, where config.yaml holds about a hundred plain "
                          "values; look for anchors (&a) and aliases (*a), or nesting, in the values given with "
                          "--config.") from None
    unknown = list(_unknown_keys(config, schema, schema)) + list(_invisible_characters(config))
    if unknown:
        raise ConfigError(
            "The configuration is invalid, so no job was started. Fix these keys in config.yaml "
            "(or in the file given with --configfile / the values given with --config):\n  - "
            + "\n  - ".join(unknown + duplicates)
        )
    validator = _Validator(schema)
    _coerce_text(config, validator)
    _apply_defaults(config, schema, schema)
    non_finite = {tuple(path): value for path, value in _non_finite(config)}
    problems = [
        f"{_where(path)} = {value!r}: NaN and infinity are not allowed; give a finite number" for path, value in non_finite.items()
    ]
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    problems += [_describe(e) for e in errors if tuple(e.absolute_path) not in non_finite]
    problems += duplicates
    if not problems:
        config["data"]["md5"] = config["data"]["md5"].lower()
        problems += _grid_problems(config)
        if not problems:
            problems += _collisions(config)
        problems += _leakage(config["splits"])
        problems += _transfer_leakage(config)
        problems += _cyclical_problems(config)
        problems += _study_dir_problems(config["study_dir"])
        config["study_dir"] = PurePosixPath(config["study_dir"]).as_posix()  # "./" and "runs//a/" name "." and "runs/a"
        for name, spec in config["gradcheck"]["networks"].items():
            if len(spec["regularization"]) not in (1, len(spec["hidden_sizes"]) + 1):
                problems.append(
                    f"gradcheck.networks.{name}.regularization: give 1 value or one per linear layer "
                    f"({len(spec['hidden_sizes']) + 1}), got {len(spec['regularization'])}"
                )
    if problems:
        raise ConfigError(
            "The configuration is invalid, so no job was started. Fix these keys in config.yaml "
            "(or in the file given with --configfile / the values given with --config):\n  - "
            + "\n  - ".join(problems)
        )
    _in_schema_order(config, schema, schema)


def _in_schema_order(value, schema: Mapping, root: Mapping) -> None:
    """Put the keys of every mapping in the order the schema lists them, in place: --config adds the keys
    it sets last, and a rule's parameters that hold the configuration would change with that order alone
    (an unchanged value given with --config would rerun the report)."""
    while "$ref" in schema:
        schema = _resolve(schema["$ref"], root)
    if not isinstance(value, MutableMapping):
        return
    properties = schema.get("properties", {})
    ordered = {key: value[key] for key in properties if key in value} | {key: value[key] for key in value if key not in properties}
    value.clear()
    value.update(ordered)
    for key, item in value.items():
        sub = properties.get(key, schema.get("additionalProperties"))
        if isinstance(sub, Mapping):
            _in_schema_order(item, sub, root)


def _leaves(value, prefix: str = "") -> dict[str, object]:
    """A nested configuration as {dotted key: value}; lists are values."""
    if not isinstance(value, Mapping):
        return {prefix: value}
    leaves = {}
    for key, item in value.items():
        leaves.update(_leaves(item, f"{prefix}.{key}" if prefix else str(key)))
    return leaves


def changed_keys(before: Mapping, after: Mapping) -> list[tuple[str, object, object]]:
    """(dotted key, value before, value after) for every key whose value differs; a missing key's value is None."""
    old, new = _leaves(before), _leaves(after)
    return [(key, old.get(key), new.get(key)) for key in sorted(old.keys() | new.keys()) if old.get(key) != new.get(key)]


MAX_RECORD_BYTES = 1_000_000  # a study's configuration is a few kilobytes


def study_replacement(record: str | Path, config: Mapping, study_dir: str) -> str | None:
    """One line saying that a run with ``config`` replaces the finished study of ``study_dir``, whose
    configuration ``record`` holds (the report's, report/configuration.json), or None.

    None when there is no finished study, its configuration is the same, or the record cannot be
    read as one (it only decides whether to warn; a FIFO or a folder in its place is not read).
    """
    if not Path(record).is_file():
        return None
    try:
        raw = read_at_most(record, MAX_RECORD_BYTES)
        finished = json.loads(raw) if raw is not None else None
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(finished, dict):
        return None
    changes = changed_keys(finished, json.loads(json.dumps(config)))  # compared as the record holds it
    if not changes:
        return None
    shown = ", ".join(f"{key} {_short(old)} -> {_short(new)}" for key, old, new in changes[:3])
    more = f" and {len(changes) - 3} more" if len(changes) > 3 else ""
    where = "the checkout's results/ and report/" if study_dir == "." else f"{study_dir}/"
    return (f"This run replaces the finished study in {where} (its configuration differs: {shown}{more}); to run "
            f"beside it instead, give the run a study folder of its own: --config study_dir=runs/NAME, or "
            f"study_dir: runs/NAME in your configuration file.")


def _short(value) -> str:
    text = "(unset)" if value is None else json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."
