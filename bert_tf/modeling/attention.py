"""SelfAttention: BERT's multi-head self-attention block.

Replaces `modeling.attention_layer` of google-research/bert (self-attention
only: the original's cross-attention arguments are never used by BERT).
Sublayers echo the TF1 scopes `attention/self/{query,key,value}`.
"""

import math

import keras
from keras import ops

from bert_tf.modeling import fused
from bert_tf.modeling import sublayers

# B=batch, F=from (query) length, T=to (key) length (both the sequence
# length S), N=heads, D=head size, H=N*D hidden size.


@keras.saving.register_keras_serializable(package="bert_tf")
class SelfAttention(keras.layers.Layer):
    """Scaled dot-product attention over N heads, with the original's mask.

    `call(x, attention_mask_adder)` takes x [B, S, H] and the additive mask
    [B, 1, 1, T] (0 for real keys, -10000 for padding) and returns the
    context [B, S, H], heads concatenated in head-major order. Scores are
    scaled after the matmul, as in the original, and the softmax runs in
    float32.
    """

    def __init__(
        self,
        num_attention_heads,
        hidden_size,
        dropout_rate,
        initializer_range,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if hidden_size % num_attention_heads != 0:
            raise ValueError(
                f"hidden_size ({hidden_size}) is not a multiple of "
                f"num_attention_heads ({num_attention_heads})"
            )
        self.num_attention_heads = num_attention_heads
        self.hidden_size = hidden_size
        self.dropout_rate = dropout_rate
        self.initializer_range = initializer_range
        self.head_size = hidden_size // num_attention_heads

    def build(self, input_shape=None):
        def projection(name):
            dense = sublayers.dense(
                self.hidden_size, self.initializer_range, self.dtype_policy, name
            )
            dense.build((None, None, self.hidden_size))
            return dense

        self.query = projection("query")
        self.key = projection("key")
        self.value = projection("value")
        self.seed_generator = keras.random.SeedGenerator()
        self.built = True

    def call(self, x, attention_mask_adder, training=None):
        batch_size, seq_length = ops.shape(x)[0], ops.shape(x)[1]
        heads = (batch_size, seq_length, self.num_attention_heads, self.head_size)
        # The projections run on [B * S, H] matrices, as in the original:
        # oneDNN fuses a 2-D matmul with its bias add, not a 3-D one.
        x = ops.reshape(x, (-1, self.hidden_size))  # [B * S, H]
        query = ops.reshape(self.query(x), heads)  # [B, F, N, D]
        key = ops.reshape(self.key(x), heads)  # [B, T, N, D]
        value = ops.reshape(self.value(x), heads)  # [B, T, N, D]
        query = ops.transpose(query, (0, 2, 1, 3))  # [B, N, F, D]
        key = ops.transpose(key, (0, 2, 3, 1))  # [B, N, D, T]
        value = ops.transpose(value, (0, 2, 1, 3))  # [B, N, T, D]

        # matmul, scale and mask add directly in a row: oneDNN runs them as
        # one op, which applies the scale and mask to its float32
        # accumulator before rounding to the compute dtype.
        scores = ops.matmul(query, key)  # [B, N, F, T]
        scores = scores * (1.0 / math.sqrt(self.head_size))
        scores = scores + ops.cast(attention_mask_adder, scores.dtype)
        probs = fused.attention_probs(
            scores, self.dropout_rate, self.seed_generator, training=training
        )  # [B, N, F, T]

        context = ops.matmul(probs, value)  # [B, N, F, D]
        context = ops.transpose(context, (0, 2, 1, 3))  # [B, F, N, D]
        context = ops.reshape(context, (batch_size, seq_length, self.hidden_size))
        return context  # [B, F, H]

    def get_config(self):
        return sublayers.get_config(self, super().get_config())
