"""Hugging Face's config.json and tokenizer_config.json <-> bert_config.json.

The two configs share their field names (`hidden_size`, `vocab_size`, ...).
What differs:

* `hidden_act`. Hugging Face's "gelu" is the erf form; Google's "gelu" is
  the tanh approximation (Hugging Face's "gelu_new"). The two differ by
  about 1e-3 in every activation, so each direction writes the name of the
  *same function*: "gelu" from Hugging Face becomes bert_tf's "gelu_exact",
  "gelu_new" becomes "gelu", and back.
* Hugging Face settings that Google's BERT fixes (`layer_norm_eps` 1e-12,
  absolute positions, an encoder): any other value is refused.
* The tokenizer's `do_lower_case`, which Google's layout keeps in the
  scripts' flag and Hugging Face in tokenizer_config.json.

Not here: tensors (`hf_names`, `hf_conversion`).
"""

import json

from absl import logging

from bert_tf import config as config_lib
from bert_tf import errors
from bert_tf import file_io

# Keys of both files, with the same meaning.
SHARED_KEYS = (
    "vocab_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
    "max_position_embeddings",
    "type_vocab_size",
    "initializer_range",
)

# transformers' BertConfig defaults, for keys a config.json leaves out
# (its type_vocab_size default is 2 where Google's is 16).
HF_DEFAULTS = {
    "vocab_size": 30522,
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "initializer_range": 0.02,
}

# bert_config.json's hidden_act -> Hugging Face's name of the same function.
HIDDEN_ACT_TO_HF = {
    "gelu": "gelu_new",  # tanh approximation
    "gelu_exact": "gelu",  # erf
    "relu": "relu",
    "tanh": "tanh",
    "linear": "linear",
}
# Hugging Face's hidden_act -> bert_config.json's name of the same function.
HIDDEN_ACT_FROM_HF = {
    "gelu": "gelu_exact",
    "gelu_new": "gelu",
    "gelu_pytorch_tanh": "gelu",  # PyTorch's tanh GELU, the same formula
    "relu": "relu",
    "tanh": "tanh",
    "linear": "linear",
}

# Hugging Face settings with the one value Google's BERT computes.
_FIXED_SETTINGS = {
    "layer_norm_eps": 1e-12,
    "position_embedding_type": "absolute",
    "is_decoder": False,
    "add_cross_attention": False,
}

# What BertTokenizer assumes without a tokenizer_config.json.
HF_DEFAULT_DO_LOWER_CASE = True


def read_json(path, what):
    """A JSON object from `path`; one-line UserInputErrors naming `what`."""
    file_io.require_file(path, what)
    with file_io.open_text(path) as f:
        text = f.read()
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise errors.UserInputError(f"{what}={path!r} is not valid JSON: {e}") from None
    if not isinstance(value, dict):
        raise errors.UserInputError(f"{what}={path!r}: expected a JSON object")
    return value


def write_json(path, value):
    """Writes `value` as Hugging Face does: 2-space indent, sorted keys."""
    with file_io.atomic_write(path) as f:
        f.write(json.dumps(value, indent=2, sort_keys=True) + "\n")


def _check_is_bert_encoder(hf_config, where):
    model_type = hf_config.get("model_type", "bert")
    if model_type != "bert":
        raise errors.UserInputError(
            f"{where}: model_type is {model_type!r}; only BERT ('bert') "
            "converts to Google's layout"
        )
    embedding_size = hf_config.get("embedding_size")
    hidden_size = hf_config.get("hidden_size", HF_DEFAULTS["hidden_size"])
    if embedding_size is not None and embedding_size != hidden_size:
        raise errors.UserInputError(
            f"{where}: embedding_size {embedding_size} != hidden_size "
            f"{hidden_size} (factorised embeddings, as ALBERT's); BERT's "
            "embeddings are hidden_size wide"
        )
    for key, value in _FIXED_SETTINGS.items():
        if key in hf_config and hf_config[key] != value:
            raise errors.UserInputError(
                f"{where}: {key} is {hf_config[key]!r}; Google's BERT "
                f"computes only {value!r}"
            )


def bert_config_from_hf(hf_config, where):
    """The `BertConfig` computing what a Hugging Face config.json computes.

    Args:
      hf_config: the parsed config.json.
      where: names the file in error messages.

    Returns:
      a `BertConfig`; `directionality` and `pooler_*` keys (the multilingual
      and Chinese configs') are kept in its `extra`.

    Raises:
      UserInputError: not a BERT encoder, or a setting Google's BERT lacks.
    """
    _check_is_bert_encoder(hf_config, where)
    values = {key: hf_config.get(key, HF_DEFAULTS[key]) for key in SHARED_KEYS}
    hf_act = hf_config.get("hidden_act", HF_DEFAULTS["hidden_act"])
    if hf_act not in HIDDEN_ACT_FROM_HF:
        raise errors.UserInputError(
            f"{where}: hidden_act {hf_act!r} has no bert_config.json "
            f"equivalent; expected one of {sorted(HIDDEN_ACT_FROM_HF)}"
        )
    if values["hidden_size"] % values["num_attention_heads"]:
        raise errors.UserInputError(
            f"{where}: hidden_size {values['hidden_size']} is not a multiple "
            f"of num_attention_heads {values['num_attention_heads']}"
        )
    extra = {k: v for k, v in hf_config.items() if k in config_lib.KNOWN_UNUSED_KEYS}
    dropped = sorted(set(hf_config) - set(SHARED_KEYS) - set(extra) - {"hidden_act"})
    logging.info("config.json keys with no bert_config.json field: %s", dropped)
    return config_lib.BertConfig(
        **values, hidden_act=HIDDEN_ACT_FROM_HF[hf_act], extra=extra
    )


def hf_config_from_bert(config, architecture, num_labels=None, pad_token_id=0):
    """The config.json of a converted model (a dict).

    Args:
      config: the `BertConfig`.
      architecture: the `transformers` class name, e.g. "BertForPreTraining".
      num_labels: the classifier's, written as `id2label` / `label2id`
        (`LABEL_0`, ... as transformers names them).
      pad_token_id: the vocab's `[PAD]` id.

    Raises:
      UserInputError: a hidden_act Hugging Face has no name for.
    """
    act = (config.hidden_act or "linear").lower()
    if act not in HIDDEN_ACT_TO_HF:
        raise errors.UserInputError(
            f"--bert_config_file: hidden_act {config.hidden_act!r} has no "
            f"Hugging Face equivalent; expected one of {sorted(HIDDEN_ACT_TO_HF)}"
        )
    hf_config = {key: getattr(config, key) for key in SHARED_KEYS}
    hf_config.update(config.extra)
    hf_config.update(
        architectures=[architecture],
        model_type="bert",
        hidden_act=HIDDEN_ACT_TO_HF[act],
        layer_norm_eps=_FIXED_SETTINGS["layer_norm_eps"],
        position_embedding_type=_FIXED_SETTINGS["position_embedding_type"],
        pad_token_id=pad_token_id,
    )
    if num_labels is not None:
        labels = [f"LABEL_{i}" for i in range(num_labels)]
        hf_config["id2label"] = {str(i): label for i, label in enumerate(labels)}
        hf_config["label2id"] = {label: i for i, label in enumerate(labels)}
    return hf_config


def tokenizer_config(do_lower_case, max_position_embeddings):
    """tokenizer_config.json for `BertTokenizer` tokenizing as FullTokenizer."""
    return {
        "tokenizer_class": "BertTokenizer",
        "do_lower_case": do_lower_case,
        "do_basic_tokenize": True,
        "tokenize_chinese_chars": True,
        # None: strip accents exactly when lower-casing, as the original.
        "strip_accents": None,
        "model_max_length": max_position_embeddings,
        "unk_token": "[UNK]",
        "sep_token": "[SEP]",
        "pad_token": "[PAD]",
        "cls_token": "[CLS]",
        "mask_token": "[MASK]",
    }


def do_lower_case_from(tokenizer_settings):
    """(do_lower_case, its source, notes) from tokenizer_config.json or None.

    The notes name settings under which Hugging Face's tokenizer splits
    text differently from the original's FullTokenizer.
    """
    default = "BertTokenizer's default"
    if tokenizer_settings is None:
        return HF_DEFAULT_DO_LOWER_CASE, f"{default}, no tokenizer_config.json", []
    source = "tokenizer_config.json"
    if "do_lower_case" not in tokenizer_settings:
        source = f"{default}, not in tokenizer_config.json"
    do_lower_case = bool(
        tokenizer_settings.get("do_lower_case", HF_DEFAULT_DO_LOWER_CASE)
    )
    notes = []
    tokenizer_class = tokenizer_settings.get("tokenizer_class", "BertTokenizer")
    if tokenizer_class not in ("BertTokenizer", "BertTokenizerFast"):
        notes.append(f"tokenizer_class is {tokenizer_class}, not BertTokenizer")
    strip_accents = tokenizer_settings.get("strip_accents")
    if strip_accents is not None and strip_accents != do_lower_case:
        notes.append(
            f"strip_accents={strip_accents} with do_lower_case={do_lower_case}; "
            "the original strips accents exactly when it lower-cases"
        )
    for key in ("tokenize_chinese_chars", "do_basic_tokenize"):
        if tokenizer_settings.get(key, True) is False:
            notes.append(f"{key}=False; the original always does it")
    return do_lower_case, source, notes
