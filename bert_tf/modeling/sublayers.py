"""What every bert_tf layer builds alike: its Dense and LayerNorm sublayers.

Replaces `create_initializer` and `layer_norm` of google-research/bert's
modeling.py: every weight matrix starts from a truncated normal with
stddev `initializer_range`, and every LayerNorm uses epsilon 1e-12.

A layer's constructor arguments are named once, in its `__init__`
signature: `get_config` returns them (STYLE rule 1: get_config mirrors
`__init__`, as tests/modeling/serialization_test.py checks), and
`config_arguments` takes them from a `BertConfig` for the layers whose
arguments are all its fields.

This module builds sublayers and computes nothing; `fused` runs the
LayerNorms of the encoder.
"""

import inspect

import keras


def create_initializer(initializer_range):
    """The original's weight initializer: truncated normal, that stddev."""
    return keras.initializers.TruncatedNormal(stddev=initializer_range)


def dense(
    units, initializer_range, dtype, name, layer_class=keras.layers.Dense, **kwargs
):
    """A `keras.layers.Dense` (or `layer_class`) with `create_initializer`.

    Not built: the caller builds it, in the order that keeps the variables'
    creation order (and so checkpoint and weight order) as it was.
    """
    return layer_class(
        units,
        kernel_initializer=create_initializer(initializer_range),
        dtype=dtype,
        name=name,
        **kwargs,
    )


def layer_norm(dtype, name, input_shape):
    """A LayerNormalization with the original's epsilon, built for a shape."""
    layer = keras.layers.LayerNormalization(epsilon=1e-12, dtype=dtype, name=name)
    layer.build(input_shape)
    return layer


def argument_names(layer_class):
    """The names of `layer_class.__init__`'s arguments, bar self and kwargs."""
    parameters = inspect.signature(layer_class.__init__).parameters
    return [name for name in parameters if name not in ("self", "kwargs")]


def config_arguments(config, layer_class):
    """The fields of `config` (a `BertConfig`) that `layer_class` takes.

    For the layers whose constructor arguments are all `BertConfig` fields
    of the same names, so that every field they take is passed.
    """
    return {name: getattr(config, name) for name in argument_names(layer_class)}


def get_config(layer, base_config):
    """`base_config` plus each constructor argument of `layer`.

    Every bert_tf layer stores each argument under its own name (STYLE rule
    1), so the values are read back from those attributes.
    """
    config = dict(base_config)
    for name in argument_names(type(layer)):
        config[name] = getattr(layer, name)
    return config
