import os
import re
import shutil
import uuid

import numpy as np
import pytest
import tensorflow as tf

from bert_tf.checkpoints import init_from_checkpoint
from bert_tf.checkpoints import keep_latest_checkpoints
from bert_tf.checkpoints import load_tf1_checkpoint
from bert_tf.checkpoints import read_checkpoint_state
from bert_tf.checkpoints import resolve_checkpoint_path
from bert_tf.checkpoints import save_tf1_checkpoint
from bert_tf.checkpoints import variable_map
from bert_tf.classifier.model import BertClassifier
from bert_tf.config import BertConfig
from bert_tf.errors import UserInputError
from bert_tf.modeling import BertModel
from bert_tf.modeling import BertPretrainingModel
from bert_tf.optimization import create_optimizer
from bert_tf.squad.model import BertSpanModel
from tests.conftest import testdata

TINY_CKPT = testdata("tiny_model", "bert_model.ckpt")


@pytest.fixture(scope="module")
def config():
    return BertConfig.from_json_file(testdata("tiny_model", "bert_config.json"))


def _assert_same_checkpoints(expected_prefix, actual_prefix):
    expected = tf.train.list_variables(expected_prefix)
    assert tf.train.list_variables(actual_prefix) == expected
    a = tf.train.load_checkpoint(expected_prefix)
    b = tf.train.load_checkpoint(actual_prefix)
    for name, _ in expected:
        x, y = a.get_tensor(name), b.get_tensor(name)
        assert x.dtype == y.dtype and x.tobytes() == y.tobytes(), name


def test_round_trip_is_byte_identical(config, tmp_path):
    model = BertPretrainingModel(config)
    report = load_tf1_checkpoint(model, TINY_CKPT)
    assert report.unused == ["global_step"]
    prefix = save_tf1_checkpoint(
        model, str(tmp_path / "bert_model.ckpt"), global_step=report.global_step
    )
    _assert_same_checkpoints(TINY_CKPT, prefix)
    assert sorted(os.listdir(tmp_path)) == [
        "bert_model.ckpt.data-00000-of-00001",
        "bert_model.ckpt.index",
        "checkpoint",
    ]
    assert tf.train.latest_checkpoint(str(tmp_path)) == prefix


@pytest.mark.parametrize(
    "fixture, build",
    [
        ("tiny_classifier/model.ckpt-4", lambda c: BertClassifier(c, num_labels=3)),
        # No pooler slots: the SQuAD loss gives the pooler no gradient.
        ("tiny_squad/model.ckpt-3", BertSpanModel),
    ],
)
def test_fine_tuned_round_trip_with_optimizer_slots(fixture, build, config, tmp_path):
    model = build(config)
    optimizer = create_optimizer(1e-3, num_train_steps=10, num_warmup_steps=1)
    report = load_tf1_checkpoint(model, testdata(*fixture.split("/")), optimizer)
    assert report.unused == []
    assert int(optimizer.iterations.numpy()) == report.global_step
    prefix = save_tf1_checkpoint(
        model, str(tmp_path / fixture.split("/")[1]), optimizer=optimizer
    )
    _assert_same_checkpoints(testdata(*fixture.split("/")), prefix)


def test_names_are_the_originals_for_every_layer(config):
    names = [name for name, _ in variable_map(BertPretrainingModel(config))]
    listed = [name for name, _ in tf.train.list_variables(TINY_CKPT)]
    assert sorted(names) == sorted(n for n in listed if n != "global_step")
    assert len(names) == 5 + 16 * 2 + 2 + 5 + 2


def test_written_checkpoint_reads_back_with_tf1_init_from_checkpoint(config, tmp_path):
    # What the original scripts do with --init_checkpoint, in a TF1 graph.
    model = BertPretrainingModel(config)
    load_tf1_checkpoint(model, TINY_CKPT)
    prefix = save_tf1_checkpoint(model, str(tmp_path / "model.ckpt-7"), global_step=7)
    pairs = variable_map(model)
    with tf.Graph().as_default():
        tf1_vars = {
            name: tf.compat.v1.get_variable(
                name, shape=v.shape, initializer=tf.compat.v1.zeros_initializer()
            )
            for name, v in pairs
        }
        tf.compat.v1.train.init_from_checkpoint(prefix, {n: n for n in tf1_vars})
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            values = session.run(tf1_vars)
    for name, variable in pairs:
        np.testing.assert_array_equal(values[name], variable.numpy())


@pytest.mark.parametrize(
    "form",
    ["prefix", "index_file", "data_file", "directory_without_state_file", "state_dir"],
)
def test_accepted_path_forms(form, tmp_path, config):
    copy = tmp_path / "uncased_L-2_H-32_A-4"
    shutil.copytree(testdata("tiny_model"), copy)
    paths = {
        "prefix": copy / "bert_model.ckpt",
        "index_file": copy / "bert_model.ckpt.index",
        "data_file": copy / "bert_model.ckpt.data-00000-of-00001",
        "directory_without_state_file": copy,
        "state_dir": testdata("tiny_classifier"),
    }
    expected = {
        "state_dir": os.path.join(testdata("tiny_classifier"), "model.ckpt-4")
    }.get(form, str(copy / "bert_model.ckpt"))
    assert resolve_checkpoint_path(str(paths[form])) == expected


def test_missing_and_corrupt_checkpoints(tmp_path, config):
    model = BertModel(config)
    with pytest.raises(UserInputError, match=r"init_checkpoint=.*nope.*not found"):
        load_tf1_checkpoint(model, str(tmp_path / "nope" / "bert_model.ckpt"))
    with pytest.raises(UserInputError, match="no checkpoint in this directory"):
        load_tf1_checkpoint(model, str(tmp_path))
    (tmp_path / "bad.ckpt.index").write_bytes(b"this is not a checkpoint index")
    with pytest.raises(UserInputError, match=r"bad.ckpt.*cannot read checkpoint"):
        load_tf1_checkpoint(model, str(tmp_path / "bad.ckpt"))


def test_missing_variables_are_named(config):
    # A fine-tuned classifier checkpoint has no cls/* pretraining heads.
    model = BertPretrainingModel(config)
    with pytest.raises(UserInputError, match=r"lacks 7 variable\(s\).*cls/predictions"):
        load_tf1_checkpoint(model, testdata("tiny_classifier", "model.ckpt-4"))


def test_vocab_size_mismatch_says_config_and_checkpoint_disagree(config):
    config = BertConfig.from_dict(dict(config.to_dict(), vocab_size=300))
    with pytest.raises(
        UserInputError,
        match="bert_config.json says 300 but the checkpoint's "
        "bert/embeddings/word_embeddings has 262 rows",
    ):
        load_tf1_checkpoint(BertModel(config), TINY_CKPT)


def test_shape_mismatch_names_variable_and_shapes(config):
    config = BertConfig.from_dict(dict(config.to_dict(), intermediate_size=40))
    with pytest.raises(
        UserInputError,
        match=r"shape mismatch for bert/encoder/layer_0/intermediate/dense/kernel: "
        r"checkpoint \[32, 37\], model \[32, 40\]",
    ):
        load_tf1_checkpoint(BertModel(config), TINY_CKPT)


def test_warm_start_logs_like_the_original(config, caplog):
    model = BertClassifier(config, num_labels=3)
    head_before = model.classifier.output_weights.numpy()
    with caplog.at_level("INFO", logger="absl"):
        report = init_from_checkpoint(model, TINY_CKPT)
    assert "output_weights" not in report.assigned
    assert len(report.assigned) == 39
    np.testing.assert_array_equal(model.classifier.output_weights.numpy(), head_before)
    text = caplog.text
    assert (
        "  name = bert/embeddings/word_embeddings, shape = (262, 32), *INIT_FROM_CKPT*"
        in text
    )
    assert "  name = output_weights, shape = (3, 32)\n" in text + "\n"


def _damaged_copy(tmp_path, suffix, damage):
    """A copy of the tiny checkpoint whose `suffix` file went through `damage`."""
    prefix = tmp_path / "bert_model.ckpt"
    for s in (".index", ".data-00000-of-00001"):
        shutil.copy(TINY_CKPT + s, str(prefix) + s)
    path = tmp_path / ("bert_model.ckpt" + suffix)
    data = bytearray(path.read_bytes())
    path.write_bytes(bytes(damage(data)))
    return str(prefix)


def _flip(offset):
    def damage(data):
        data[offset] ^= 0xFF
        return data

    return damage


DATA = ".data-00000-of-00001"


@pytest.mark.parametrize(
    "damage, reason",
    [
        (lambda d: d[: len(d) // 2], r"it ends before the bytes of [\w/]+"),
        # The last tensor but global_step, which init_from_checkpoint skips.
        (lambda d: d[:-9], r"it ends before the bytes of [\w/]+"),
        (lambda d: b"", r"it ends before the bytes of [\w/]+"),
        (_flip(50000), r"the bytes of [\w/]+ fail their checksum"),
    ],
    ids=["half", "last_tensor", "empty", "flipped"],
)
@pytest.mark.parametrize("load", [load_tf1_checkpoint, init_from_checkpoint])
def test_truncated_or_overwritten_data_file(tmp_path, config, damage, reason, load):
    prefix = _damaged_copy(tmp_path, DATA, damage)
    with pytest.raises(UserInputError) as error:
        load(BertPretrainingModel(config), prefix)
    assert re.fullmatch(
        rf"--init_checkpoint='{re.escape(prefix)}': checkpoint file "
        rf"{re.escape(prefix + DATA)} is truncated or corrupt: {reason}",
        str(error.value),
    ), str(error.value)


def test_missing_data_file(tmp_path, config):
    prefix = _damaged_copy(tmp_path, DATA, lambda d: d)
    os.remove(prefix + DATA)
    with pytest.raises(UserInputError) as error:
        load_tf1_checkpoint(BertModel(config), prefix)
    assert str(error.value) == (
        f"--init_checkpoint={prefix!r}: checkpoint file {prefix}.data-* is missing"
    )


@pytest.mark.parametrize(
    "damage, reason",
    [
        (lambda d: d[: len(d) // 2], "not an sstable (bad magic number)"),
        (lambda d: b"", "file is too short to be an sstable"),
        (_flip(3), "block checksum mismatch"),
    ],
    ids=["half", "empty", "flipped"],
)
def test_corrupt_index_file(tmp_path, config, damage, reason):
    prefix = _damaged_copy(tmp_path, ".index", damage)
    with pytest.raises(UserInputError) as error:
        load_tf1_checkpoint(BertModel(config), prefix)
    assert str(error.value) == (
        f"--init_checkpoint={prefix!r}: cannot read checkpoint ({prefix}.index "
        f"is truncated or corrupt: {reason})"
    )


def test_ram_filesystem_save_resolve_load_and_state_file(config):
    # ram:// answers isdir() and exists() true for any prefix of a file name,
    # as object stores may; gs:// users get the same code paths.
    directory = f"ram://{uuid.uuid4().hex}/output_dir"
    model = BertPretrainingModel(config)
    load_tf1_checkpoint(model, TINY_CKPT)
    first = save_tf1_checkpoint(model, f"{directory}/model.ckpt-1", global_step=1)
    prefix = save_tf1_checkpoint(model, f"{directory}/model.ckpt-2", global_step=2)
    assert tf.train.latest_checkpoint(directory) == prefix
    assert read_checkpoint_state(directory) == ["model.ckpt-1", "model.ckpt-2"]
    for path in (prefix, prefix + ".index", prefix + DATA, directory, directory + "/"):
        assert resolve_checkpoint_path(path) == prefix, path
    assert resolve_checkpoint_path(first) == first

    restored = BertPretrainingModel(config)
    report = load_tf1_checkpoint(restored, directory)
    assert (report.path, report.global_step) == (prefix, 2)
    for a, b in zip(model.weights, restored.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())

    keep_latest_checkpoints(directory, 1)
    assert sorted(tf.io.gfile.listdir(directory)) == [
        "checkpoint", "model.ckpt-2" + DATA, "model.ckpt-2.index"
    ]
    assert read_checkpoint_state(directory) == ["model.ckpt-2"]
    with pytest.raises(UserInputError, match="checkpoint not found"):
        resolve_checkpoint_path(first)
