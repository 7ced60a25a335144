"""TransformerLayer: one block of the BERT encoder (post-LayerNorm).

Replaces the body of the loop in `modeling.transformer_model` of
google-research/bert. Sublayer names echo the TF1 scopes of `layer_<i>`:
`attention/self` -> `attention`, `attention/output/dense` ->
`attention_output_dense`, `attention/output/LayerNorm` ->
`attention_layer_norm`, `intermediate/dense` -> `intermediate_dense`,
`output/dense` -> `output_dense`, `output/LayerNorm` -> `output_layer_norm`.
"""

import keras
from keras import ops

from bert_tf.modeling import activations
from bert_tf.modeling import attention
from bert_tf.modeling import fused
from bert_tf.modeling import sublayers

# B=batch, S=sequence length, H=hidden size, I=intermediate size.


class _IntermediateDense(keras.layers.Dense):
    """Dense followed by `hidden_act`, applied inside this layer's `call`.

    At inference oneDNN fuses the original's GELU into the matmul and bias
    add only when the three run in one layer's call; `fused.activation`
    picks the kernel.
    """

    def __init__(self, units, hidden_act, **kwargs):
        super().__init__(units, **kwargs)
        self.hidden_activation = activations.get_activation(hidden_act)

    def call(self, inputs, training=None):
        outputs = super().call(inputs)
        return fused.activation(outputs, self.hidden_activation, training)


@keras.saving.register_keras_serializable(package="bert_tf")
class TransformerLayer(keras.layers.Layer):
    """Self-attention, add & norm, feed-forward, add & norm.

    `call(x, attention_mask_adder)` maps [B, S, H] to [B, S, H]. Dropout is
    applied after each projection back to H and on the attention
    probabilities, only when `training=True`; `fused` picks the kernels for
    the activation and each dropout + residual + LayerNorm.
    """

    def __init__(
        self,
        hidden_size,
        num_attention_heads,
        intermediate_size,
        hidden_act,
        hidden_dropout_prob,
        attention_probs_dropout_prob,
        initializer_range,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.initializer_range = initializer_range

    def build(self, input_shape=None):
        hidden_shape = (None, None, self.hidden_size)

        def dense(units, name, **kwargs):
            return sublayers.dense(
                units, self.initializer_range, self.dtype_policy, name, **kwargs
            )

        def layer_norm(name):  # holds gamma and beta; `fused` computes
            return sublayers.layer_norm(self.dtype_policy, name, hidden_shape)

        self.attention = attention.SelfAttention(
            num_attention_heads=self.num_attention_heads,
            hidden_size=self.hidden_size,
            dropout_rate=self.attention_probs_dropout_prob,
            initializer_range=self.initializer_range,
            dtype=self.dtype_policy,
            name="attention",
        )
        self.attention.build(hidden_shape)
        self.attention_output_dense = dense(
            self.hidden_size, "attention_output_dense"
        )
        self.attention_output_dense.build(hidden_shape)
        self.attention_layer_norm = layer_norm("attention_layer_norm")
        self.intermediate_dense = dense(
            self.intermediate_size,
            "intermediate_dense",
            layer_class=_IntermediateDense,
            hidden_act=self.hidden_act,
        )
        self.intermediate_dense.build(hidden_shape)
        self.output_dense = dense(self.hidden_size, "output_dense")
        self.output_dense.build((None, None, self.intermediate_size))
        self.output_layer_norm = layer_norm("output_layer_norm")
        self.seed_generator = keras.random.SeedGenerator()
        self.built = True

    def call(self, x, attention_mask_adder, training=None):
        input_shape = ops.shape(x)
        attention_output = self.attention(
            x, attention_mask_adder, training=training
        )  # [B, S, H]
        # The rest runs on [B * S, H] matrices, as the original: oneDNN fuses
        # a 2-D matmul with its bias add and gelu, not a 3-D one.
        x = ops.reshape(x, (-1, self.hidden_size))  # [B * S, H]
        attention_output = ops.reshape(attention_output, (-1, self.hidden_size))
        attention_output = self.attention_output_dense(attention_output)
        attention_output = fused.add_and_norm(
            attention_output,
            x,
            self.attention_layer_norm,
            self.hidden_dropout_prob,
            self.seed_generator,
            training=training,
        )  # [B * S, H]

        intermediate = self.intermediate_dense(
            attention_output, training=training
        )  # [B * S, I]
        layer_output = self.output_dense(intermediate)  # [B * S, H]
        layer_output = fused.add_and_norm(
            layer_output,
            attention_output,
            self.output_layer_norm,
            self.hidden_dropout_prob,
            self.seed_generator,
            training=training,
        )
        return ops.reshape(layer_output, input_shape)  # [B, S, H]

    def get_config(self):
        return sublayers.get_config(self, super().get_config())
