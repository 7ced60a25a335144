"""The model's losses, as the original scripts compute them.

* `masked_lm_loss` and `next_sentence_loss`: run_pretraining.py's
  `get_masked_lm_output` and `get_next_sentence_output`.
* `cross_entropy`: run_classifier.py's and run_squad.py's per-example
  softmax cross-entropy (over labels, or over sequence positions).
* `classifier_example_loss`: the classifier's, with squared error for a
  regression task (num_labels 1), which the original did not have.

Averaging over a batch split across replicas is not done here: the tasks
divide by sizes summed over all replicas.
"""

from keras import ops

from bert_tf.modeling import fused

# B=batch, P=max predictions per sequence, V=vocab size, C=classes.


def masked_lm_loss(
    logits, output_bias, masked_lm_ids, masked_lm_weights, training=None
):
    """The original's weighted masked-LM loss.

    Args:
      logits: [B * P, V] masked-LM logits before `output_bias`, in any float
        dtype (`MaskedLMHead`'s output).
      output_bias: float [V], the masked-LM head's `output_bias`.
      masked_lm_ids: int [B, P], the original tokens.
      masked_lm_weights: float [B, P], 1.0 for real predictions, 0.0 padding.
      training: in training, the bias add, the cross-entropy and their
        gradients run as one fused kernel each way
        (`fused.biased_cross_entropy`).

    Returns:
      (loss, per_example_loss): the scalar sum(w * loss) / (sum(w) + 1e-5)
      and the per-slot loss [B * P] before weighting, -log_softmax(logits +
      output_bias) at the original token. It is computed as a softmax
      cross-entropy, whose gradient is far cheaper than that of log_softmax
      and a gather.
    """
    ids = ops.reshape(ops.cast(masked_lm_ids, "int32"), (-1,))
    weights = ops.reshape(ops.cast(masked_lm_weights, "float32"), (-1,))
    per_example_loss = fused.biased_cross_entropy(
        logits, output_bias, ids, training=training
    )
    numerator = ops.sum(weights * per_example_loss)
    denominator = ops.sum(weights) + 1e-5
    return numerator / denominator, per_example_loss


def next_sentence_loss(logits, next_sentence_labels):
    """Mean cross-entropy of the NSP head; returns (loss, per_example_loss).

    Args:
      logits: float32 [B, 2].
      next_sentence_labels: int [B] or [B, 1], 0 when sentence B follows A.
    """
    labels = ops.reshape(ops.cast(next_sentence_labels, "int32"), (-1,))
    per_example_loss = ops.sparse_categorical_crossentropy(
        labels, logits, from_logits=True
    )
    return ops.mean(per_example_loss), per_example_loss


def cross_entropy(logits, labels):
    """-log_softmax(logits)[label] of each row, float32 [B].

    Args:
      logits: float [B, C]: class logits, or SQuAD's start (end) logits with
        C the sequence length.
      labels: int [B] in [0, C).
    """
    logits = ops.cast(logits, "float32")
    log_probs = ops.log_softmax(logits, axis=-1)  # [B, C]
    one_hot = ops.one_hot(labels, ops.shape(logits)[-1], dtype="float32")
    return -ops.sum(one_hot * log_probs, axis=-1)


def classifier_example_loss(logits, label_ids, is_regression):
    """Each example's classifier loss, float32 [B].

    Args:
      logits: float [B, num_labels] (num_labels 1 for regression).
      label_ids: int [B] label indices, or float [B] scores for regression.
      is_regression: use the squared error of `logits[:, 0]` instead of the
        cross-entropy.
    """
    if not is_regression:
        return cross_entropy(logits, label_ids)
    prediction = ops.cast(logits, "float32")[:, 0]
    return ops.square(prediction - ops.cast(label_ids, "float32"))
