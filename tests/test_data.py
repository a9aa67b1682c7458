"""Fetching, checksums, extraction and batch validation on small archives made here."""

import hashlib
import http.server
import socket
import threading

import numpy as np
import pytest

from synthetic import BATCHES, make_batch, write_archive
from twolayer.cifar import DataFormatError, extract_archive, load_batch, load_class_names, member_targets, to_images
from twolayer.download import DataSourceError, fetch_archive, md5sum
from twolayer.preprocess import build_split, class_balance, load_split, save_split


@pytest.fixture
def archive(tmp_path):
    return write_archive(tmp_path / "cifar-10-python.tar.gz", images_per_batch=30)


def md5_of(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("as_url", [False, True])
def test_fetch_local_file_verifies_md5_and_copies(archive, tmp_path, as_url):
    source = archive.as_uri() if as_url else str(archive)
    target = tmp_path / "out" / "archive.tar.gz"
    fetch_archive(source, md5_of(archive), target)
    assert md5sum(target) == md5_of(archive)


def test_wrong_md5_leaves_nothing_and_says_both_sums(archive, tmp_path):
    target = tmp_path / "out" / "archive.tar.gz"
    with pytest.raises(DataSourceError) as error:
        fetch_archive(str(archive), "0" * 32, target)
    message = str(error.value)
    assert md5_of(archive) in message and "0" * 32 in message and "data.md5" in message
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_missing_local_file_is_a_clear_error(tmp_path):
    with pytest.raises(DataSourceError, match="does not exist"):
        fetch_archive(str(tmp_path / "nope.tar.gz"), "0" * 32, tmp_path / "out.tar.gz", retries=0)


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves the archive at any path; /missing answers 404, /broken 500, /truncated stops
    half-way through (announcing the full length), /wrong serves other bytes."""

    payload = b""

    def do_GET(self):  # noqa: N802 (the http.server API)
        if self.path in ("/missing", "/broken"):
            self.send_error(404 if self.path == "/missing" else 500)
            return
        body = b"not the archive" * 100 if self.path == "/wrong" else self.payload
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path == "/truncated":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(archive):
    _Handler.payload = archive.read_bytes()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_fetch_over_http(server, archive, tmp_path):
    target = tmp_path / "archive.tar.gz"
    fetch_archive(f"{server}/cifar-10-python.tar.gz", md5_of(archive), target, retries=0)
    assert md5sum(target) == md5_of(archive)


def test_http_error_is_retried_then_reported(server, tmp_path):
    target = tmp_path / "archive.tar.gz"
    with pytest.raises(DataSourceError) as error:
        fetch_archive(f"{server}/missing", "0" * 32, target, retries=2, backoff=0.01)
    assert "after 3 attempts" in str(error.value) and "404" in str(error.value)
    assert not target.exists()


@pytest.mark.parametrize("path, expected", [("/truncated", "after 2 attempts"), ("/broken", "500")])
def test_cut_transfer_and_server_error_are_retried_then_reported(server, archive, tmp_path, path, expected):
    target = tmp_path / "out" / "archive.tar.gz"
    with pytest.raises(DataSourceError) as error:
        fetch_archive(f"{server}{path}", md5_of(archive), target, retries=1, backoff=0.01)
    assert expected in str(error.value) and "data.url" in str(error.value)
    assert list(target.parent.iterdir()) == []


def test_wrong_file_over_http_is_not_retried_and_names_both_sums(server, archive, tmp_path):
    target = tmp_path / "out" / "archive.tar.gz"
    with pytest.raises(DataSourceError) as error:
        fetch_archive(f"{server}/wrong", md5_of(archive), target, retries=3, backoff=5)
    assert md5_of(archive) in str(error.value) and "has md5" in str(error.value)
    assert list(target.parent.iterdir()) == []


def test_refused_connection_is_reported_with_the_fix(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    target = tmp_path / "archive.tar.gz"
    with pytest.raises(DataSourceError) as error:
        fetch_archive(f"http://127.0.0.1:{port}/cifar-10-python.tar.gz", "0" * 32, target, retries=1, backoff=0.01)
    message = str(error.value)
    assert f"127.0.0.1:{port}" in message and "refused" in message.lower()
    assert "local path" in message and not target.exists()


def test_extract_and_load(archive, tmp_path):
    written = extract_archive(archive, member_targets(tmp_path / "batches"))
    assert sorted(p.name for p in written) == sorted(BATCHES + ["batches.meta"])
    X, y = load_batch(tmp_path / "batches" / "data_batch_1")
    assert X.dtype == np.uint8 and X.shape == (30, 3072) and y.shape == (30,)
    assert load_class_names(tmp_path / "batches" / "batches.meta")[0] == "airplane"
    assert to_images(X).shape == (30, 32, 32, 3)


def test_archive_missing_a_member_names_it(tmp_path):
    archive = write_archive(tmp_path / "a.tar.gz", images_per_batch=10, members=BATCHES[:-1])
    with pytest.raises(DataFormatError, match="cifar-10-batches-py/test_batch"):
        extract_archive(archive, member_targets(tmp_path / "out"))


def test_not_a_tar_gz_is_reported(tmp_path):
    bogus = tmp_path / "a.tar.gz"
    bogus.write_bytes(b"this is not an archive")
    with pytest.raises(DataFormatError, match="not a readable gzip-compressed tar"):
        extract_archive(bogus, member_targets(tmp_path / "out"))


def test_batch_of_wrong_shape_is_reported(tmp_path):
    bad = make_batch(np.random.default_rng(0), 10, "data_batch_3")
    bad[b"data"] = bad[b"data"][:, :100]
    archive = write_archive(tmp_path / "a.tar.gz", images_per_batch=10, overrides={"data_batch_3": bad})
    extract_archive(archive, member_targets(tmp_path / "out"))
    with pytest.raises(DataFormatError, match=r"data_batch_3: b'data' is a uint8 array of shape \(10, 100\)"):
        load_batch(tmp_path / "out" / "data_batch_3")


def test_split_roundtrip_scales_and_keeps_mean(archive, tmp_path):
    extract_archive(archive, member_targets(tmp_path / "b"))
    X, y = build_split([tmp_path / "b" / "data_batch_1", tmp_path / "b" / "data_batch_2"])
    assert X.shape == (60, 3072)
    save_split(tmp_path / "s.npz", X, y)
    split = load_split(tmp_path / "s.npz", dtype=np.float32)
    assert split.X.dtype == np.float32 and 0.0 <= split.X.min() and split.X.max() <= 1.0
    np.testing.assert_allclose(split.mean[:, 0], X.mean(axis=0) / 255.0)
    assert split.mean.shape == (3072, 1)
    rows = class_balance({"s": y}, [str(i) for i in range(10)])
    assert sum(row["count"] for row in rows) == 60


def test_each_split_is_built_from_its_own_batches_and_described_from_its_file(archive, tmp_path):
    import pandas as pd

    from twolayer.preprocess import SplitFileError
    from twolayer.stages.describe_data import describe_data
    from twolayer.stages.prepare_split import prepare_split

    batches = tmp_path / "b"
    extract_archive(archive, member_targets(batches))
    splits = {"final_train": ["data_batch_2", "data_batch_1"], "test": ["test_batch"]}
    paths = {name: tmp_path / f"{name}.npz" for name in splits}
    for name, members in splits.items():
        prepare_split([batches / member for member in members], paths[name])
    X2, y2 = load_batch(batches / "data_batch_2")
    final = load_split(paths["final_train"], dtype=np.float64)
    np.testing.assert_array_equal(final.y[: len(y2)], y2)  # the split's order, not the archive's
    np.testing.assert_array_equal(np.rint(final.X[: len(y2)] * 255).astype(np.uint8), X2)

    describe_data(paths, batches / "batches.meta", tmp_path / "balance.csv", tmp_path / "samples.png")
    balance = pd.read_csv(tmp_path / "balance.csv")
    for name in splits:
        counts = balance[balance["split"] == name]["count"].to_numpy()
        np.testing.assert_array_equal(counts, np.bincount(load_split(paths[name]).y, minlength=10))
    assert (tmp_path / "samples.png").stat().st_size > 0

    np.savez(paths["test"], X=np.zeros((3, 3072), dtype=np.uint8), y=np.arange(3) + 20, mean=np.zeros((3072, 1)))
    with pytest.raises(SplitFileError, match="test.npz"):
        describe_data(paths, batches / "batches.meta", tmp_path / "other.csv", tmp_path / "other.png")
    assert not (tmp_path / "other.csv").exists() and not (tmp_path / "other.png").exists()


def test_describing_the_splits_holds_the_pixels_of_at_most_two_splits_at_once(archive, tmp_path, monkeypatch):
    """The declared memory of describe_data counts two splits' pixels, however many splits there are."""
    import weakref

    from twolayer.stages import describe_data as stage
    from twolayer.stages.prepare_split import prepare_split

    batches = tmp_path / "b"
    extract_archive(archive, member_targets(batches))
    names = ["search_train", "search_val", "final_train", "test"]
    paths = {name: tmp_path / f"{name}.npz" for name in names}
    for name, member in zip(names, ["data_batch_1", "data_batch_2", "data_batch_3", "test_batch"]):
        prepare_split([batches / member], paths[name])
    read, refs, alive_at_each_read = stage.read_split, [], []

    def tracked_read(path):
        alive_at_each_read.append(sum(ref() is not None for ref in refs))
        arrays = read(path)
        refs.append(weakref.ref(arrays["X"]))
        return arrays

    monkeypatch.setattr(stage, "read_split", tracked_read)
    stage.describe_data(paths, batches / "batches.meta", tmp_path / "balance.csv", tmp_path / "samples.png")
    assert len(alive_at_each_read) == 4 and max(alive_at_each_read) <= 1, alive_at_each_read


def test_atomic_write_leaves_nothing_on_error_and_clears_leftovers(tmp_path):
    from twolayer.io import atomic_path, write_csv

    target = tmp_path / "table.csv"
    leftover = tmp_path / ".table.csv.abc123.part.csv"  # what a killed writer leaves
    leftover.write_text("half")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("crash while writing")
    assert not target.exists() and not leftover.exists()
    write_csv([{"a": 0.1}], target)
    assert target.read_text() == "a\n0.1\n" and sorted(p.name for p in tmp_path.iterdir()) == [".table.csv.sha256", "table.csv"]


def test_centring_a_split_subtracts_the_given_mean_in_place(rng):
    from twolayer.preprocess import Split, centre

    X = rng.uniform(size=(6, 4)).astype(np.float32)
    expected = X - np.float32(0.25)
    mean = np.full((4, 1), 0.25)
    centred = centre(Split(X=X, y=np.arange(6), mean=np.zeros((4, 1))), mean)
    assert centred.X is X  # no copy of the pixels
    np.testing.assert_array_equal(centred.X, expected)
    assert centred.mean is mean


@pytest.mark.parametrize("source", ["missing/cifar-10-python.tar.gz", "http://127.0.0.1:9/cifar-10-python.tar.gz"])
def test_a_missing_archive_names_the_replica_and_its_configuration(tmp_path, source):
    """A clone without the archive (or without internet) is told how to build the replica and use it."""
    from twolayer.download import DataSourceError, fetch_archive

    with pytest.raises(DataSourceError) as error:
        fetch_archive(source, "0" * 32, tmp_path / "cifar-10-python.tar.gz", retries=0, timeout=2)
    message = str(error.value)
    assert "python ../shared/cifar10-replica/build_replica.py resources/replica" in message
    assert "--configfile config/replica.yaml" in message and "\n" not in message
    assert not (tmp_path / "cifar-10-python.tar.gz").exists()
