"""Hostile and careless inputs to the library: pickles that run code, oversized or odd archives,
tampered split and model files, non-finite numbers in JSON."""

import builtins
import io
import json
import pickle
import subprocess
import tarfile
from pathlib import Path

import numpy as np
import pytest

from synthetic import BATCHES, add_member, make_batch, write_archive
from twolayer import cifar
from twolayer.cifar import DataFormatError, extract_archive, load_batch, load_class_names, member_targets, verify_archive
from twolayer.download import DataSourceError, fetch_archive, md5sum
from twolayer.io import write_json
from twolayer.network import two_layer_network
from twolayer.preprocess import SplitFileError, load_split, save_split
from twolayer.stages.model import MODEL_KEYS, ModelFileError, load_model, save_model


class _RunsCode:
    """Unpickling this calls ``action(*args)``: what a crafted batch does to a plain unpickler."""

    def __init__(self, action, *args):
        self.action, self.args = action, args

    def __reduce__(self):
        return self.action, self.args


def _valid_batch(n=10):
    return make_batch(np.random.default_rng(0), n, "data_batch_1")


def _write(tmp_path, obj, name="data_batch_1"):
    path = tmp_path / name
    path.write_bytes(pickle.dumps(obj, protocol=2))
    return path


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_genuine_batches_load_in_every_pickle_protocol(tmp_path, protocol):
    batch = _valid_batch()
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps(batch, protocol=protocol))
    X, y = load_batch(path)
    np.testing.assert_array_equal(X, batch[b"data"])
    np.testing.assert_array_equal(y, batch[b"labels"])


def test_numpy_integer_labels_load(tmp_path):
    batch = _valid_batch()
    batch[b"labels"] = np.asarray(batch[b"labels"], dtype=np.int32)
    assert load_batch(_write(tmp_path, batch))[1].dtype == np.int64


def test_a_batch_whose_pickle_runs_a_command_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "marker"
    path = _write(tmp_path, _RunsCode(subprocess.call, ["touch", str(marker)]))
    with pytest.raises(DataFormatError) as error:
        load_batch(path)
    assert str(path) in str(error.value) and ".call, which a CIFAR-10 batch never contains" in str(error.value)
    assert not marker.exists()


def test_a_pickle_that_runs_code_then_returns_a_valid_batch_is_refused(tmp_path):
    marker = tmp_path / "marker"
    batch = _valid_batch()
    # eval creates the marker, then evaluates to a perfectly valid batch
    code = f"(open({str(marker)!r}, 'w').close(), __import__('pickle').loads({pickle.dumps(batch)!r}))[1]"
    path = _write(tmp_path, _RunsCode(builtins.eval, code))
    assert pickle.loads(path.read_bytes())[b"labels"] == batch[b"labels"]  # what a plain unpickler does...
    assert marker.exists()
    marker.unlink()
    with pytest.raises(DataFormatError, match=r"builtin__\.eval, which"):  # ...and what ours does
        load_batch(path)
    assert not marker.exists()


def test_a_hidden_code_object_inside_a_valid_batch_is_refused(tmp_path):
    marker = tmp_path / "marker"
    batch = _valid_batch()
    batch[b"filenames"] = [_RunsCode(open, str(marker), "w")]
    with pytest.raises(DataFormatError, match=r"io\.open, which"):
        load_batch(_write(tmp_path, batch))
    assert not marker.exists()


def test_class_names_are_read_by_the_same_safe_reader(tmp_path):
    marker = tmp_path / "marker"
    path = _write(tmp_path, {b"label_names": _RunsCode(open, str(marker), "w")}, name="batches.meta")
    with pytest.raises(DataFormatError, match=r"io\.open, which"):
        load_class_names(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda b: b.update({b"data": b[b"data"][:0], b"labels": []}), "holds no images"),
        (lambda b: b.update({b"labels": [float(v) for v in b[b"labels"]]}), "b'labels' must be 10 integers"),
        (lambda b: b.update({b"labels": b[b"labels"][:-1]}), "b'labels' must be 10 integers"),
        (lambda b: b.update({b"labels": [12] * 10}), "labels must lie in 0..9"),
        (lambda b: b.update({b"data": b[b"data"].astype(np.float64)}), "float64 array"),
        (lambda b: b.update({b"data": b[b"data"].astype(object)}), "dtype 'O8' is not a plain numeric type"),
        (lambda b: b.pop(b"labels"), "lacks the keys"),
    ],
)
def test_malformed_batches_are_named(tmp_path, change, expected):
    batch = _valid_batch()
    change(batch)
    with pytest.raises(DataFormatError, match=expected):
        load_batch(_write(tmp_path, batch))


def test_a_batch_file_over_the_size_cap_is_refused_before_reading(tmp_path, monkeypatch):
    path = _write(tmp_path, _valid_batch())
    monkeypatch.setattr(cifar, "MAX_MEMBER_BYTES", path.stat().st_size - 1)
    with pytest.raises(DataFormatError, match="more than"):
        load_batch(path)


def _archive_with(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in members.items():
            add_member(tar, name, payload)
    return path


def test_a_member_over_the_cap_is_refused_with_its_size_and_nothing_is_written(tmp_path):
    size = cifar.MAX_MEMBER_BYTES + 1
    archive = tmp_path / "big.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        for name in BATCHES + ["batches.meta"]:
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = size if name == "data_batch_2" else 4
            tar.addfile(info, io.BytesIO(bytes(info.size)))
    targets = member_targets(tmp_path / "out")
    with pytest.raises(DataFormatError) as error:
        extract_archive(archive, {"data_batch_2": targets["data_batch_2"]})
    assert f"{size:,} bytes" in str(error.value) and "data_batch_2" in str(error.value)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_an_archive_with_too_many_entries_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(cifar, "MAX_ARCHIVE_ENTRIES", 5)
    archive = write_archive(tmp_path / "a.tar.gz", images_per_batch=2)
    with pytest.raises(DataFormatError, match="more than 5 entries"):
        extract_archive(archive, member_targets(tmp_path / "out"))


def test_an_archive_that_unpacks_to_too_much_is_refused_before_extraction(tmp_path, monkeypatch):
    archive = write_archive(tmp_path / "a.tar.gz", images_per_batch=20)
    monkeypatch.setattr(cifar, "MAX_UNPACKED_BYTES", 3 * 20 * 3072)
    with pytest.raises(DataFormatError, match="unpacks to more than"):
        extract_archive(archive, member_targets(tmp_path / "out"))
    # The members before the bound was passed were staged, then removed: no file is left.
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_extraction_copies_in_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(cifar, "CHUNK", 1000)
    archive = write_archive(tmp_path / "a.tar.gz", images_per_batch=5)
    extract_archive(archive, member_targets(tmp_path / "out"))
    assert load_batch(tmp_path / "out" / "data_batch_1")[0].shape == (5, 3072)


def test_archive_made_with_a_dot_slash_prefix_is_read(tmp_path):
    source = tmp_path / "src"
    extract_archive(write_archive(tmp_path / "a.tar.gz", images_per_batch=5), member_targets(source / "cifar-10-batches-py"))
    archive = tmp_path / "dotted.tar.gz"
    subprocess.run(["tar", "czf", str(archive), "./cifar-10-batches-py"], cwd=source, check=True)
    with tarfile.open(archive) as tar:
        assert any(name.startswith("./cifar-10-batches-py/") for name in tar.getnames())
    extract_archive(archive, member_targets(tmp_path / "out"))
    assert load_batch(tmp_path / "out" / "test_batch")[0].shape == (5, 3072)


def test_the_archive_is_checked_against_its_md5_before_extraction(tmp_path):
    archive = write_archive(tmp_path / "a.tar.gz", images_per_batch=5)
    assert verify_archive(archive, md5sum(archive).upper()) == md5sum(archive)
    with pytest.raises(DataFormatError) as error:
        verify_archive(archive, "f" * 32)
    assert md5sum(archive) in str(error.value) and "f" * 32 in str(error.value) and "data.md5" in str(error.value)


def test_a_directory_as_data_url_says_it_is_a_directory(tmp_path):
    with pytest.raises(DataSourceError, match="is a directory"):
        fetch_archive(str(tmp_path), "0" * 32, tmp_path / "out.tar.gz", retries=0)
    with pytest.raises(DataFormatError, match="is a directory"):
        extract_archive(tmp_path, member_targets(tmp_path / "out"))
    with pytest.raises(DataSourceError, match="is not a regular file"):
        fetch_archive("/dev/zero", "0" * 32, tmp_path / "out.tar.gz", retries=0)


def test_a_source_over_the_size_cap_is_refused(tmp_path, monkeypatch):
    from twolayer import download

    archive = write_archive(tmp_path / "a.tar.gz", images_per_batch=5)
    monkeypatch.setattr(download, "MAX_ARCHIVE_BYTES", archive.stat().st_size - 1)
    target = tmp_path / "out" / "archive.tar.gz"
    with pytest.raises(DataSourceError, match="more than"):
        fetch_archive(str(archive), md5sum(archive), target, retries=3, backoff=5)
    assert not target.exists()


def test_tampered_split_files_are_named(tmp_path):
    X = np.zeros((4, 3072), dtype=np.uint8)
    good = tmp_path / "good.npz"
    save_split(good, X, np.arange(4))
    assert load_split(good).X.shape == (4, 3072)
    cases = {
        "no_rows.npz": dict(X=X[:0], y=np.arange(0), mean=np.zeros((3072, 1))),
        "nan_mean.npz": dict(X=X, y=np.arange(4), mean=np.full((3072, 1), np.nan)),
        "labels.npz": dict(X=X, y=np.arange(4) + 20, mean=np.zeros((3072, 1))),
        "object.npz": dict(X=np.array([None] * 4, dtype=object), y=np.arange(4), mean=np.zeros((3072, 1))),
    }
    for name, arrays in cases.items():
        np.savez(tmp_path / name, **arrays)
        with pytest.raises(SplitFileError, match=name):
            load_split(tmp_path / name)


@pytest.fixture
def model_file(tmp_path, rng):
    net = two_layer_network(3072, hidden_size=6, regularization=0.01, rngs=[rng], dtype=np.float32)
    path = tmp_path / "model.npz"
    save_model(path, net, rng.uniform(size=(3072, 1)))
    return path


def _tampered(model_file, tmp_path, **changes):
    with np.load(model_file) as data:
        arrays = {key: data[key] for key in data.files}
    for key, value in changes.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value
    path = tmp_path / "tampered.npz"
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"b1": np.zeros((1, 1))}, r"b1 has shape \(1, 1\), expected \(6, 1\)"),
        ({"W2": np.zeros((10, 1))}, r"W2 has shape \(10, 1\), expected \(10, 6\)"),
        ({"W2": np.zeros((7, 6)), "b2": np.zeros((7, 1))}, r"W2 has shape \(7, 6\), expected \(10, 6\)"),
        ({"W1": np.zeros((6, 100))}, r"W1 has shape \(6, 100\), expected \(6, 3072\)"),
        ({"W1": np.zeros(3072)}, r"W1 has shape \(3072,\), expected \(H, 3072\)"),
        ({"mean": np.zeros(3072)}, r"mean has shape \(3072,\), expected \(3072, 1\)"),
        ({"W1": np.full((6, 3072), np.nan)}, "W1 holds NaN or infinite values"),
        ({"b2": np.full((10, 1), np.inf)}, "b2 holds NaN or infinite values"),
        ({"W2": np.zeros((10, 6), dtype=np.int64)}, "W2 is int64, expected floating-point"),
        ({"regularization": np.float64(-1)}, "regularization is -1.0"),
        ({"b1": None}, "missing b1"),
        ({"regularization": None}, "missing regularization"),
        ({"extra": np.zeros(2)}, "unexpected extra"),
        ({"W1": np.array([None], dtype=object)}, "not a readable model file"),
    ],
)
def test_tampered_model_files_are_refused_naming_the_array(model_file, tmp_path, changes, expected):
    with pytest.raises(ModelFileError, match=expected):
        load_model(_tampered(model_file, tmp_path, **changes))


def test_a_reloaded_model_has_the_same_cost_including_the_l2_term(model_file, rng):
    model = load_model(model_file)
    with np.load(model_file) as data:
        assert sorted(data.files) == sorted(MODEL_KEYS)
        W1, W2 = data["W1"].astype(np.float64), data["W2"].astype(np.float64)
    X, y = rng.uniform(size=(20, 3072)), rng.integers(0, 10, size=20)
    l2 = 0.01 * ((W1**2).sum() + (W2**2).sum())
    assert model.regularization_costs()[0] == pytest.approx(l2)
    assert model.costs(X, y)[0] == pytest.approx(model.loss.cross_entropies(y)[0] + l2)


def test_json_files_are_strict(tmp_path):
    path = tmp_path / "m.json"
    write_json({"a": float("nan"), "b": [float("inf"), 1.5], "c": {"d": -float("inf")}}, path)

    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")

    assert json.loads(path.read_text(), parse_constant=refuse) == {"a": None, "b": [None, 1.5], "c": {"d": None}}


def test_a_batch_pickled_as_the_official_python2_files_loads(tmp_path):
    from synthetic import python2_pickle

    data = np.random.default_rng(1).integers(0, 256, size=(7, 3072), dtype=np.uint8)
    labels = [3, 1, 4, 1, 5, 9, 2]
    path = tmp_path / "data_batch_1"
    path.write_bytes(python2_pickle(data, labels))
    assert "numpy.core.multiarray" in path.read_bytes()[:80].decode("latin1")
    X, y = load_batch(path)
    np.testing.assert_array_equal(X, data)
    np.testing.assert_array_equal(y, labels)


def test_a_pickle_cannot_make_numpy_allocate_an_array_of_its_choosing(tmp_path):
    from numpy._core.multiarray import _reconstruct

    batch = _valid_batch()
    batch[b"data"] = _RunsCode(_reconstruct, np.ndarray, (10**12,), b"b")
    with pytest.raises(DataFormatError, match=r"_reconstruct was asked for something other than an empty ndarray: \(numpy.ndarray, \(1000000000000,\)\)"):
        load_batch(_write(tmp_path, batch))
    batch[b"data"] = _RunsCode(np.ndarray, (10**12,), "u1")  # numpy.ndarray called directly
    with pytest.raises(DataFormatError, match="calls a _Global, which is not callable here"):
        load_batch(_write(tmp_path, batch))
    batch[b"data"] = _RunsCode(bytes, 10**12)
    with pytest.raises(DataFormatError, match=r"bytes\(\) was called with arguments"):
        load_batch(_write(tmp_path, batch))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("run_id,learning_rate,regularization\nx,nan,0.1\n", "learning rate nan"),
        ("run_id,learning_rate,regularization\nx,0.1,-1\n", "regularization -1"),
        ("run_id,learning_rate,regularization\nx,fast,0.1\n", "learning rate 'fast'"),
        ("run_id,learning_rate\nx,0.1\n", "lacks regularization"),
        ("run_id,learning_rate,regularization\n", "it has 0 rows"),
    ],
)
def test_a_tampered_top_table_is_refused_before_training(tmp_path, text, expected):
    from twolayer.choice import chosen_configuration

    path = tmp_path / "top.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=expected):
        chosen_configuration(path)


@pytest.mark.parametrize("keep", [0.3, 0.7, 0.95])
def test_a_truncated_archive_is_reported_as_damaged_and_no_target_is_placed(tmp_path, keep):
    """The members read before the damage are staged, not placed: a cut archive leaves nothing behind."""
    whole = write_archive(tmp_path / "a.tar.gz", images_per_batch=200).read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole[: int(len(whole) * keep)])
    with pytest.raises(DataFormatError, match="damaged|not a readable"):
        extract_archive(cut, member_targets(tmp_path / "out"))
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


class _Reduces:
    """Pickles as ``function(*args)`` with ``state`` set by BUILD: how a crafted file steers NumPy."""

    def __init__(self, function, args, state=None):
        self.function, self.args, self.state = function, args, state

    def __reduce__(self):
        return (self.function, self.args) if self.state is None else (self.function, self.args, self.state)


def _reconstructed(state):
    from numpy._core.multiarray import _reconstruct

    return _Reduces(_reconstruct, (np.ndarray, (0,), b"b"), state)


@pytest.mark.parametrize(
    "data, expected",
    [
        # an object array whose state is shorter than its shape: NumPy would read pointers past the data
        (lambda: _reconstructed((1, (10, 3072), np.dtype("O"), False, b"\x00" * 8)), "'O8' is not a plain numeric type"),
        # a structured dtype with a hidden object field laid over bytes the file chose
        (lambda: _reconstructed((1, (10,), np.dtype([("a", "u8"), ("b", "O")]), False, b"\x41" * 160)), "not a plain numeric type"),
        # a plain code whose state adds a field far larger than its item
        (lambda: _reconstructed((1, (10, 3072), _Reduces(np.dtype, ("u1", False, True), (3, "|", None, ("a",), {"a": (np.dtype("u8"), 0)}, 1, 1, 0)), False, b"\x00" * 30720)),
         "carries fields, a sub-array, flags or sizes"),
        # a shape that disagrees with its data
        (lambda: _reconstructed((1, (10, 3072), np.dtype("u1"), False, b"\x00" * 100)), "the shape disagrees with the data"),
        (lambda: _reconstructed((1, (10, 3072, 1), np.dtype("u1"), False, b"\x00" * 30720)), "up to 2 non-negative integers"),
        (lambda: _reconstructed((1, (-10, 3072), np.dtype("u1"), False, b"")), "up to 2 non-negative integers"),
        (lambda: _reconstructed((1, (10, 3072), np.dtype("u1"), False, [0] * 10)), "data is a list, not raw bytes"),
    ],
)
def test_arrays_whose_state_numpy_would_trust_are_refused_before_allocation(tmp_path, data, expected):
    batch = _valid_batch()
    batch[b"data"] = data()
    for protocol in (2, 4):
        path = tmp_path / f"p{protocol}"
        path.write_bytes(pickle.dumps(batch, protocol=protocol))
        with pytest.raises(DataFormatError, match=expected) as error:
            load_batch(path)
        assert str(path) in str(error.value)


def test_a_memo_dag_of_labels_is_refused_before_it_is_expanded(tmp_path):
    level = [0, 0]
    for _ in range(40):  # 2**40 leaves, about 200 bytes of pickle
        level = [level, level]
    batch = _valid_batch()
    batch[b"labels"] = level
    path = _write(tmp_path, batch)
    with pytest.raises(DataFormatError, match="refers a second time to a list"):
        load_batch(path)


@pytest.mark.parametrize(
    "labels, expected",
    [
        ([[1, 2] for _ in range(5)] + [[3] for _ in range(5)], "list of 10 items of type list"),
        ([True] * 10, "type bool"),
        ([2**70] * 10, "labels must lie in 0..9"),
        ("0123456789", "got a str"),
    ],
)
def test_ragged_nested_or_odd_labels_are_named_with_the_file(tmp_path, labels, expected):
    batch = _valid_batch()
    batch[b"labels"] = labels
    path = _write(tmp_path, batch)
    with pytest.raises(DataFormatError, match=expected) as error:
        load_batch(path)
    assert str(path) in str(error.value)


def test_deeply_nested_labels_are_named_with_the_file(tmp_path):
    nested = 0
    for _ in range(400):
        nested = [nested]
    batch = _valid_batch()
    batch[b"labels"] = [nested] * 1 + list(range(9))
    with pytest.raises(DataFormatError, match=r"data_batch_1 is not a genuine CIFAR-10 batch: containers nest more than 8 deep"):
        load_batch(_write(tmp_path, batch))  # refused as the parser meets it, before any label is looked at


def test_a_pickle_that_builds_too_many_objects_is_refused(tmp_path, monkeypatch):
    from twolayer import batchpickle

    monkeypatch.setattr(batchpickle, "MAX_OBJECTS", 100)
    with pytest.raises(DataFormatError, match="more than 100 objects"):
        load_batch(_write(tmp_path, _valid_batch(200)))


def test_damaged_pickles_end_in_a_named_error_never_a_crash(tmp_path):
    """Every byte flip or cut of a genuine batch is read or refused with DataFormatError; nothing else escapes."""
    genuine = pickle.dumps(_valid_batch(3), protocol=2)
    rng = np.random.default_rng(0)
    path = tmp_path / "data_batch_1"
    outcomes = {"read": 0, "refused": 0}
    for trial in range(3000):
        damaged = bytearray(genuine)
        if trial % 3 == 0:
            damaged = damaged[: rng.integers(0, len(damaged))]
        for position in rng.integers(0, len(genuine), size=1 + trial % 4):
            if position < len(damaged):
                damaged[position] = rng.integers(0, 256)
        path.write_bytes(bytes(damaged))
        try:
            load_batch(path)
            outcomes["read"] += 1
        except DataFormatError:
            outcomes["refused"] += 1
    assert outcomes["refused"] > 1000 and outcomes["read"] > 0


@pytest.mark.parametrize(
    "name, expected",
    [
        (b"cat\rdog", "control character"),
        (b"", "is empty"),
        (b"NA", "missing value"),
        (b"1.0", "reads as a number"),
        (b"True", "truth value"),
        (b"\xe2\x80\xae", "control character"),  # right-to-left override
        (b" cat", "white space"),
        (b"x" * 100_000, "100,000 characters"),
        (b"\xff\xfe", "not UTF-8"),
        (b"AIRPLANE", r"reads like class name 0 \('airplane'\)"),
        ("\u0430irplane".encode(), r"reads like class name 0 \('airplane'\)"),  # Cyrillic а
        ("ａｉｒｐｌａｎｅ".encode(), r"reads like class name 0 \('airplane'\)"),  # fullwidth
        ("airplane\u0301".encode(), r"reads like class name 0 \('airplane'\)"),  # a combining accent
        ("bi\u0433d".encode(), r"reads like class name 2 \('bird'\)"),  # Cyrillic г reads as r
        (b"d0g", r"class name 5 \('dog'\) reads like class name 3 \('d0g'\)"),  # a zero for the o
    ],
)
def test_bad_class_names_are_refused_when_the_archive_is_read(tmp_path, name, expected):
    from synthetic import CLASSES

    names = [c.encode() for c in CLASSES]
    names[3] = name
    members = {batch: pickle.dumps(make_batch(np.random.default_rng(0), 10, batch)) for batch in BATCHES}
    members["batches.meta"] = pickle.dumps({b"label_names": names})
    archive = _archive_with(tmp_path / "a.tar.gz", members)
    with pytest.raises(DataFormatError, match=expected) as error:
        extract_archive(archive, member_targets(tmp_path / "out"))
    assert "cifar-10-batches-py/batches.meta: class name " in str(error.value) and "class name 3" in str(error.value)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_markdown_that_smuggles_raw_typst_html_or_tex_renders_as_text(tmp_path):
    """pandoc reads no raw passthrough, and Typst sees only the report's own files."""
    import pymupdf

    from twolayer.report import render_pdf

    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-TOKEN")
    (tmp_path / "report").mkdir()
    markdown = tmp_path / "report" / "report.md"
    markdown.write_text(
        "Inline `#read(\"../secret.txt\")`{=typst} and <b>html</b> and \\input{secret.txt}.\n\n"
        "```{=typst}\n#read(\"../secret.txt\")\n```\n"
    )
    render_pdf(markdown, tmp_path / "report" / "report.pdf", figures=[])
    with pymupdf.open(tmp_path / "report" / "report.pdf") as pdf:
        text = " ".join(page.get_text() for page in pdf)
    assert "SECRET-TOKEN" not in text and "#read" in text
    assert sorted(p.name for p in (tmp_path / "report").iterdir()) == [".report.pdf.sha256", "report.md", "report.pdf"]


def test_report_text_helpers_keep_data_inert():
    from twolayer.report import code, code_block, link_target, markdown_text

    assert markdown_text("a|b\n# c") == "a\\|b\ufffd\\# c"
    assert markdown_text("0.36") == "0.36"
    assert markdown_text("1. item") == "\u20601\\. item" and markdown_text("- x") == "\u2060\\- x"
    assert code("x``y") == "```x``y```"
    assert code_block("a\n````\nb", "yaml").startswith("`````yaml\n")
    with pytest.raises(ValueError, match="cannot carry"):
        link_target("figures/a b).png")


def test_a_rendering_step_that_hangs_is_stopped_with_a_message(monkeypatch):
    import sys

    from twolayer import report

    monkeypatch.setattr(report, "RENDER_SECONDS", 0.5)
    with pytest.raises(RuntimeError, match="did not finish within 0.5 s"):
        report._run_limited([sys.executable, "-c", "import time; time.sleep(30)"], "typst (Typst to PDF)")


def _tar_gz(path, blocks: bytes) -> Path:
    import gzip

    path.write_bytes(gzip.compress(blocks + b"\0" * 1024, compresslevel=1))
    return path


def _header(name: str, size: int, kind=tarfile.REGTYPE) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.type = size, kind
    return info.tobuf(format=tarfile.USTAR_FORMAT)


@pytest.mark.parametrize("kind", [tarfile.GNUTYPE_LONGNAME, tarfile.XHDTYPE, tarfile.XGLTYPE])
def test_extended_headers_are_bounded_before_tarfile_reads_them(tmp_path, kind):
    """A 1 GiB long-name header (a few bytes once compressed) is refused from its size alone."""
    import time

    archive = _tar_gz(tmp_path / "a.tar.gz", _header("././@LongLink", 2**30, kind) + b"x" * 4096)
    started = time.perf_counter()
    with pytest.raises(DataFormatError, match=r"long-name or PAX header of 1,073,741,824 bytes") as error:
        extract_archive(archive, member_targets(tmp_path / "out"))
    assert time.perf_counter() - started < 5 and str(archive) in str(error.value)


def test_a_pax_header_of_quadratic_size_is_refused_at_once(tmp_path):
    import time

    payload = b"0" * (256 * 1024 - 4) + b" a=\n"
    blocks = _header("pax", len(payload), tarfile.XHDTYPE) + payload + b"\0" * (-len(payload) % 512)
    archive = _tar_gz(tmp_path / "a.tar.gz", blocks)
    started = time.perf_counter()
    with pytest.raises(DataFormatError, match="PAX header of 262,144 bytes"):
        extract_archive(archive, member_targets(tmp_path / "out"))
    assert time.perf_counter() - started < 5


def test_a_header_size_smaller_than_its_data_is_reported_as_damage(tmp_path):
    """The next 'header' read is then the member's own data: damage, not a member that is missing."""
    payload = pickle.dumps(_valid_batch(10))
    blocks = _header("cifar-10-batches-py/data_batch_1", 100) + payload + b"\0" * (-len(payload) % 512)
    archive = _tar_gz(tmp_path / "a.tar.gz", blocks)
    with pytest.raises(DataFormatError, match=r"entry header at byte 1,024 is broken") as error:
        extract_archive(archive, member_targets(tmp_path / "out"))
    assert "lacks" not in str(error.value)


def test_a_source_whose_size_stat_hides_is_stopped_at_the_cap(tmp_path, monkeypatch):
    """/proc/self/pagemap is 0 bytes to stat and hundreds of GiB to read."""
    from twolayer import download

    monkeypatch.setattr(download, "MAX_ARCHIVE_BYTES", 4 * 2**20)
    target = tmp_path / "out" / "archive.tar.gz"
    with pytest.raises(DataSourceError, match="more than 4,194,304 bytes"):
        fetch_archive("/proc/self/pagemap", "0" * 32, target, retries=0)
    assert not target.exists() and not list((tmp_path / "out").iterdir())


def test_a_full_disk_is_named_as_such_and_not_retried(tmp_path, monkeypatch):
    import contextlib

    from twolayer import download

    attempts = []

    @contextlib.contextmanager
    def full_disk(path, record=True):
        attempts.append(path)
        yield Path("/dev/full")  # every write to it fails with ENOSPC

    monkeypatch.setattr(download, "atomic_path", full_disk)
    archive = write_archive(tmp_path / "a.tar.gz", images_per_batch=5)
    with pytest.raises(DataSourceError, match="is full; nothing was kept. Free space there") as error:
        fetch_archive(str(archive), md5sum(archive), tmp_path / "resources" / "a.tar.gz", retries=3, backoff=5)
    assert len(attempts) == 1 and "network" not in str(error.value)


def test_a_symlink_loop_as_the_source_is_named_as_a_loop(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(DataSourceError, match="symbolic link that leads back to itself"):
        fetch_archive(str(tmp_path / "a"), "0" * 32, tmp_path / "out.tar.gz", retries=0)


def test_results_are_checked_against_what_their_jobs_wrote(tmp_path, monkeypatch):
    from twolayer.io import ChangedResultError, check_unchanged, digest_path, write_csv

    monkeypatch.chdir(tmp_path)
    table = Path("results/final/history.csv")
    write_csv([{"epoch": 1, "cost": 0.5}], table)
    check_unchanged([table, "config.yaml"])  # as written; a file that is not there is not a result
    table.write_text(table.read_text().replace("0.5", "0.4"))
    with pytest.raises(ChangedResultError, match=r"history.csv was changed after the job .*rm results/final/history.csv"):
        check_unchanged([table])
    digest_path(table).unlink()
    with pytest.raises(ChangedResultError, match="has no record of the job that wrote it"):
        check_unchanged([table])
    log = Path("results/logs/x.log")
    log.parent.mkdir(parents=True)
    log.write_text("Snakemake's own files carry no record")
    check_unchanged([log])


def test_a_record_names_its_file_and_cannot_be_switched_off(tmp_path, monkeypatch):
    """In a study folder of any name and in a data store, a job-written file needs its record; the record
    binds the file's name, is read with a size bound, and a FIFO in its place is no record."""
    import os

    from twolayer.io import ChangedResultError, check_unchanged, digest_path, record_name, write_csv, write_json

    monkeypatch.chdir(tmp_path)
    store = Path("resources") / ("ab" * 16)
    files = {Path("runs/mine/results/fine/top.csv"): "results/fine/top.csv",
             Path("runs/mine/results/coarse/top.csv"): "results/coarse/top.csv",
             store / "source.json": "source.json", store / "cifar-10-batches-py/data_batch_1": "cifar-10-batches-py/data_batch_1"}
    for path in files:
        (write_json({"a": 1}, path) if path.suffix == ".json" else write_csv([{"a": len(str(path))}], path))
    assert {path: record_name(path) for path in files} == {path: (name, True) for path, name in files.items()}
    check_unchanged(list(files))
    assert digest_path(store / "source.json").read_text().endswith("  source.json\n")  # sha256sum's own format

    fine, coarse = Path("runs/mine/results/fine/top.csv"), Path("runs/mine/results/coarse/top.csv")
    digest_path(fine).unlink()  # deleting a record refuses the file, in any study folder
    with pytest.raises(ChangedResultError, match=r"runs/mine/results/fine/top.csv has no record"):
        check_unchanged([fine])
    digest_path(store / "source.json").unlink()  # and in the data store
    with pytest.raises(ChangedResultError, match=r"source.json has no record.*rm resources/"):
        check_unchanged([store / "source.json"])
    fine.write_bytes(coarse.read_bytes())  # one result copied over another, with its record
    digest_path(fine).write_bytes(digest_path(coarse).read_bytes())
    with pytest.raises(ChangedResultError, match=r"carries the record of results/coarse/top.csv: it was copied over results/fine/top.csv"):
        check_unchanged([fine])
    os.truncate(digest_path(fine), 1 << 30)  # a 1 GiB record: refused from its first 4 KiB
    with pytest.raises(ChangedResultError, match="is not one this workflow writes"):
        check_unchanged([fine])
    digest_path(fine).unlink()
    os.mkfifo(digest_path(fine))  # read, it would wait for a writer for ever
    with pytest.raises(ChangedResultError, match="has no record"):
        check_unchanged([fine])

    moved = Path("elsewhere/deeper/mine")  # a study folder moved whole keeps its records
    moved.parent.mkdir(parents=True)
    Path("runs/mine").rename(moved)
    check_unchanged([moved / "results/coarse/top.csv"])
    archive, log = store / "cifar-10-python.tar.gz", store / "logs/download_data.log"
    for path in (archive, log, Path("runs/x/results/benchmarks/a/a.tsv"), Path("src/twolayer/io.py")):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("no job of the workflow writes this with a record")
        assert not record_name(path)[1]
    check_unchanged([archive, log, Path("runs/x/results/benchmarks/a/a.tsv"), Path("src/twolayer/io.py")])


def test_a_full_disk_during_extraction_is_named_and_the_archive_not_blamed(tmp_path, monkeypatch):
    import contextlib

    @contextlib.contextmanager
    def full_disk(path, record=True):
        yield Path("/dev/full")

    monkeypatch.setattr(cifar, "atomic_path", full_disk)
    archive = write_archive(tmp_path / "a.tar.gz", images_per_batch=5)
    with pytest.raises(cifar.ExtractionWriteError, match="the disk holding it is full. The archive is fine") as error:
        extract_archive(archive, member_targets(tmp_path / "out"))
    assert "damaged" not in str(error.value)


@pytest.mark.parametrize("fails", ["mkstemp", "replace"])
def test_a_full_disk_when_a_file_is_made_or_placed_is_named_and_not_retried(tmp_path, monkeypatch, fails):
    """The disk fills before a byte is copied (the temporary file cannot be made) or as the file is put in
    place: named as a full disk, neither retried as a network failure nor blamed on the archive."""
    import errno
    import os
    import tempfile

    from twolayer.io import WriteError

    real = {"mkstemp": tempfile.mkstemp, "replace": os.replace}[fails]
    calls = []

    def full(*args, **kwargs):
        calls.append(args)
        if str(tmp_path / "resources") in str(args[0] if fails == "replace" else kwargs.get("dir", "")):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr({"mkstemp": tempfile, "replace": os}[fails], fails, full)
    archive = write_archive(tmp_path / "a.tar.gz", images_per_batch=5)
    with pytest.raises(DataSourceError, match="is full; nothing was kept. Free space there") as error:
        fetch_archive(str(archive), md5sum(archive), tmp_path / "resources" / "a.tar.gz", retries=3, backoff=5)
    assert "network" not in str(error.value) and "not retried" in str(error.value)
    with pytest.raises(WriteError, match="the disk holding it is full") as error:
        extract_archive(archive, member_targets(tmp_path / "resources" / "batches"))
    assert "damaged" not in str(error.value)


def test_a_chain_of_thousands_of_extended_headers_is_refused_not_a_recursion_error(tmp_path):
    payload = b"x" * 10 + b"\0"
    link = _header("././@LongLink", len(payload), tarfile.GNUTYPE_LONGNAME) + payload + b"\0" * (-len(payload) % 512)
    archive = _tar_gz(tmp_path / "a.tar.gz", link * 3000)
    with pytest.raises(DataFormatError, match="preceded by more than 8 long-name or PAX headers"):
        extract_archive(archive, member_targets(tmp_path / "out"))


def test_a_byte_string_recalled_for_many_arrays_is_refused_within_the_byte_budget(tmp_path):
    """1.1 MB that would make 1 GB of arrays: every byte made counts, each time it is made, against four
    times the file's size (plus 1 MiB), so the parser stops long before memory does."""
    import tracemalloc

    from benchmarks.hostile import memo_reuse_pickle

    path = tmp_path / "batches.meta"
    path.write_bytes(memo_reuse_pickle(1 << 20, 1_000))
    tracemalloc.start()
    try:
        with pytest.raises(DataFormatError, match=r"batches.meta is not a genuine CIFAR-10 batch: the file makes more than 5,451,032 bytes"):
            load_class_names(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * 5_451_032  # the budget and one array past it, not 1 GB


def test_a_tuple_nested_thousands_deep_is_refused_not_a_recursion_error(tmp_path):
    from benchmarks.hostile import nested_tuple_pickle

    with pytest.raises(DataFormatError, match=r"data_batch_1 is not a genuine CIFAR-10 batch: containers nest more than 8 deep"):
        load_batch(_write_bytes(tmp_path, nested_tuple_pickle(5_000)))
    for depth in (7, 8):  # within the bound: read, then refused for what it is, not for its depth
        with pytest.raises(DataFormatError, match="holds a tuple, expected a dict"):
            load_batch(_write_bytes(tmp_path, nested_tuple_pickle(depth - 1)))


def test_extended_headers_are_bounded_per_archive_not_only_per_header(tmp_path):
    """100 entries each after 7 PAX headers of 8,000 digits pass every bound per header and per entry,
    and would take most of a minute to walk; the archive's ninth such header is refused."""
    from benchmarks.hostile import pax_archive

    archive = pax_archive(tmp_path / "a.tar.gz", 100, 7, 8_000)
    with pytest.raises(DataFormatError, match=r"a.tar.gz is damaged or hostile: its long-name and PAX headers come to more than 64 headers or 65,536 bytes"):
        extract_archive(archive, member_targets(tmp_path / "out"))
    assert not (tmp_path / "out").exists()
    within = pax_archive(tmp_path / "b.tar.gz", 64, 1, 1_000)  # 64 small headers: walked to its end
    with pytest.raises(DataFormatError, match="lacks cifar-10-batches-py/"):
        extract_archive(within, member_targets(tmp_path / "out"))


def _write_bytes(tmp_path, payload, name="data_batch_1"):
    path = tmp_path / name
    path.write_bytes(payload)
    return path


@pytest.mark.parametrize("body", [b"(" * 600_000, b"N" + b"\x94" * 600_000, b"N" + b"q\x00" * 600_000])
def test_marks_and_memo_entries_count_against_the_object_budget(tmp_path, body):
    """A file of nothing but MARK or memo opcodes would otherwise grow lists and dicts many times its size."""
    path = tmp_path / "data_batch_1"
    path.write_bytes(b"\x80\x04" + body + b".")
    with pytest.raises(DataFormatError, match="more than 500,000 objects"):
        load_batch(path)


def test_a_negative_size_in_a_header_is_refused(tmp_path):
    header = bytearray(_header("cifar-10-batches-py/data_batch_1", 0))
    header[124:136] = b"\xff" * 12  # base-256: -1
    header[148:156] = b" " * 8
    header[148:155] = f"{sum(header):06o}\0".encode()
    archive = _tar_gz(tmp_path / "a.tar.gz", bytes(header))
    with pytest.raises(DataFormatError, match="negative"):
        extract_archive(archive, member_targets(tmp_path / "out"))


def test_a_local_source_that_fails_while_read_is_named_and_not_retried(tmp_path, monkeypatch):
    import errno

    from twolayer import download

    archive = write_archive(tmp_path / "a.tar.gz", images_per_batch=5)
    reads = []

    def failing_reader(handle, path):
        def read(size):
            reads.append(size)
            raise download._ReadFailed(path, OSError(errno.EIO, "Input/output error"))
        return read

    monkeypatch.setattr(download, "_local_reader", failing_reader)
    with pytest.raises(DataSourceError, match=r"Reading the configured dataset archive .* failed \(Input/output error\)"):
        fetch_archive(str(archive), md5sum(archive), tmp_path / "out" / "a.tar.gz", retries=3, backoff=5)
    assert len(reads) == 1


TYPST_MARKUP = ["= heading", "/ term: x", "+ item", "- item", "1. item", "-5", "a-5", "#let x = 1", "<label>", "@ref",
                "a // not a comment", "a /* nor this */ b", "ok...", "-?x", "'q' -- \"r\" ~ x", "$x$", "`x`", "\\"]


def test_typst_markup_in_table_cells_and_paragraphs_prints_as_text(tmp_path):
    """pandoc escapes Typst's block markers at a paragraph's start but not at a cell's, and passes some
    shorthands through; every name still prints as it is, in a cell and in a paragraph."""
    import pymupdf

    from twolayer.report import markdown_text, render_pdf

    rows = "".join(f"| {markdown_text(name)} | 1 |\n" for name in TYPST_MARKUP)
    paragraphs = "\n\n".join(markdown_text(name) for name in TYPST_MARKUP)
    markdown = tmp_path / "report.md"
    markdown.write_text(f"| class | n |\n|:--|--:|\n{rows}\n{paragraphs}\n")
    render_pdf(markdown, tmp_path / "report.pdf", figures=[])
    with pymupdf.open(tmp_path / "report.pdf") as pdf:
        # spaces dropped: text extraction may set a space between two glyphs that touch ("/" and "*")
        lines = ["".join(line.split()) for page in pdf for line in page.get_text().replace("\u2060", "").splitlines()]
    for name in TYPST_MARKUP:
        assert lines.count("".join(name.split())) == 2, (name, lines)
