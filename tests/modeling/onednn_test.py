"""oneDNN's 16-bit inference kernels against the float32 formulas."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from bert_tf.config import BertConfig
from bert_tf.distribution import dtype_policy
from bert_tf.modeling import BertModel
from bert_tf.modeling import fused
from bert_tf.modeling import onednn
from tests.conftest import TINY_CONFIG

# A string condition is evaluated when the test runs, not at collection,
# which would start TensorFlow's runtime before other tests' strategies.
needs_onednn = pytest.mark.skipif(
    "not onednn.available()", reason="needs an x86-64 CPU build with oneDNN on"
)


def _bfloat16(*shape, seed=0, scale=1.0):
    values = np.random.default_rng(seed).normal(0, scale, shape)
    return tf.constant(values, tf.bfloat16)


def _float32(x):
    return tf.cast(x, tf.float32)


def _layer_norm_float32(x, gamma, beta):
    x, gamma, beta = _float32(x), _float32(gamma), _float32(beta)
    mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
    return (x - mean) * tf.math.rsqrt(variance + 1e-12) * gamma + beta


def _assert_rounded_once(actual, expected_float32):
    """`actual` (bfloat16) is `expected_float32` rounded: exactly, but for a
    rare last-bit difference where the float32 summation order decides."""
    actual = _float32(actual).numpy()
    rounded = _float32(tf.cast(expected_float32, tf.bfloat16)).numpy()
    assert np.all(np.abs(actual - rounded) <= np.abs(rounded) * 2.0**-7)
    assert np.mean(actual == rounded) > 0.999


@needs_onednn
@pytest.mark.parametrize("shape", [(96, 48), (4, 24, 48)])
def test_layer_norm_computes_in_float32_and_rounds_once(shape):
    x = _bfloat16(*shape, scale=3.0)
    gamma, beta = _bfloat16(48, seed=1), _bfloat16(48, seed=2)
    layer_norm = tf.function(lambda x: onednn.layer_norm(x, gamma, beta, 1e-12))
    actual = layer_norm(x)
    assert actual.dtype == tf.bfloat16
    _assert_rounded_once(actual, _layer_norm_float32(x, gamma, beta))


@needs_onednn
def test_inference_layer_norm_adds_the_residual_in_bfloat16_then_normalizes():
    x, residual = _bfloat16(96, 48, scale=3.0), _bfloat16(96, 48, seed=3)
    gamma, beta = _bfloat16(48, seed=1), _bfloat16(48, seed=2)
    function = tf.function(
        lambda x, r: fused.inference_layer_norm(x, gamma, beta, 1e-12, r)
    )
    graph = function.get_concrete_function(x, residual).graph
    assert "_MklLayerNorm" in {op.type for op in graph.get_operations()}
    _assert_rounded_once(
        function(x, residual), _layer_norm_float32(x + residual, gamma, beta)
    )


@needs_onednn
def test_the_onednn_layer_norm_has_the_formula_gradient():
    x = _bfloat16(32, 48, scale=3.0)
    gamma, beta = _bfloat16(48, seed=1), _bfloat16(48, seed=2)
    weights = _bfloat16(32, 48, seed=4)

    @tf.function
    def gradients(norm):
        with tf.GradientTape() as tape:
            tape.watch([x, gamma, beta])
            loss = tf.reduce_sum(_float32(norm(x, gamma, beta) * weights))
        return tape.gradient(loss, [x, gamma, beta])

    actual = gradients(lambda *v: fused.inference_layer_norm(*v, 1e-12))
    expected = gradients(lambda *v: fused.layer_norm(*v, 1e-12))
    for a, e in zip(actual, expected):
        np.testing.assert_array_equal(_float32(a), _float32(e))


@needs_onednn
def test_bfloat16_softmax_equals_the_float32_softmax_rounded():
    # The attention's oneDNN path relies on this: no casts, same values.
    scores = _bfloat16(8, 4, 64, 64, scale=4.0)
    direct = tf.function(lambda s: tf.nn.softmax(s))(scores)
    via_float32 = tf.function(
        lambda s: tf.cast(tf.nn.softmax(_float32(s)), tf.bfloat16)
    )(scores)
    np.testing.assert_array_equal(_float32(direct), _float32(via_float32))


def _operation_types(model, inputs):
    function = tf.function(lambda: model(inputs, training=False))
    graph_def = function.get_concrete_function().graph.as_graph_def()
    types = {node.op for node in graph_def.node}
    for nested in graph_def.library.function:  # the XLA kernels' ops
        types |= {node.op for node in nested.node_def}
    return types


@needs_onednn
def test_only_bfloat16_variables_in_a_graph_take_the_onednn_path():
    inputs = {"input_ids": np.ones((2, 8), "int32")}
    float32_model = BertModel(BertConfig(**TINY_CONFIG))
    bfloat16_model = BertModel(BertConfig(**TINY_CONFIG), dtype="bfloat16")
    assert "_MklLayerNorm" not in _operation_types(float32_model, inputs)
    with fused.plain_tf_ops():
        assert "_MklLayerNorm" not in _operation_types(bfloat16_model, inputs)
    assert "_MklLayerNorm" in _operation_types(bfloat16_model, inputs)


def test_bfloat16_variables_give_the_float32_outputs_eagerly_and_in_a_graph():
    inputs = {"input_ids": np.ones((2, 8), "int32")}
    float32_model = BertModel(BertConfig(**TINY_CONFIG))
    bfloat16_model = BertModel(BertConfig(**TINY_CONFIG), dtype="bfloat16")
    bfloat16_model.set_weights(float32_model.get_weights())
    # Eagerly (no graph to add the op to) it runs the portable kernels; in
    # a graph, oneDNN's where `onednn.available()`.
    eager = bfloat16_model(inputs)["sequence_output"]
    graph = tf.function(lambda: bfloat16_model(inputs))()["sequence_output"]
    reference = float32_model(inputs)["sequence_output"]
    for outputs in (eager, graph):
        np.testing.assert_allclose(_float32(outputs), reference, atol=0.1)


@needs_onednn
def test_bfloat16_variables_only_with_the_right_policy():
    with dtype_policy("mixed_bfloat16"):
        model = BertModel(BertConfig(**TINY_CONFIG))
    inputs = {"input_ids": np.ones((2, 8), "int32")}
    # float32 gamma and beta: the oneDNN op would round them; not taken.
    assert "_MklLayerNorm" not in _operation_types(model, inputs)


def test_xla_compiled_functions_keep_the_portable_kernels():
    model = BertModel(BertConfig(**TINY_CONFIG), dtype="bfloat16")
    inputs = {"input_ids": np.ones((2, 8), "int32")}
    compiled = tf.function(lambda: model(inputs, training=False), jit_compile=True)
    plain = tf.function(lambda: model(inputs, training=False))
    np.testing.assert_allclose(
        _float32(compiled()["sequence_output"]),
        _float32(plain()["sequence_output"]),
        atol=0.05,
    )


@needs_onednn
def test_tf_enable_onednn_opts_0_turns_the_path_off():
    # oneDNN's softmax is what computes bfloat16 in float32; without it the
    # attention must keep its casts.
    probe = "from bert_tf.modeling import onednn; print(onednn.available())"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=dict(os.environ, TF_ENABLE_ONEDNN_OPTS="0"),
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == ["False"]
