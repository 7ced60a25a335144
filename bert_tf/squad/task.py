"""The fine-tuning task of run_squad.py: span loss and predictions.

As the original `model_fn`: the loss is the mean over the batch of the
cross-entropy of the start position plus that of the end position, halved;
each is a softmax over all sequence positions (question and padding
included, as the original did not mask them). There is no EVAL mode:
SQuAD is scored from the prediction files with the official scripts.

The batch mean is split over replicas so that their losses sum to exactly
the global-batch loss: the denominator is the batch size summed over all
replicas.
"""

import dataclasses

import tensorflow as tf

from bert_tf import distribution
from bert_tf import estimator
from bert_tf.modeling import losses
from bert_tf.squad import model as model_lib


@dataclasses.dataclass
class SquadTask(estimator.Task):
    """Answer-span extraction with `BertSpanModel`.

    Attributes:
      bert_config: a `BertConfig`.

    The training settings are the fields of `estimator.Task`.
    """

    bert_config: object

    def build_model(self):
        return model_lib.BertSpanModel(self.bert_config)

    def loss(self, outputs, features):
        # A softmax over positions: the classifier's cross-entropy.
        start_losses = losses.cross_entropy(
            outputs["start_logits"], features["start_positions"]
        )
        end_losses = losses.cross_entropy(
            outputs["end_logits"], features["end_positions"]
        )
        batch_size = distribution.global_sum(
            tf.cast(tf.size(start_losses), tf.float32)
        )
        start_loss = tf.reduce_sum(start_losses) / batch_size
        end_loss = tf.reduce_sum(end_losses) / batch_size
        return (start_loss + end_loss) / 2.0

    def predictions(self, outputs, features):
        return {
            "unique_ids": features["unique_ids"],
            "start_logits": tf.cast(outputs["start_logits"], tf.float32),
            "end_logits": tf.cast(outputs["end_logits"], tf.float32),
        }
