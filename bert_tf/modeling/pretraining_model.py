"""BertPretrainingModel: the encoder with the masked-LM and NSP heads.

Replaces `model_fn_builder` of run_pretraining.py in google-research/bert:
the same heads, variable layout and losses, as a Keras model.
"""

import keras
from keras import ops

from bert_tf import config as config_lib
from bert_tf.modeling import encoder
from bert_tf.modeling import fused
from bert_tf.modeling import heads

# B=batch, P=max predictions per sequence, V=vocab size.


def masked_lm_loss(logits, masked_lm_ids, masked_lm_weights, output_bias=None):
    """The original's weighted masked-LM loss.

    Args:
      logits: float32 [B * P, V]; or, when `output_bias` is given, the logits
        before that bias, in any float dtype: then the bias add, the
        cross-entropy and their gradients run as one fused kernel each way
        (`fused.softmax_cross_entropy`, for training).
      masked_lm_ids: int [B, P], the original tokens.
      masked_lm_weights: float [B, P], 1.0 for real predictions, 0.0 padding.
      output_bias: the masked-LM head's `output_bias` [V], or None.

    Returns:
      (loss, per_example_loss): the scalar sum(w * loss) / (sum(w) + 1e-5)
      and the per-slot loss [B * P] before weighting, -log_softmax(logits)
      at the original token (a softmax cross-entropy op, whose gradient is
      far cheaper than that of log_softmax and a gather).
    """
    ids = ops.reshape(ops.cast(masked_lm_ids, "int32"), (-1,))
    weights = ops.reshape(ops.cast(masked_lm_weights, "float32"), (-1,))
    if output_bias is None:
        per_example_loss = ops.sparse_categorical_crossentropy(
            ids, logits, from_logits=True
        )
    else:
        per_example_loss = fused.softmax_cross_entropy(logits, output_bias, ids)
    numerator = ops.sum(weights * per_example_loss)
    denominator = ops.sum(weights) + 1e-5
    return numerator / denominator, per_example_loss


def next_sentence_loss(logits, next_sentence_labels):
    """Mean cross-entropy of the NSP head; returns (loss, per_example_loss)."""
    labels = ops.reshape(ops.cast(next_sentence_labels, "int32"), (-1,))
    per_example_loss = ops.sparse_categorical_crossentropy(
        labels, logits, from_logits=True
    )
    return ops.mean(per_example_loss), per_example_loss


@keras.saving.register_keras_serializable(package="bert_tf")
class BertPretrainingModel(keras.Model):
    """BERT with both pretraining heads, as run_pretraining.py builds it.

    Inputs (dict): the `BertModel` inputs plus `masked_lm_positions` [B, P];
    when `masked_lm_ids`, `masked_lm_weights` and `next_sentence_labels`
    are also given, the losses are computed too.

    Outputs (dict): the `BertModel` outputs plus `masked_lm_log_probs`
    [B * P, V] and `next_sentence_log_probs` [B, 2], and with labels
    `masked_lm_loss`, `masked_lm_example_loss` [B * P], `next_sentence_loss`,
    `next_sentence_example_loss` [B] and `loss` (the sum of both losses).
    """

    def __init__(self, config, **kwargs):
        kwargs.setdefault("name", "bert_pretraining")
        super().__init__(**kwargs)
        if isinstance(config, dict):
            config = config_lib.BertConfig.from_dict(config)
        self.config = config

        self.bert = encoder.BertModel(config, dtype=self.dtype_policy)
        self.masked_lm = heads.MaskedLMHead(
            vocab_size=config.vocab_size,
            hidden_size=config.hidden_size,
            hidden_act=config.hidden_act,
            initializer_range=config.initializer_range,
            dtype=self.dtype_policy,
            name="predictions",
        )
        self.next_sentence = heads.NextSentenceHead(
            input_size=config.hidden_size,
            initializer_range=config.initializer_range,
            dtype=self.dtype_policy,
            name="seq_relationship",
        )
        self.masked_lm.build()
        self.next_sentence.build()
        self.built = True

    def call(self, inputs, training=None):
        outputs = dict(self.bert(inputs, training=training))
        decoder_logits = self.masked_lm(
            outputs["sequence_output"],
            inputs["masked_lm_positions"],
            self.bert.get_embedding_table(),
            add_bias=False,
        )
        mlm_logits = self.masked_lm.add_output_bias(decoder_logits)
        nsp_logits = self.next_sentence(outputs["pooled_output"])
        outputs["masked_lm_log_probs"] = ops.log_softmax(mlm_logits, axis=-1)
        outputs["next_sentence_log_probs"] = ops.log_softmax(nsp_logits, axis=-1)
        if "masked_lm_ids" in inputs and "next_sentence_labels" in inputs:
            if training:  # the fused kernel, for its cheaper gradient
                mlm_loss, mlm_example_loss = masked_lm_loss(
                    decoder_logits,
                    inputs["masked_lm_ids"],
                    inputs["masked_lm_weights"],
                    output_bias=self.masked_lm.output_bias.value,
                )
            else:
                mlm_loss, mlm_example_loss = masked_lm_loss(
                    mlm_logits, inputs["masked_lm_ids"], inputs["masked_lm_weights"]
                )
            nsp_loss, nsp_example_loss = next_sentence_loss(
                nsp_logits, inputs["next_sentence_labels"]
            )
            outputs.update(
                masked_lm_loss=mlm_loss,
                masked_lm_example_loss=mlm_example_loss,
                next_sentence_loss=nsp_loss,
                next_sentence_example_loss=nsp_example_loss,
                loss=mlm_loss + nsp_loss,
            )
        return outputs

    def get_config(self):
        return {"config": self.config.to_dict(), "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
