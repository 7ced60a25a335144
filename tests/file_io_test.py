"""bert_tf.file_io on local disk and on ram://, whose exists() and isdir()
are true for any prefix of a path (as some object stores)."""

import os
import uuid

import pytest
import tensorflow as tf

from bert_tf import file_io
from bert_tf.errors import UserInputError


@pytest.fixture
def ram_dir():
    """A fresh ram:// directory (ram:// lives as long as the process)."""
    path = f"ram://{uuid.uuid4().hex}/dir"
    tf.io.gfile.makedirs(path)
    return path


def _write(path, text="x"):
    with tf.io.gfile.GFile(path, "w") as f:
        f.write(text)
    return path


def test_ram_answers_exists_and_isdir_for_prefixes(ram_dir):
    # Why file_io uses stat: the behaviour the helpers must survive.
    _write(f"{ram_dir}/model.ckpt-1.index")
    assert tf.io.gfile.isdir(f"{ram_dir}/model.ckpt-1")
    assert tf.io.gfile.exists(f"{ram_dir}/model.ckpt-1.ind")
    assert file_io.is_file(f"{ram_dir}/model.ckpt-1.index")
    assert not file_io.is_file(f"{ram_dir}/model.ckpt-1")
    assert not file_io.is_file(ram_dir)
    assert not file_io.is_file(f"{ram_dir}/missing")


def test_patterns_and_required_files_on_ram(ram_dir):
    a = _write(f"{ram_dir}/a.txt")
    b = _write(f"{ram_dir}/b.txt")
    assert file_io.expand_patterns(f"{ram_dir}/*.txt") == [a, b]
    assert file_io.expand_patterns(f"{b},{a}") == [b, a]
    with pytest.raises(UserInputError) as error:
        file_io.expand_patterns(f"{ram_dir}/*.json")
    assert str(error.value) == f"--input_file={ram_dir + '/*.json'!r} matches no file"
    assert file_io.require_file(a, "--vocab_file") == a
    with pytest.raises(UserInputError) as error:
        file_io.require_file(f"{ram_dir}/c.txt", "--vocab_file")
    assert str(error.value) == f"--vocab_file={ram_dir + '/c.txt'!r}: file not found"
    sub = f"{ram_dir}/sub"
    file_io.makedirs(sub)
    assert file_io.exists(sub)
    with pytest.raises(UserInputError, match="is a directory, expected a file"):
        file_io.require_file(sub, "--vocab_file")
    with file_io.open_text(a) as f:
        assert f.read() == "x"


def test_atomic_writes_on_ram(ram_dir):
    path = f"{ram_dir}/eval_results.txt"
    with file_io.atomic_write(path) as f:
        f.write("loss = 1.0\n")
    with pytest.raises(RuntimeError):
        with file_io.atomic_outputs([f"{ram_dir}/a", f"{ram_dir}/b"]) as temps:
            for temporary in temps:
                _write(temporary)
            raise RuntimeError("killed")
    assert tf.io.gfile.listdir(ram_dir) == ["eval_results.txt"]
    with file_io.open_text(path) as f:
        assert f.read() == "loss = 1.0\n"


@pytest.mark.parametrize("relative", ["out.tfrecord", "a/b/out.tfrecord"])
def test_output_under_a_regular_file(tmp_path, relative):
    blocker = tmp_path / "data.txt"
    blocker.write_text("not a directory")
    path = str(blocker / relative)
    with pytest.raises(UserInputError) as error:
        file_io.require_writable(path, "--output_file")
    assert str(error.value) == (
        f"--output_file={path!r}: {blocker} is a file, not a directory")
    with pytest.raises(UserInputError) as error:
        file_io.require_writable(path, "--output_dir", directory=True)
    assert str(error.value) == (
        f"--output_dir={path!r}: {blocker} is a file, not a directory")
    assert os.listdir(tmp_path) == ["data.txt"]


def test_writable_paths_create_nothing(tmp_path, ram_dir):
    for path in (tmp_path / "new" / "deeper" / "out.tfrecord",
                 tmp_path / "out.tfrecord"):
        file_io.require_writable(str(path), "--output_file")
    file_io.require_writable(str(tmp_path / "a" / "b"), "--output_dir",
                             directory=True)
    file_io.require_writable(str(tmp_path), "--output_dir", directory=True)
    assert os.listdir(tmp_path) == []
    file_io.require_writable(f"{ram_dir}/new/out.tfrecord", "--output_file")
    file_io.require_writable("ram://elsewhere/x", "--output_dir", directory=True)
    assert tf.io.gfile.listdir(ram_dir) == []


def test_output_file_that_is_a_directory(tmp_path):
    with pytest.raises(UserInputError) as error:
        file_io.require_writable(str(tmp_path), "--output_file")
    assert str(error.value) == (
        f"--output_file={str(tmp_path)!r} is a directory, expected a file name")


def test_output_under_a_regular_file_on_ram(ram_dir):
    blocker = _write(f"{ram_dir}/data.txt")
    path = f"{blocker}/out.tfrecord"
    with pytest.raises(UserInputError) as error:
        file_io.require_writable(path, "--output_file")
    assert str(error.value) == (
        f"--output_file={path!r}: {blocker} is a file, not a directory")


def test_unwritable_local_directory(tmp_path, monkeypatch):
    # Tests run as root, for whom every directory is writable.
    monkeypatch.setattr(os, "access", lambda path, mode: path != str(tmp_path))
    path = str(tmp_path / "new" / "out.json")
    with pytest.raises(UserInputError) as error:
        file_io.require_writable(path, "--output_file")
    assert str(error.value) == (
        f"--output_file={path!r}: directory {tmp_path} is not writable")


@pytest.mark.parametrize("on_ram", [False, True], ids=["local", "ram"])
def test_stale_temporaries_of_one_output_are_removed(tmp_path, ram_dir, on_ram,
                                                     caplog):
    directory = ram_dir if on_ram else str(tmp_path)
    names = [
        ".out.tfrecord.tmp-0123abcd",  # a killed run's: removed
        ".out.tfrecord.tmp-89abcdef",  # removed
        ".out.tfrecord.tmp-notmine1",  # not a temporary_name: kept
        ".out.tfrecord.tmp-0123abcd.index",  # another suffix: kept
        ".other.tfrecord.tmp-0123abcd",  # another output's: kept
        "out.tfrecord",
        "notes.txt",
    ]
    for name in names:
        _write(os.path.join(directory, name))
    path = os.path.join(directory, "out.tfrecord")
    assert os.path.basename(file_io.temporary_name(path)).startswith(
        ".out.tfrecord.tmp-")
    with caplog.at_level("INFO", logger="absl"):
        removed = file_io.remove_stale_temporaries(path)
    expected = [os.path.join(directory, n) for n in names[:2]]
    assert removed == expected
    assert sorted(tf.io.gfile.listdir(directory)) == sorted(names[2:])
    assert [r.getMessage() for r in caplog.records] == [
        f"Removing {p}, left by a run that was killed" for p in expected]
    assert file_io.remove_stale_temporaries(
        os.path.join(directory, "missing", "x")) == []


def test_extract_features_checks_output_file_before_loading_the_model(
        tmp_path, monkeypatch):
    from bert_tf import feature_extraction
    from tests.conftest import testdata

    def no_model(*args, **kwargs):
        raise AssertionError("the model was built")

    monkeypatch.setattr(feature_extraction, "BertModel", no_model)
    blocker = tmp_path / "out"
    blocker.write_text("")
    input_file = tmp_path / "input.txt"
    input_file.write_text("hello world\n")
    output = str(blocker / "features.jsonl")
    params = feature_extraction.ExtractParams(
        input_file=str(input_file), output_file=output,
        bert_config_file=testdata("tiny_model", "bert_config.json"),
        vocab_file=testdata("tiny_model", "vocab.txt"), max_seq_length=16,
        init_checkpoint=testdata("tiny_model", "bert_model.ckpt"))
    with pytest.raises(UserInputError) as error:
        feature_extraction.extract(params)
    assert str(error.value) == (
        f"--output_file={output!r}: {blocker} is a file, not a directory")
    assert sorted(os.listdir(tmp_path)) == ["input.txt", "out"]
