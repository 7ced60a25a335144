import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from bert_tf.checkpoints import init_from_checkpoint
from bert_tf.checkpoints import load_tf1_checkpoint
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
