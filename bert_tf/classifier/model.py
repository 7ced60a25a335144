"""BertClassifier: run_classifier.py's `create_model` as a Keras model."""

import keras
from keras import ops

from bert_tf.modeling import encoder
from bert_tf.modeling import heads


@keras.saving.register_keras_serializable(package="bert_tf")
class BertClassifier(keras.Model):
    """BERT + dropout(0.1) + `output_weights`/`output_bias` on the pooled output.

    Call it with the `BertModel` inputs; it returns a dict with `logits`
    [B, num_labels] (float32) and `probabilities` (softmax of the logits, or
    the logits themselves for a regression task, num_labels == 1).
    """

    def __init__(self, config, num_labels, **kwargs):
        kwargs.setdefault("name", "bert_classifier")
        super().__init__(**kwargs)
        # BertModel takes a BertConfig or the dict that get_config stores.
        self.bert = encoder.BertModel(config, dtype=self.dtype_policy)
        self.config = self.bert.config
        self.num_labels = num_labels
        self.classifier = heads.ClassifierHead(
            num_labels=num_labels,
            input_size=self.config.hidden_size,
            dtype=self.dtype_policy,
            name="output",
        )
        self.classifier.build()
        self.built = True

    def call(self, inputs, training=None):
        pooled_output = self.bert(inputs, training=training)["pooled_output"]
        logits = self.classifier(pooled_output, training=training)
        if self.num_labels == 1:
            return {"logits": logits, "probabilities": logits[:, 0]}
        return {"logits": logits, "probabilities": ops.softmax(logits, axis=-1)}

    def get_config(self):
        config = super().get_config()
        config.update(config=self.config.to_dict(), num_labels=self.num_labels)
        return config
