"""The pretraining task: masked LM + next sentence, as run_pretraining.py.

Losses and metrics are the original `model_fn`'s. The loss is split over
replicas so that their sum is exactly the global-batch loss: the masked-LM
denominator `sum(weights) + 1e-5` and the NSP batch size are summed over all
replicas first.
"""

import dataclasses

import tensorflow as tf

from bert_tf import distribution
from bert_tf import estimator
from bert_tf.modeling import BertPretrainingModel


@dataclasses.dataclass
class PretrainingTask(estimator.Task):
    """MLM + NSP on create_pretraining_data.py's TFRecords."""

    bert_config: object

    def build_model(self):
        return BertPretrainingModel(self.bert_config)

    def loss(self, outputs, features):
        weights = tf.reshape(tf.cast(features["masked_lm_weights"], tf.float32), [-1])
        mlm_numerator = tf.reduce_sum(weights * outputs["masked_lm_example_loss"])
        mlm_denominator = distribution.global_sum(tf.reduce_sum(weights)) + 1e-5
        nsp_losses = outputs["next_sentence_example_loss"]
        batch_size = distribution.global_sum(tf.cast(tf.size(nsp_losses), tf.float32))
        return (
            mlm_numerator / mlm_denominator
            + tf.reduce_sum(nsp_losses) / batch_size
        )

    def metrics(self, outputs, features):
        weights = tf.reshape(tf.cast(features["masked_lm_weights"], tf.float32), [-1])
        mlm_ids = tf.reshape(features["masked_lm_ids"], [-1])
        mlm_predictions = tf.argmax(outputs["masked_lm_log_probs"], -1, tf.int32)
        mlm_correct = tf.cast(tf.equal(mlm_predictions, mlm_ids), tf.float32)
        nsp_labels = tf.reshape(features["next_sentence_labels"], [-1])
        nsp_predictions = tf.argmax(outputs["next_sentence_log_probs"], -1, tf.int32)
        nsp_correct = tf.cast(tf.equal(nsp_predictions, nsp_labels), tf.float32)
        nsp_count = tf.cast(tf.size(nsp_labels), tf.float32)
        return {
            "masked_lm_accuracy": (tf.reduce_sum(weights * mlm_correct), tf.reduce_sum(weights)),
            "masked_lm_loss": (
                tf.reduce_sum(weights * outputs["masked_lm_example_loss"]),
                tf.reduce_sum(weights),
            ),
            "next_sentence_accuracy": (tf.reduce_sum(nsp_correct), nsp_count),
            "next_sentence_loss": (
                tf.reduce_sum(outputs["next_sentence_example_loss"]),
                nsp_count,
            ),
        }
