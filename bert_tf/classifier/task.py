"""The fine-tuning task of run_classifier.py: loss, metrics, predictions.

Classification follows the original `create_model` / `model_fn`: the loss
is the mean cross-entropy over every example of the batch, padding examples
included (as the original's training and EVAL-mode graphs computed it), and
the metrics `eval_accuracy` and `eval_loss` weight each example by
`is_real_example`. Regression (STS-B, `num_labels` 1) uses the mean squared
error of the single logit instead; its Pearson and Spearman correlations
need every prediction at once, so run.py computes them from predictions
with `pearson_and_spearman` (numpy, no scipy).

The loss is split over replicas so that their sum is exactly the
global-batch loss: the batch size in the denominator is summed over all
replicas first.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from bert_tf import distribution
from bert_tf import estimator
from bert_tf.classifier import model as model_lib
from bert_tf.modeling import losses as losses_lib


@dataclasses.dataclass
class ClassifierTask(estimator.Task):
    """Sentence (pair) classification or regression on the pooled output.

    Attributes:
      bert_config: a `BertConfig`.
      num_labels: int, len(label_list); 1 means regression.

    The training settings are the fields of `estimator.Task`.
    """

    bert_config: object
    num_labels: int

    @property
    def is_regression(self):
        return self.num_labels == 1

    def build_model(self):
        return model_lib.BertClassifier(self.bert_config, self.num_labels)

    def loss(self, outputs, features):
        losses = losses_lib.classifier_example_loss(
            outputs["logits"], features["label_ids"], self.is_regression
        )
        batch_size = distribution.global_sum(tf.cast(tf.size(losses), tf.float32))
        return tf.reduce_sum(losses) / batch_size

    def metrics(self, outputs, features):
        losses = losses_lib.classifier_example_loss(
            outputs["logits"], features["label_ids"], self.is_regression
        )
        if "is_real_example" in features:
            weights = tf.cast(features["is_real_example"], tf.float32)
        else:
            weights = tf.ones_like(losses)
        weight_sum = tf.reduce_sum(weights)
        metrics = {"eval_loss": (tf.reduce_sum(weights * losses), weight_sum)}
        if not self.is_regression:
            predictions = tf.argmax(
                outputs["logits"], axis=-1, output_type=tf.int32
            )
            labels = tf.cast(features["label_ids"], tf.int32)
            correct = tf.cast(tf.equal(predictions, labels), tf.float32)
            metrics["eval_accuracy"] = (
                tf.reduce_sum(weights * correct),
                weight_sum,
            )
        return metrics

    def predictions(self, outputs, features):
        return {"probabilities": outputs["probabilities"]}


def rankdata(values):
    """Ranks starting at 1, ties given their average rank (as scipy's).

    Example: rankdata([10, 30, 20, 20]) -> [1.0, 4.0, 2.5, 2.5].
    """
    values = np.asarray(values)
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    # Each run of equal values gets the mean of the positions it spans.
    is_new = np.r_[True, sorted_values[1:] != sorted_values[:-1]]
    starts = np.flatnonzero(is_new)
    ends = np.r_[starts[1:], len(values)]
    run_ranks = (starts + ends + 1) / 2.0
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.repeat(run_ranks, ends - starts)
    return ranks


def pearson_and_spearman(predictions, labels):
    """(Pearson r, Spearman rho) of two equal-length sequences, float64.

    A constant sequence has no defined correlation; nan is returned then,
    as scipy does.
    """
    predictions = np.asarray(predictions, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)

    def correlation(x, y):
        x, y = x - x.mean(), y - y.mean()
        denominator = np.sqrt((x * x).sum() * (y * y).sum())
        return (x * y).sum() / denominator if denominator else float("nan")

    return (
        correlation(predictions, labels),
        correlation(rankdata(predictions), rankdata(labels)),
    )
