"""Hugging Face BERT tensor names <-> Google's TF1 names, as data.

One `TensorName` per tensor: its TF1 name, its Hugging Face key, its shape
in the TF1 checkpoint (from the config alone, so BERT-Large's table costs
nothing), and whether the converter transposes it. PyTorch's `nn.Linear`
stores its weight [out, in] where TF1's dense kernels are [in, out]; the
original's `output_weights` are [out, in] already, so only `kernel`s are
transposed.

Hugging Face's classes (`transformers` `BertModel`, `BertForPreTraining`,
...) differ in which heads they hold and whether they hold the pooler;
`ARCHITECTURES` lists the ones Google's layout can express.

Not here: reading or writing files (`hf_conversion`), config.json
(`hf_config`).
"""

import dataclasses

# The heads a checkpoint can hold. TF1 scope <-> Hugging Face module:
MASKED_LM = "masked_lm"  # cls/predictions <-> cls.predictions
NEXT_SENTENCE = "next_sentence"  # cls/seq_relationship <-> cls.seq_relationship
CLASSIFIER = "classifier"  # root output_weights/bias <-> classifier
SQUAD = "squad"  # cls/squad <-> qa_outputs
HEAD_KINDS = (MASKED_LM, NEXT_SENTENCE, CLASSIFIER, SQUAD)

# Hugging Face's prefix of the encoder's keys in every class but BertModel.
HEAD_MODEL_PREFIX = "bert."


@dataclasses.dataclass(frozen=True)
class TensorName:
    """One tensor under its two names.

    Attributes:
      tf1: the name in Google's checkpoint, e.g. `bert/pooler/dense/kernel`.
      hf: the key in model.safetensors, e.g. `pooler.dense.weight`.
      shape: the TF1 shape, a tuple of ints.
      transpose: whether the Hugging Face tensor is the transpose.
    """

    tf1: str
    hf: str
    shape: tuple
    transpose: bool = False

    @property
    def hf_shape(self):
        return self.shape[::-1] if self.transpose else self.shape


@dataclasses.dataclass(frozen=True)
class Architecture:
    """A `transformers` class that Google's layout can express."""

    name: str  # the class, written to config.json's `architectures`
    heads: frozenset  # of HEAD_KINDS
    pooler: bool  # whether the class holds the pooler

    @property
    def hf_prefix(self):
        return "" if self.name == "BertModel" else HEAD_MODEL_PREFIX


ARCHITECTURES = (
    Architecture("BertModel", frozenset(), True),
    Architecture("BertForPreTraining", frozenset({MASKED_LM, NEXT_SENTENCE}), True),
    Architecture("BertForMaskedLM", frozenset({MASKED_LM}), False),
    Architecture("BertForNextSentencePrediction", frozenset({NEXT_SENTENCE}), True),
    Architecture("BertForSequenceClassification", frozenset({CLASSIFIER}), True),
    Architecture("BertForQuestionAnswering", frozenset({SQUAD}), False),
)

# `transformers` classes whose heads have no name in Google's layout.
UNSUPPORTED_ARCHITECTURES = {
    "BertForTokenClassification": "a per-token classifier",
    "BertForMultipleChoice": "a multiple-choice scorer",
    "BertLMHeadModel": "a left-to-right decoder",
}

# Keys of Hugging Face files that are not weights: the position ids (and,
# in some versions, token type ids) buffers, always 0, 1, 2, ... / zeros.
BUFFER_KEYS = ("embeddings.position_ids", "embeddings.token_type_ids")


def tied_keys(hf_prefix):
    """Keys Hugging Face ties to another tensor, {key: the key it equals}.

    save_pretrained leaves them out of the file; older files hold copies.
    Google's masked-LM head has no decoder weight of its own: it multiplies
    by the word embeddings and adds `cls/predictions/output_bias`.
    """
    return {
        "cls.predictions.decoder.weight": (
            f"{hf_prefix}embeddings.word_embeddings.weight"
        ),
        "cls.predictions.decoder.bias": "cls.predictions.bias",
    }


def _dense(tf1_scope, hf_scope, units_in, units_out):
    return [
        TensorName(
            f"{tf1_scope}/kernel", f"{hf_scope}.weight", (units_in, units_out), True
        ),
        TensorName(f"{tf1_scope}/bias", f"{hf_scope}.bias", (units_out,)),
    ]


def _layer_norm(tf1_scope, hf_scope, width):
    return [
        TensorName(f"{tf1_scope}/gamma", f"{hf_scope}.weight", (width,)),
        TensorName(f"{tf1_scope}/beta", f"{hf_scope}.bias", (width,)),
    ]


def _projection(tf1_prefix, hf_scope, units, width):
    """The original's `output_weights` [units, H] / `output_bias` [units]."""
    return [
        TensorName(f"{tf1_prefix}output_weights", f"{hf_scope}.weight", (units, width)),
        TensorName(f"{tf1_prefix}output_bias", f"{hf_scope}.bias", (units,)),
    ]


def encoder_names(config, hf_prefix="", pooler=True):
    """The `bert/...` tensors of a `BertConfig`: 5 + 16 L (+ 2 pooler).

    Args:
      config: a `BertConfig`.
      hf_prefix: "" (Hugging Face's `BertModel`) or "bert." (every class
        with a head).
      pooler: whether to include `bert/pooler/dense`.
    """
    width, inner = config.hidden_size, config.intermediate_size
    embeddings = f"{hf_prefix}embeddings"
    names = [
        TensorName(
            "bert/embeddings/word_embeddings",
            f"{embeddings}.word_embeddings.weight",
            (config.vocab_size, width),
        ),
        TensorName(
            "bert/embeddings/token_type_embeddings",
            f"{embeddings}.token_type_embeddings.weight",
            (config.type_vocab_size, width),
        ),
        TensorName(
            "bert/embeddings/position_embeddings",
            f"{embeddings}.position_embeddings.weight",
            (config.max_position_embeddings, width),
        ),
    ]
    names += _layer_norm("bert/embeddings/LayerNorm", f"{embeddings}.LayerNorm", width)
    for i in range(config.num_hidden_layers):
        tf1, hf = f"bert/encoder/layer_{i}", f"{hf_prefix}encoder.layer.{i}"
        for part in ("query", "key", "value"):
            names += _dense(
                f"{tf1}/attention/self/{part}", f"{hf}.attention.self.{part}",
                width, width,
            )
        names += _dense(
            f"{tf1}/attention/output/dense", f"{hf}.attention.output.dense",
            width, width,
        )
        names += _layer_norm(
            f"{tf1}/attention/output/LayerNorm", f"{hf}.attention.output.LayerNorm",
            width,
        )
        names += _dense(
            f"{tf1}/intermediate/dense", f"{hf}.intermediate.dense", width, inner
        )
        names += _dense(f"{tf1}/output/dense", f"{hf}.output.dense", inner, width)
        names += _layer_norm(f"{tf1}/output/LayerNorm", f"{hf}.output.LayerNorm", width)
    if pooler:
        names += pooler_names(config, hf_prefix)
    return names


def pooler_names(config, hf_prefix=""):
    """`bert/pooler/dense/{kernel,bias}`."""
    width = config.hidden_size
    return _dense("bert/pooler/dense", f"{hf_prefix}pooler.dense", width, width)


def head_names(kind, config, num_labels=None):
    """The tensors of one head kind (`num_labels` for CLASSIFIER only)."""
    width = config.hidden_size
    if kind == MASKED_LM:
        names = _dense(
            "cls/predictions/transform/dense", "cls.predictions.transform.dense",
            width, width,
        )
        names += _layer_norm(
            "cls/predictions/transform/LayerNorm",
            "cls.predictions.transform.LayerNorm",
            width,
        )
        names.append(
            TensorName(
                "cls/predictions/output_bias", "cls.predictions.bias",
                (config.vocab_size,),
            )
        )
        return names
    if kind == NEXT_SENTENCE:
        return _projection("cls/seq_relationship/", "cls.seq_relationship", 2, width)
    if kind == CLASSIFIER:
        return _projection("", "classifier", num_labels, width)
    if kind == SQUAD:
        return _projection("cls/squad/", "qa_outputs", 2, width)
    raise ValueError(f"unknown head kind {kind!r}")


# The one tensor whose presence says a head is there, and where to read
# the classifier's number of labels.
_TF1_HEAD_MARKERS = {
    MASKED_LM: "cls/predictions/output_bias",
    NEXT_SENTENCE: "cls/seq_relationship/output_weights",
    CLASSIFIER: "output_weights",
    SQUAD: "cls/squad/output_weights",
}
_HF_HEAD_MARKERS = {
    MASKED_LM: "cls.predictions.bias",
    NEXT_SENTENCE: "cls.seq_relationship.weight",
    CLASSIFIER: "classifier.weight",
    SQUAD: "qa_outputs.weight",
}
TF1_POOLER = "bert/pooler/dense/kernel"
HF_POOLER = "pooler.dense.weight"


def tf1_heads(shapes):
    """The head kinds in a TF1 checkpoint's {name: shape}."""
    return frozenset(k for k, name in _TF1_HEAD_MARKERS.items() if name in shapes)


def hf_heads(shapes):
    """The head kinds in a Hugging Face file's {key: shape}."""
    return frozenset(k for k, key in _HF_HEAD_MARKERS.items() if key in shapes)


def tf1_num_labels(shapes):
    """The classifier's number of labels, from `output_weights` [labels, H]."""
    return shapes[_TF1_HEAD_MARKERS[CLASSIFIER]][0]


def hf_num_labels(shapes):
    return shapes[_HF_HEAD_MARKERS[CLASSIFIER]][0]


def architecture_for(heads):
    """The `Architecture` holding exactly `heads`, or None."""
    for architecture in ARCHITECTURES:
        if architecture.heads == heads:
            return architecture
    return None


def checkpoint_names(config, heads, hf_prefix="", pooler=True, num_labels=None):
    """Every tensor of a checkpoint: the encoder, then `heads` in order."""
    names = encoder_names(config, hf_prefix, pooler)
    for kind in HEAD_KINDS:
        if kind in heads:
            names += head_names(kind, config, num_labels)
    return names
