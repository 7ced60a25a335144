"""The TF1 checkpoint names of every bert_tf variable, as data.

One list of `(tf1_name, variable)` pairs per model, in the original's
variable-creation order. The loader and the writer both read this list and
nothing else; there is no string rewriting of Keras paths.
"""

from bert_tf.modeling import encoder as encoder_lib
from bert_tf.modeling import heads as heads_lib


def _dense(prefix, layer):
    return [(f"{prefix}/kernel", layer.kernel), (f"{prefix}/bias", layer.bias)]


def _layer_norm(prefix, layer):
    return [(f"{prefix}/beta", layer.beta), (f"{prefix}/gamma", layer.gamma)]


def encoder_variables(bert):
    """`bert/...` names of a `BertModel`'s variables (5 + 16 L + 2)."""
    emb = bert.embeddings
    names = [
        ("bert/embeddings/word_embeddings", emb.word_embeddings),
        ("bert/embeddings/token_type_embeddings", emb.token_type_embeddings),
        ("bert/embeddings/position_embeddings", emb.position_embeddings),
    ]
    names += _layer_norm("bert/embeddings/LayerNorm", emb.layer_norm)
    for i, layer in enumerate(bert.transformer_layers):
        scope = f"bert/encoder/layer_{i}"
        att = layer.attention
        names += _dense(f"{scope}/attention/self/query", att.query)
        names += _dense(f"{scope}/attention/self/key", att.key)
        names += _dense(f"{scope}/attention/self/value", att.value)
        names += _dense(
            f"{scope}/attention/output/dense", layer.attention_output_dense
        )
        names += _layer_norm(
            f"{scope}/attention/output/LayerNorm", layer.attention_layer_norm
        )
        names += _dense(f"{scope}/intermediate/dense", layer.intermediate_dense)
        names += _dense(f"{scope}/output/dense", layer.output_dense)
        names += _layer_norm(f"{scope}/output/LayerNorm", layer.output_layer_norm)
    names += _dense("bert/pooler/dense", bert.pooler)
    return names


def masked_lm_variables(head):
    """`cls/predictions/...`: transform dense and LayerNorm, output bias."""
    names = _dense("cls/predictions/transform/dense", head.transform_dense)
    names += _layer_norm(
        "cls/predictions/transform/LayerNorm", head.transform_layer_norm
    )
    names.append(("cls/predictions/output_bias", head.output_bias))
    return names


def output_projection_variables(prefix, head):
    """`<prefix>output_weights` [units, H] and `<prefix>output_bias`."""
    return [
        (f"{prefix}output_weights", head.output_weights),
        (f"{prefix}output_bias", head.output_bias),
    ]


# Where each head type lives in a checkpoint.
_HEAD_PREFIXES = (
    (heads_lib.NextSentenceHead, "cls/seq_relationship/"),
    (heads_lib.SpanHead, "cls/squad/"),
    (heads_lib.ClassifierHead, ""),  # root level, as run_classifier.py
)


def _head_variables(head):
    if isinstance(head, heads_lib.MaskedLMHead):
        return masked_lm_variables(head)
    for head_type, prefix in _HEAD_PREFIXES:
        if isinstance(head, head_type):
            return output_projection_variables(prefix, head)
    raise TypeError(f"no TF1 names for layer {head.name!r} ({type(head)})")


def variable_map(model):
    """All `(tf1_name, variable)` pairs of a bert_tf model.

    Args:
      model: a `BertModel`, or a model with a `bert` attribute (the encoder)
        whose other BERT parts are layers of the types in `heads`
        (e.g. `BertPretrainingModel`, the classifier and SQuAD models).

    Returns:
      list of (str, keras.Variable), encoder first.
    """
    if isinstance(model, encoder_lib.BertModel):
        return encoder_variables(model)
    names = encoder_variables(model.bert)
    for layer in model.layers:
        if layer is not model.bert and isinstance(
            layer, (heads_lib.MaskedLMHead, heads_lib.OutputProjection)
        ):
            names += _head_variables(layer)
    return names


def keras_path_to_tf1_name(model):
    """{variable.path: tf1_name}, e.g. for the optimizer's decay exclusions."""
    return {variable.path: name for name, variable in variable_map(model)}
