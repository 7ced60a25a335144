"""The activations of the original `modeling.py`, plus the erf GELU.

`hidden_act` names in `bert_config.json`: the original's "gelu" (tanh
approximation), "relu", "tanh", "linear", and bert_tf's "gelu_exact", the
erf form that Hugging Face calls "gelu". Google's code does not know
"gelu_exact"; the checkpoint converter writes it only for models that were
trained with the erf form, so that they compute what they computed before.
"""

import math

import keras
from keras import ops

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_SQRT_HALF = math.sqrt(0.5)


@keras.saving.register_keras_serializable(package="bert_tf")
def gelu(x):
    """GELU, tanh approximation, exactly as the original (not the erf form).

    0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3))). An erf GELU
    would land about 1e-3 away from Google's checkpoints' activations.
    """
    cdf = 0.5 * (1.0 + ops.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * ops.power(x, 3))))
    return x * cdf


@keras.saving.register_keras_serializable(package="bert_tf")
def gelu_exact(x):
    """GELU with the exact normal CDF: 0.5 * x * (1 + erf(x / sqrt(2))).

    Hugging Face's "gelu" (PyTorch's default GELU); a bert_tf extension,
    `hidden_act: "gelu_exact"`. Up to 5e-4 away from `gelu` per activation.
    """
    return 0.5 * x * (1.0 + ops.erf(x * _SQRT_HALF))


def get_activation(activation_string):
    """Maps an activation name of `bert_config.json` to a function.

    Args:
      activation_string: "gelu", "relu", "tanh" (any case), "linear", "" or
        None (no activation), bert_tf's "gelu_exact", or a callable,
        returned as is.

    Returns:
      a callable, or None for no activation.

    Raises:
      ValueError: for any other name.
    """
    if not isinstance(activation_string, str):
        return activation_string
    name = activation_string.lower()
    if name in ("", "linear"):
        return None
    if name == "gelu":
        return gelu
    if name == "gelu_exact":
        return gelu_exact
    if name == "relu":
        return keras.activations.relu
    if name == "tanh":
        return keras.activations.tanh
    raise ValueError(f"Unsupported activation: {activation_string}")
