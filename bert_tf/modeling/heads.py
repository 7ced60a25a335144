"""The task heads of the original scripts, with their TF1 variable layout.

* `MaskedLMHead` (`cls/predictions`, run_pretraining.get_masked_lm_output)
* `NextSentenceHead` (`cls/seq_relationship`,
  run_pretraining.get_next_sentence_output)
* `ClassifierHead` (root-level `output_weights`/`output_bias`,
  run_classifier.create_model)
* `SpanHead` (`cls/squad`, run_squad.create_model)

Weights named `output_weights` are stored [out, in] as in the original (used
transposed); `Dense` kernels are [in, out].
"""

import keras
from keras import ops

from bert_tf.modeling import activations
from bert_tf.modeling import sublayers

# B=batch, S=sequence length, P=predictions per sequence, H=hidden, V=vocab.


def gather_indexes(sequence_tensor, positions):
    """Gathers [B, S, H] at positions [B, P] into [B * P, H]."""
    batch_size = ops.shape(sequence_tensor)[0]
    seq_length = ops.shape(sequence_tensor)[1]
    width = ops.shape(sequence_tensor)[2]
    offsets = ops.reshape(ops.arange(batch_size, dtype="int32") * seq_length, (-1, 1))
    flat_positions = ops.reshape(ops.cast(positions, "int32") + offsets, (-1,))
    flat_sequence = ops.reshape(sequence_tensor, (-1, width))  # [B * S, H]
    return ops.take(flat_sequence, flat_positions, axis=0)  # [B * P, H]


@keras.saving.register_keras_serializable(package="bert_tf")
class MaskedLMHead(keras.layers.Layer):
    """Masked-LM logits, decoder tied to the word embedding table.

    `call(sequence_output, masked_lm_positions, embedding_table)` gathers
    the masked positions, applies the transform dense (hidden_act) and
    LayerNorm, and returns `x @ embedding_table^T` [B * P, V] in the compute
    dtype, before `output_bias`: the training loss adds the bias inside its
    fused kernel (`losses.masked_lm_loss`). `add_output_bias` completes the
    float32 logits, whose log_softmax is the original's `log_probs`.
    """

    def __init__(
        self, vocab_size, hidden_size, hidden_act, initializer_range, **kwargs
    ):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.hidden_act = hidden_act
        self.initializer_range = initializer_range

    def build(self, input_shape=None):
        self.transform_dense = sublayers.dense(
            self.hidden_size,
            self.initializer_range,
            self.dtype_policy,
            "transform_dense",
            activation=activations.get_activation(self.hidden_act),
        )
        self.transform_dense.build((None, self.hidden_size))
        self.transform_layer_norm = sublayers.layer_norm(
            self.dtype_policy, "transform_layer_norm", (None, self.hidden_size)
        )
        self.output_bias = self.add_weight(
            name="output_bias", shape=(self.vocab_size,), initializer="zeros"
        )
        self.built = True

    def call(self, sequence_output, masked_lm_positions, embedding_table):
        x = gather_indexes(sequence_output, masked_lm_positions)  # [B * P, H]
        x = self.transform_layer_norm(self.transform_dense(x))
        table = ops.cast(embedding_table, x.dtype)  # [V, H]
        return ops.matmul(x, ops.transpose(table))  # [B * P, V]

    def add_output_bias(self, logits):
        """Float32 `logits + output_bias`, for logits [B * P, V] from `call`."""
        return ops.cast(logits, "float32") + ops.cast(self.output_bias, "float32")

    def get_config(self):
        return sublayers.get_config(self, super().get_config())


@keras.saving.register_keras_serializable(package="bert_tf")
class OutputProjection(keras.layers.Layer):
    """`x @ output_weights^T + output_bias`, weights stored [units, in].

    The root-level classifier head, `cls/seq_relationship` and `cls/squad`
    all use this layout. Returns float32 logits.
    """

    def __init__(self, units, input_size, initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.input_size = input_size
        self.initializer_range = initializer_range

    def build(self, input_shape=None):
        self.output_weights = self.add_weight(
            name="output_weights",
            shape=(self.units, self.input_size),
            initializer=sublayers.create_initializer(self.initializer_range),
        )
        self.output_bias = self.add_weight(
            name="output_bias", shape=(self.units,), initializer="zeros"
        )
        self.built = True

    def call(self, x):
        logits = ops.matmul(x, ops.transpose(ops.cast(self.output_weights, x.dtype)))
        return ops.cast(logits, "float32") + ops.cast(self.output_bias, "float32")

    def get_config(self):
        # Serves the subclasses too: it reads the arguments of their own
        # __init__, which fix `units` and the initializer range.
        return sublayers.get_config(self, super().get_config())


@keras.saving.register_keras_serializable(package="bert_tf")
class NextSentenceHead(OutputProjection):
    """Next-sentence logits [B, 2] from the pooled output (0 = is next)."""

    def __init__(self, input_size, initializer_range=0.02, **kwargs):
        super().__init__(2, input_size, initializer_range, **kwargs)


@keras.saving.register_keras_serializable(package="bert_tf")
class ClassifierHead(OutputProjection):
    """run_classifier's head: dropout 0.1 (training only), then logits.

    The dropout rate and the 0.02 initializer stddev are hard-coded in the
    original, independent of bert_config.json.
    """

    def __init__(self, num_labels, input_size, dropout_rate=0.1, **kwargs):
        super().__init__(num_labels, input_size, 0.02, **kwargs)
        self.num_labels = num_labels
        self.dropout_rate = dropout_rate
        self.dropout = keras.layers.Dropout(dropout_rate, dtype=self.dtype_policy)

    def call(self, pooled_output, training=None):
        return super().call(self.dropout(pooled_output, training=training))


@keras.saving.register_keras_serializable(package="bert_tf")
class SpanHead(OutputProjection):
    """run_squad's head: start and end logits, each [B, S], from [B, S, H]."""

    def __init__(self, input_size, **kwargs):
        super().__init__(2, input_size, 0.02, **kwargs)

    def call(self, sequence_output):
        logits = super().call(sequence_output)  # [B, S, 2]
        return logits[..., 0], logits[..., 1]
