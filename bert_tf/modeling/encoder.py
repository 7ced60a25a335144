"""BertModel: the BERT encoder, with Google's variable layout.

Replaces `modeling.BertModel` of google-research/bert. The model is a Keras 3
model, so dropout follows `training=` instead of the original's
`is_training` constructor argument.
"""

import keras
from keras import ops

from bert_tf import config as config_lib
from bert_tf.modeling import embeddings
from bert_tf.modeling import sublayers
from bert_tf.modeling import transformer

# B=batch, S=sequence length, H=hidden size.


def attention_mask_adder(input_mask, dtype="float32"):
    """The original's additive attention mask, [B, S] -> [B, 1, 1, S].

    Only keys are masked: padded query positions still produce outputs, as in
    the original. Real keys get 0.0, padding gets -10000.0.
    """
    mask = ops.cast(input_mask, dtype)
    return ops.expand_dims(ops.expand_dims((1.0 - mask) * -10000.0, 1), 1)


@keras.saving.register_keras_serializable(package="bert_tf")
class BertModel(keras.Model):
    """The BERT encoder: embeddings, L transformer layers and the pooler.

    Call it with a dict of int32 [batch_size, seq_length] tensors:
    `input_ids`, and optionally `input_mask` (default all ones) and
    `segment_ids` (default all zeros). It returns a dict:

      sequence_output: [B, S, H], the last layer.
      pooled_output: [B, H], tanh(dense(sequence_output[:, 0])).
      all_encoder_layers: list of L tensors [B, S, H], one per layer (the
        embedding output is not in the list, as in the original).
      embedding_output: [B, S, H], after LayerNorm and dropout.

    Args:
      config: a `BertConfig` (or its dict).

    Example:

    >>> config = BertConfig(vocab_size=99, hidden_size=32,
    ...     num_hidden_layers=2, num_attention_heads=4, intermediate_size=37)
    >>> model = BertModel(config)
    >>> outputs = model({"input_ids": np.ones((13, 7), "int32")})
    >>> outputs["sequence_output"].shape
    TensorShape([13, 7, 32])
    """

    def __init__(self, config, **kwargs):
        kwargs.setdefault("name", "bert")
        super().__init__(**kwargs)
        if isinstance(config, dict):
            config = config_lib.BertConfig.from_dict(config)
        self.config = config

        # === Layers ===
        self.embeddings = embeddings.BertEmbeddings(
            vocab_size=config.vocab_size,
            hidden_size=config.hidden_size,
            type_vocab_size=config.type_vocab_size,
            max_position_embeddings=config.max_position_embeddings,
            dropout_rate=config.hidden_dropout_prob,
            initializer_range=config.initializer_range,
            dtype=self.dtype_policy,
            name="embeddings",
        )
        # TransformerLayer's arguments are all BertConfig fields, by name.
        layer_arguments = sublayers.config_arguments(
            config, transformer.TransformerLayer
        )
        self.transformer_layers = [
            transformer.TransformerLayer(
                **layer_arguments, dtype=self.dtype_policy, name=f"layer_{i}"
            )
            for i in range(config.num_hidden_layers)
        ]
        self.pooler = sublayers.dense(
            config.hidden_size,
            config.initializer_range,
            self.dtype_policy,
            "pooler",
            activation="tanh",
        )
        # Build every variable now: checkpoints load into a fresh model.
        self.embeddings.build()
        for layer in self.transformer_layers:
            layer.build((None, None, config.hidden_size))
        self.pooler.build((None, config.hidden_size))
        self.built = True

    def call(self, inputs, training=None):
        if not isinstance(inputs, dict):
            inputs = {"input_ids": inputs}
        input_ids = inputs["input_ids"]
        input_mask = inputs.get("input_mask")
        if input_mask is None:
            input_mask = ops.ones_like(input_ids)
        segment_ids = inputs.get("segment_ids")
        if segment_ids is None:
            segment_ids = ops.zeros_like(input_ids)

        embedding_output = self.embeddings(
            input_ids, segment_ids, training=training
        )
        mask_adder = attention_mask_adder(input_mask)  # [B, 1, 1, S]
        x = embedding_output
        all_encoder_layers = []
        for layer in self.transformer_layers:
            x = layer(x, mask_adder, training=training)
            all_encoder_layers.append(x)
        pooled_output = self.pooler(x[:, 0])  # [B, H]
        return {
            "sequence_output": x,
            "pooled_output": pooled_output,
            "all_encoder_layers": all_encoder_layers,
            "embedding_output": embedding_output,
        }

    def get_embedding_table(self):
        """The word embedding table [V, H], shared with the masked-LM head."""
        return self.embeddings.word_embeddings

    def get_config(self):
        config = super().get_config()
        config.update(config=self.config.to_dict())
        return config
