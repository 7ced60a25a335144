"""The fused training kernels against the plain TF formulas they replace."""

import numpy as np
import pytest
import tensorflow as tf

from bert_tf.checkpoints import training_state
from bert_tf.config import BertConfig
from bert_tf.distribution import dtype_policy
from bert_tf.modeling import BertPretrainingModel
from bert_tf.modeling import fused
from bert_tf.modeling import gelu as reference_gelu
from bert_tf.modeling.losses import masked_lm_loss
from tests.conftest import TINY_CONFIG

SEED = tf.constant([7, 11], tf.int64)


def _gradients(function, *args):
    """Outputs of `function(*args)` and d(sum(outputs * weights))/d(args)."""
    args = [tf.constant(a) for a in args]
    with tf.GradientTape() as tape:
        tape.watch(args)
        outputs = function(*args)
        weights = tf.random.stateless_normal(outputs.shape, [1, 2], dtype=outputs.dtype)
        loss = tf.reduce_sum(outputs * weights)
    grads = tape.gradient(loss, args, unconnected_gradients="zero")
    return outputs.numpy(), [g.numpy() for g in grads]


def _reference_layer_norm(x, gamma, beta):
    mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
    return (x - mean) * tf.math.rsqrt(variance + 1e-12) * gamma + beta


def _keep_mask(shape, rate):
    threshold, scale = fused.dropout_threshold(rate)
    bits = fused.dropout_bits(tf.constant(shape), SEED)
    return tf.cast(bits >= threshold, tf.float32) * scale


def _random(*shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).normal(0, scale, shape).astype("float32")


def test_gelu_matches_the_formula_and_its_gradient():
    x = _random(64, 37, scale=3.0)
    expected, (expected_grad,) = _gradients(reference_gelu, x)
    actual, (actual_grad,) = _gradients(fused.gelu, x)
    np.testing.assert_allclose(actual, expected, atol=2e-6)
    np.testing.assert_allclose(actual_grad, expected_grad, atol=2e-5)


@pytest.mark.parametrize("residual", [False, True])
def test_layer_norm_matches_the_formula_and_its_gradient(residual):
    x, other = _random(50, 32), _random(50, 32, seed=1)
    gamma, beta = _random(32, seed=2), _random(32, seed=3)

    def reference(x, other, gamma, beta):
        return _reference_layer_norm(x + other if residual else x, gamma, beta)

    def kernel(x, other, gamma, beta):
        if residual:
            return fused.residual_layer_norm(x, other, gamma, beta, 1e-12, 0.0, SEED)
        return fused.layer_norm(x, gamma, beta, 1e-12)

    expected, expected_grads = _gradients(reference, x, other, gamma, beta)
    actual, actual_grads = _gradients(kernel, x, other, gamma, beta)
    np.testing.assert_allclose(actual, expected, atol=2e-6)
    for actual_grad, expected_grad in zip(actual_grads, expected_grads):
        np.testing.assert_allclose(actual_grad, expected_grad, atol=2e-5)
    inference = fused.inference_layer_norm(
        x, gamma, beta, 1e-12, residual=other if residual else None
    )
    np.testing.assert_allclose(inference, expected, atol=2e-6)


def test_residual_layer_norm_drops_what_its_bits_say():
    x, residual = _random(50, 32), _random(50, 32, seed=1)
    gamma, beta = _random(32, seed=2), _random(32, seed=3)
    mask = _keep_mask((50, 32), 0.25)

    def reference(x, residual, gamma, beta):
        return _reference_layer_norm(x * mask + residual, gamma, beta)

    def kernel(x, residual, gamma, beta):
        return fused.residual_layer_norm(x, residual, gamma, beta, 1e-12, 0.25, SEED)

    expected, expected_grads = _gradients(reference, x, residual, gamma, beta)
    actual, actual_grads = _gradients(kernel, x, residual, gamma, beta)
    np.testing.assert_allclose(actual, expected, atol=2e-6)
    for actual_grad, expected_grad in zip(actual_grads, expected_grads):
        np.testing.assert_allclose(actual_grad, expected_grad, atol=2e-5)
    assert np.all(actual_grads[0][mask.numpy() == 0] == 0)


def test_softmax_dropout_matches_the_formula_and_its_gradient():
    scores = _random(3, 4, 9, 9, scale=4.0)
    mask = _keep_mask(scores.shape, 0.1)
    expected, (expected_grad,) = _gradients(
        lambda s: tf.nn.softmax(s) * mask, scores
    )
    actual, (actual_grad,) = _gradients(
        lambda s: fused.softmax_dropout(s, 0.1, SEED), scores
    )
    np.testing.assert_allclose(actual, expected, atol=1e-6)
    np.testing.assert_allclose(actual_grad, expected_grad, atol=1e-5)


def test_dropout_rate_scale_and_determinism():
    ones = tf.ones((1000, 1000))
    dropped = fused.dropout(ones, 0.1, SEED).numpy()
    # round(0.1 * 65536) = 6554: drop probability 0.1000061; over 1e6
    # draws its standard deviation is 3e-4.
    assert abs(np.mean(dropped == 0) - 6554 / 65536) < 1.5e-3
    np.testing.assert_allclose(
        np.unique(dropped), [0.0, 65536 / (65536 - 6554)], rtol=1e-7
    )
    np.testing.assert_array_equal(dropped, fused.dropout(ones, 0.1, SEED))
    other = fused.dropout(ones, 0.1, tf.constant([7, 12], tf.int64)).numpy()
    assert np.mean((dropped == 0) != (other == 0)) > 0.1
    # An odd element count still gets one decision per element.
    assert fused.dropout_bits(tf.constant([3, 5]), SEED).shape == (3, 5)
    _, (grad,) = _gradients(lambda x: fused.dropout(x, 0.1, SEED), np.ones((1000, 1000), "float32"))
    np.testing.assert_array_equal(grad == 0, dropped == 0)


def test_softmax_cross_entropy_matches_the_op_and_its_gradient():
    logits, bias = _random(30, 101, scale=3.0), _random(101, seed=1)
    labels = np.random.default_rng(2).integers(0, 101, 30).astype("int32")
    expected, expected_grads = _gradients(
        lambda z, b: tf.nn.sparse_softmax_cross_entropy_with_logits(labels, z + b),
        logits,
        bias,
    )
    actual, actual_grads = _gradients(
        lambda z, b: fused.softmax_cross_entropy(z, b, labels), logits, bias
    )
    np.testing.assert_allclose(actual, expected, atol=2e-6)
    for actual_grad, expected_grad in zip(actual_grads, expected_grads):
        np.testing.assert_allclose(actual_grad, expected_grad, atol=2e-6)


def test_masked_lm_loss_is_the_same_with_the_fused_kernel():
    logits, bias = _random(12, 99, scale=3.0), _random(99, seed=1)
    ids = np.random.default_rng(2).integers(0, 99, (4, 3))
    weights = np.array([[1, 1, 0]] * 4, "float32")
    expected = masked_lm_loss(logits, bias, ids, weights, training=False)
    actual = masked_lm_loss(logits, bias, ids, weights, training=True)
    for a, b in zip(actual, expected):
        np.testing.assert_allclose(a, b, atol=2e-6)


@pytest.mark.parametrize("rate", [-0.1, 1.0])
def test_dropout_rejects_rates_outside_zero_to_one(rate):
    with pytest.raises(ValueError, match=r"dropout rate must be in \[0, 1\)"):
        fused.dropout_threshold(rate)


def test_bfloat16_in_and_out_float32_inside():
    x = _random(64, 48, scale=3.0)
    gamma, beta = _random(48, seed=2), _random(48, seed=3)
    x16 = tf.cast(x, tf.bfloat16)
    for kernel, expected in [
        (fused.gelu, reference_gelu(tf.cast(x16, tf.float32))),
        (
            lambda v: fused.layer_norm(v, gamma, beta, 1e-12),
            _reference_layer_norm(tf.cast(x16, tf.float32), gamma, beta),
        ),
    ]:
        actual, (grad,) = _gradients(kernel, x16)
        assert actual.dtype == grad.dtype == tf.bfloat16.as_numpy_dtype
        # Only the output is rounded to bfloat16 (8 significant bits).
        np.testing.assert_allclose(
            actual.astype("float32"), expected, rtol=2**-8, atol=1e-6
        )


def _pretraining_inputs(seed):
    """A random batch of 4 sequences of 16 for the tiny pretraining model."""
    rng = np.random.default_rng(seed)
    return {
        "input_ids": rng.integers(0, 99, (4, 16)).astype("int32"),
        "input_mask": np.ones((4, 16), "int32"),
        "segment_ids": rng.integers(0, 2, (4, 16)).astype("int32"),
        "masked_lm_positions": rng.integers(0, 16, (4, 3)).astype("int32"),
        "masked_lm_ids": rng.integers(0, 99, (4, 3)).astype("int32"),
        "masked_lm_weights": np.ones((4, 3), "float32"),
        "next_sentence_labels": rng.integers(0, 2, (4, 1)).astype("int32"),
    }


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16", "mixed_float16"])
def test_every_trainable_variable_gets_a_gradient_in_training(policy):
    with dtype_policy(policy):
        model = BertPretrainingModel(BertConfig(**TINY_CONFIG))
    inputs = _pretraining_inputs(seed=0)
    with tf.GradientTape() as tape:
        loss = model(inputs, training=True)["loss"]
    grads = tape.gradient(loss, model.trainable_variables)
    missing = [
        v.path
        for v, g in zip(model.trainable_variables, grads)
        if g is None or not np.any(tf.convert_to_tensor(g).numpy())
    ]
    assert not missing


def test_without_xla_on_the_host_the_kernels_run_as_plain_ops(monkeypatch):
    # tensorflow-tpu links no XLA CPU backend; there every kernel runs its
    # own formulas as plain TF ops, with the same hand-written gradients.
    with dtype_policy("float32"):
        model = BertPretrainingModel(BertConfig(**TINY_CONFIG))
    inputs = _pretraining_inputs(seed=1)

    model(inputs, training=True)  # builds the weights and the generators
    generators = training_state.seed_generator_states(model)
    initial_states = [v.numpy() for v in generators]
    assert generators and TINY_CONFIG["hidden_dropout_prob"] > 0

    def loss_and_gradients():
        # The same dropout masks in both runs.
        for variable, state in zip(generators, initial_states):
            variable.assign(state)
        with tf.GradientTape() as tape:
            loss = model(inputs, training=True)["loss"]
        grads = tape.gradient(loss, model.trainable_variables)
        return loss.numpy(), [tf.convert_to_tensor(g).numpy() for g in grads]

    assert fused.xla_runs_on_host()
    compiled = loss_and_gradients()
    monkeypatch.setattr(fused, "xla_runs_on_host", lambda: False)
    plain = loss_and_gradients()
    np.testing.assert_allclose(plain[0], compiled[0], rtol=1e-6)
    for a, b in zip(plain[1], compiled[1]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
