"""BertSpanModel: run_squad.py's `create_model` as a Keras model."""

import keras

from bert_tf.modeling import encoder
from bert_tf.modeling import heads


@keras.saving.register_keras_serializable(package="bert_tf")
class BertSpanModel(keras.Model):
    """BERT + `cls/squad` start/end logits over the sequence output.

    Returns a dict with `start_logits` and `end_logits`, each [B, S] float32.
    As in the original, no position is masked.
    """

    def __init__(self, config, **kwargs):
        kwargs.setdefault("name", "bert_squad")
        super().__init__(**kwargs)
        # BertModel takes a BertConfig or the dict that get_config stores.
        self.bert = encoder.BertModel(config, dtype=self.dtype_policy)
        self.config = self.bert.config
        self.span = heads.SpanHead(
            input_size=self.config.hidden_size, dtype=self.dtype_policy, name="squad"
        )
        self.span.build()
        self.built = True

    def call(self, inputs, training=None):
        sequence_output = self.bert(inputs, training=training)["sequence_output"]
        start_logits, end_logits = self.span(sequence_output)
        return {"start_logits": start_logits, "end_logits": end_logits}

    def get_config(self):
        config = super().get_config()
        config.update(config=self.config.to_dict())
        return config
