"""BertEmbeddings: word + token type + position tables, LayerNorm, dropout.

Replaces `modeling.embedding_lookup` and `modeling.embedding_postprocessor`
of google-research/bert. Variables echo the TF1 scope `bert/embeddings`.
"""

import keras
from keras import ops

from bert_tf.modeling import fused
from bert_tf.modeling import sublayers

# B=batch, S=sequence length, H=hidden size, V=vocab size.


@keras.saving.register_keras_serializable(package="bert_tf")
class BertEmbeddings(keras.layers.Layer):
    """Sum of the three embeddings, then LayerNorm and dropout.

    The sum is taken in the original's order (word + token type, then
    position), positions are always 0..S-1 (padding included), and the token
    type embedding is a lookup, which gives the same values as the original's
    one-hot matmul.
    """

    def __init__(
        self,
        vocab_size,
        hidden_size,
        type_vocab_size,
        max_position_embeddings,
        dropout_rate,
        initializer_range,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.type_vocab_size = type_vocab_size
        self.max_position_embeddings = max_position_embeddings
        self.dropout_rate = dropout_rate
        self.initializer_range = initializer_range

    def build(self, input_shape=None):
        init = sublayers.create_initializer(self.initializer_range)

        def table(name, rows):  # [rows, H]
            # autocast=False: under a mixed policy the tables are read in
            # float32 and only the [B, S, H] sum is cast, instead of casting
            # the whole [V, H] word table on every call.
            return self.add_weight(
                name=name,
                shape=(rows, self.hidden_size),
                initializer=init,
                autocast=False,
            )

        self.word_embeddings = table("word_embeddings", self.vocab_size)
        self.token_type_embeddings = table(
            "token_type_embeddings", self.type_vocab_size
        )
        self.position_embeddings = table(
            "position_embeddings", self.max_position_embeddings
        )
        # Holds gamma and beta; `fused` computes the normalization.
        self.layer_norm = sublayers.layer_norm(
            self.dtype_policy, "LayerNorm", (None, None, self.hidden_size)
        )
        self.seed_generator = keras.random.SeedGenerator()
        self.built = True

    def call(self, input_ids, segment_ids, training=None):
        seq_length = input_ids.shape[1]
        if seq_length is not None and seq_length > self.max_position_embeddings:
            raise ValueError(
                f"sequence length {seq_length} is longer than "
                f"max_position_embeddings={self.max_position_embeddings} "
                "of bert_config.json"
            )
        word = ops.take(self.word_embeddings, input_ids, axis=0)  # [B, S, H]
        token_type = ops.take(self.token_type_embeddings, segment_ids, axis=0)
        positions = self.position_embeddings[: ops.shape(input_ids)[1]]  # [S, H]
        embeddings = word + token_type
        embeddings = embeddings + ops.expand_dims(positions, 0)
        embeddings = ops.cast(embeddings, self.compute_dtype)
        return fused.norm_and_dropout(
            embeddings,
            self.layer_norm,
            self.dropout_rate,
            self.seed_generator,
            training=training,
        )  # [B, S, H]

    def get_config(self):
        return sublayers.get_config(self, super().get_config())
