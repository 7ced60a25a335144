"""The GELU question: bert_tf's "gelu_exact" and the names each side writes.

Google's "gelu" is the tanh approximation, Hugging Face's "gelu" the erf
form. The converter maps names so that a converted model computes the same
function; hf_minilm_test checks that on real weights for both forms.
"""

import math

import numpy as np
import pytest
import tensorflow as tf

from bert_tf.checkpoints import hf_config
from bert_tf.modeling import activations
from bert_tf.modeling import fused
from bert_tf.modeling import gelu
from bert_tf.modeling import gelu_exact
from bert_tf.modeling import get_activation

X = np.linspace(-6.0, 6.0, 1201, dtype=np.float32)


def _erf_gelu64(x):
    x = x.astype(np.float64)
    return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def test_gelu_exact_is_the_erf_form():
    np.testing.assert_allclose(gelu_exact(X), _erf_gelu64(X), rtol=0, atol=1e-6)
    tanh_form = np.asarray(gelu(X))
    # The two forms differ by up to about 5e-4 per activation.
    assert 1e-4 < np.abs(tanh_form - _erf_gelu64(X)).max() < 1e-3


def test_gelu_exact_is_a_config_name():
    assert get_activation("gelu_exact") is activations.gelu_exact
    assert get_activation("GELU_Exact") is activations.gelu_exact
    assert get_activation("gelu") is activations.gelu  # unchanged: tanh


@pytest.mark.parametrize("training", [False, True])
def test_every_kernel_choice_computes_the_erf_form(training):
    """Inference runs TF's erf gelu op (fused by oneDNN), training keras.ops."""
    x = tf.constant(X.reshape(1, 1201))
    y = fused.activation(x, activations.gelu_exact, training=training)
    np.testing.assert_allclose(
        np.asarray(y).ravel(), _erf_gelu64(X), rtol=0, atol=1e-6
    )


def test_gradient_of_gelu_exact():
    x = tf.constant(X)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fused.activation(x, activations.gelu_exact, training=True)
    x64 = X.astype(np.float64)
    cdf = 0.5 * (1.0 + np.vectorize(math.erf)(x64 / math.sqrt(2.0)))
    pdf = np.exp(-0.5 * x64 * x64) / math.sqrt(2.0 * math.pi)
    np.testing.assert_allclose(tape.gradient(y, x), cdf + x64 * pdf, atol=1e-6)


def test_each_direction_writes_the_same_function():
    assert hf_config.HIDDEN_ACT_TO_HF == {
        "gelu": "gelu_new", "gelu_exact": "gelu", "relu": "relu",
        "tanh": "tanh", "linear": "linear",
    }
    for name, hf_name in hf_config.HIDDEN_ACT_TO_HF.items():
        assert hf_config.HIDDEN_ACT_FROM_HF[hf_name] == name
    assert hf_config.HIDDEN_ACT_FROM_HF["gelu_pytorch_tanh"] == "gelu"
