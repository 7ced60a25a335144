"""Parity with Google's reference implementation on the tiny fixtures.

Tolerances are the fixtures README's: activations 1e-5, masked-LM log-probs
5e-5, losses 2e-5.
"""

import numpy as np
import pytest

from bert_tf.checkpoints import load_tf1_checkpoint
from bert_tf.classifier.model import BertClassifier
from bert_tf.config import BertConfig
from bert_tf.modeling import BertModel
from bert_tf.modeling import BertPretrainingModel
from bert_tf.squad.model import BertSpanModel
from tests.conftest import testdata

INPUT_KEYS = ("input_ids", "input_mask", "segment_ids")
LABEL_KEYS = (
    "masked_lm_positions",
    "masked_lm_ids",
    "masked_lm_weights",
    "next_sentence_labels",
)


@pytest.fixture(scope="module")
def golden():
    return dict(np.load(testdata("tiny_model", "golden_outputs.npz")))


@pytest.fixture(scope="module")
def pretraining_outputs(golden):
    config = BertConfig.from_json_file(testdata("tiny_model", "bert_config.json"))
    model = BertPretrainingModel(config)
    load_tf1_checkpoint(model, testdata("tiny_model", "bert_model.ckpt"))
    inputs = {k: golden[k] for k in INPUT_KEYS + LABEL_KEYS}
    outputs = model(inputs, training=False)
    return {k: v for k, v in outputs.items()}


@pytest.mark.parametrize(
    "key", ["embedding_output", "sequence_output", "pooled_output"]
)
def test_encoder_activations(pretraining_outputs, golden, key):
    np.testing.assert_allclose(pretraining_outputs[key], golden[key], atol=1e-5)


def test_every_encoder_layer(pretraining_outputs, golden):
    layers = np.stack([np.asarray(x) for x in pretraining_outputs["all_encoder_layers"]])
    assert layers.shape == golden["all_encoder_layers"].shape == (2, 3, 16, 32)
    np.testing.assert_allclose(layers, golden["all_encoder_layers"], atol=1e-5)


def test_pretraining_heads_and_losses(pretraining_outputs, golden):
    out = pretraining_outputs
    np.testing.assert_allclose(
        out["masked_lm_log_probs"], golden["masked_lm_log_probs"], atol=5e-5
    )
    np.testing.assert_allclose(
        out["next_sentence_log_probs"], golden["next_sentence_log_probs"], atol=1e-5
    )
    for key in (
        "masked_lm_example_loss",
        "masked_lm_loss",
        "next_sentence_example_loss",
        "next_sentence_loss",
    ):
        np.testing.assert_allclose(out[key], golden[key], atol=2e-5)
    np.testing.assert_allclose(out["loss"], golden["total_loss"], atol=2e-5)


def test_encoder_alone_matches_and_reports_unused_heads(golden):
    config = BertConfig.from_json_file(testdata("tiny_model", "bert_config.json"))
    model = BertModel(config)
    report = load_tf1_checkpoint(model, testdata("tiny_model", "bert_model.ckpt"))
    assert report.global_step == 0
    assert "cls/seq_relationship/output_weights" in report.unused
    assert "cls/predictions/output_bias" in report.unused
    outputs = model({k: golden[k] for k in INPUT_KEYS})
    np.testing.assert_allclose(
        outputs["sequence_output"], golden["sequence_output"], atol=1e-5
    )


def test_classifier_checkpoint_gives_golden_logits():
    golden = np.load(testdata("tiny_classifier", "golden_outputs.npz"))
    config = BertConfig.from_json_file(testdata("tiny_classifier", "bert_config.json"))
    model = BertClassifier(config, num_labels=3)
    load_tf1_checkpoint(model, testdata("tiny_classifier", "model.ckpt-4"))
    outputs = model({k: golden[k] for k in INPUT_KEYS}, training=False)
    np.testing.assert_allclose(outputs["logits"], golden["logits"], atol=1e-5)
    np.testing.assert_allclose(
        outputs["probabilities"], golden["probabilities"], atol=1e-5
    )


def test_squad_checkpoint_gives_golden_logits():
    golden = np.load(testdata("tiny_squad", "golden_outputs.npz"))
    config = BertConfig.from_json_file(testdata("tiny_squad", "bert_config.json"))
    model = BertSpanModel(config)
    load_tf1_checkpoint(model, testdata("tiny_squad", "model.ckpt-3"))
    outputs = model({k: golden[k] for k in INPUT_KEYS}, training=False)
    np.testing.assert_allclose(outputs["start_logits"], golden["start_logits"], atol=1e-5)
    np.testing.assert_allclose(outputs["end_logits"], golden["end_logits"], atol=1e-5)
