"""BertPretrainingModel: the encoder with the masked-LM and NSP heads.

Replaces `model_fn_builder` of run_pretraining.py in google-research/bert:
the same heads, variable layout and losses, as a Keras model.
"""

import keras
from keras import ops

from bert_tf.modeling import encoder
from bert_tf.modeling import heads
from bert_tf.modeling import losses
from bert_tf.modeling import sublayers

# B=batch, P=max predictions per sequence, V=vocab size.


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
        # BertModel takes a BertConfig or the dict that get_config stores.
        self.bert = encoder.BertModel(config, dtype=self.dtype_policy)
        self.config = self.bert.config
        # MaskedLMHead's arguments are all BertConfig fields, by name.
        head_arguments = sublayers.config_arguments(self.config, heads.MaskedLMHead)
        self.masked_lm = heads.MaskedLMHead(
            **head_arguments, dtype=self.dtype_policy, name="predictions"
        )
        self.next_sentence = heads.NextSentenceHead(
            input_size=self.config.hidden_size,
            initializer_range=self.config.initializer_range,
            dtype=self.dtype_policy,
            name="seq_relationship",
        )
        self.masked_lm.build()
        self.next_sentence.build()
        self.built = True

    def call(self, inputs, training=None):
        outputs = dict(self.bert(inputs, training=training))
        mlm_logits = self.masked_lm(
            outputs["sequence_output"],
            inputs["masked_lm_positions"],
            self.bert.get_embedding_table(),
        )  # [B * P, V], before output_bias
        nsp_logits = self.next_sentence(outputs["pooled_output"])  # [B, 2]
        outputs["masked_lm_log_probs"] = ops.log_softmax(
            self.masked_lm.add_output_bias(mlm_logits), axis=-1
        )
        outputs["next_sentence_log_probs"] = ops.log_softmax(nsp_logits, axis=-1)
        if "masked_lm_ids" not in inputs or "next_sentence_labels" not in inputs:
            return outputs

        mlm_loss, mlm_example_loss = losses.masked_lm_loss(
            mlm_logits,
            self.masked_lm.output_bias.value,
            inputs["masked_lm_ids"],
            inputs["masked_lm_weights"],
            training=training,
        )
        nsp_loss, nsp_example_loss = losses.next_sentence_loss(
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
        config = super().get_config()
        config.update(config=self.config.to_dict())
        return config
