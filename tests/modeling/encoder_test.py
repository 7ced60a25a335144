"""BertModel on the tiny config: shapes, masking, dropout, activations,
mixed precision."""

import numpy as np
import pytest

from bert_tf.distribution import dtype_policy
from bert_tf.modeling import BertModel
from bert_tf.modeling import BertPretrainingModel
from bert_tf.modeling import gelu
from bert_tf.modeling import get_activation
from tests.conftest import TINY_CONFIG


def _inputs(batch=13, seq=7, seed=0):
    rng = np.random.default_rng(seed)
    mask = np.ones((batch, seq), "int32")
    mask[:, seq - 2 :] = 0
    return {
        "input_ids": rng.integers(0, TINY_CONFIG["vocab_size"], (batch, seq)).astype("int32"),
        "input_mask": mask,
        "segment_ids": rng.integers(0, 2, (batch, seq)).astype("int32"),
    }


def test_output_shapes(tiny_config):
    outputs = BertModel(tiny_config)(_inputs())
    assert outputs["sequence_output"].shape == (13, 7, 32)
    assert outputs["pooled_output"].shape == (13, 32)
    assert outputs["embedding_output"].shape == (13, 7, 32)
    assert [x.shape for x in outputs["all_encoder_layers"]] == [(13, 7, 32)] * 2


def test_variable_count_is_the_originals(tiny_config):
    # 5 embedding tensors + 16 per layer + 2 pooler tensors.
    assert len(BertModel(tiny_config).weights) == 5 + 16 * 2 + 2


def test_mask_and_segments_default_as_the_original(tiny_config):
    model = BertModel(tiny_config)
    ids = _inputs()["input_ids"]
    implicit = model({"input_ids": ids})["sequence_output"]
    explicit = model(
        {"input_ids": ids, "input_mask": np.ones_like(ids), "segment_ids": np.zeros_like(ids)}
    )["sequence_output"]
    np.testing.assert_array_equal(implicit, explicit)


def test_padding_keys_do_not_change_real_positions(tiny_config):
    model = BertModel(tiny_config)
    inputs = _inputs()
    changed = dict(inputs, input_ids=inputs["input_ids"].copy())
    changed["input_ids"][:, -2:] = 5  # only padded positions differ
    a = model(inputs)["sequence_output"][:, :-2]
    b = model(changed)["sequence_output"][:, :-2]
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_dropout_only_when_training(tiny_config):
    model = BertModel(tiny_config)
    inputs = _inputs()
    a = model(inputs, training=False)["pooled_output"]
    b = model(inputs, training=False)["pooled_output"]
    np.testing.assert_array_equal(a, b)
    c = model(inputs, training=True)["pooled_output"]
    assert np.max(np.abs(np.asarray(a) - np.asarray(c))) > 1e-4


def test_sequence_longer_than_max_position_embeddings(tiny_config):
    model = BertModel(tiny_config)
    with pytest.raises(ValueError, match="max_position_embeddings=64"):
        model({"input_ids": np.ones((1, 65), "int32")})


def test_gelu_is_the_tanh_approximation():
    x = np.array([-3.0, -1.0, 0.0, 0.5, 2.0], "float32")
    expected = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    np.testing.assert_allclose(gelu(x), expected, atol=1e-6)
    assert get_activation("linear") is None and get_activation("GELU") is gelu
    with pytest.raises(ValueError, match="Unsupported activation"):
        get_activation("swish")


@pytest.mark.parametrize(
    "hidden_act, activation",
    [("gelu", gelu), ("relu", lambda v: np.maximum(v, 0.0)), ("linear", None)],
)
def test_every_hidden_act_of_the_original(tiny_config, hidden_act, activation):
    tiny_config.hidden_act = hidden_act
    dense = BertModel(tiny_config).transformer_layers[0].intermediate_dense
    x = np.random.default_rng(0).normal(size=(5, 32)).astype("float32")
    expected = x @ dense.kernel.numpy() + dense.bias.numpy()
    if activation is not None:
        expected = np.asarray(activation(expected))
    np.testing.assert_allclose(dense(x), expected, atol=1e-5)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision(tiny_config, policy):
    inputs = dict(_inputs(), masked_lm_positions=np.ones((13, 3), "int32"))
    reference = BertPretrainingModel(tiny_config)
    expected = reference(inputs)
    with dtype_policy(policy):
        model = BertPretrainingModel(tiny_config)
    model.set_weights(reference.get_weights())
    assert all(v.dtype == "float32" for v in model.weights)
    outputs = model(inputs)
    assert outputs["masked_lm_log_probs"].dtype == "float32"
    np.testing.assert_allclose(
        outputs["sequence_output"], expected["sequence_output"], atol=0.1
    )
    np.testing.assert_allclose(
        outputs["masked_lm_log_probs"], expected["masked_lm_log_probs"], atol=0.1
    )
