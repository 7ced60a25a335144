"""Which tensor becomes which, checked as strictly as the TF1 loader.

A `Plan` is computed from the names, shapes and dtypes of a file alone,
before any tensor is read: every tensor is either converted (a
`hf_names.TensorName`) or skipped for a stated reason, and every shape
agrees with the config. Anything else is a one-line `UserInputError`:
tensors that are not BERT's (RoBERTa's, say), missing ones, shapes that
disagree with the config (a vocab_size mismatch is named as such), heads
that Google's layout or `transformers` has no class for.

Not here: reading or writing tensors (`hf_conversion`).
"""

import dataclasses
from typing import Optional

from bert_tf import errors
from bert_tf.checkpoints import hf_names
from bert_tf.checkpoints import tf1_checkpoint

# Weights' dtypes as safetensors and TF name them.
HF_WEIGHT_DTYPES = ("F32", "F16", "BF16")
TF1_WEIGHT_DTYPES = ("float32", "float16", "bfloat16")
_VOCAB_SIZED = (
    "bert/embeddings/word_embeddings",
    "cls/predictions/output_bias",
    "embeddings.word_embeddings.weight",
    "bert.embeddings.word_embeddings.weight",
    "cls.predictions.bias",
)


@dataclasses.dataclass
class Plan:
    """What a conversion reads and writes.

    Attributes:
      names: the `hf_names.TensorName`s to convert.
      skipped: (name, reason) of every other tensor of the source.
      architecture: the `transformers` class of the Hugging Face side.
      tied: {key: the key it must equal}, Hugging Face copies to verify.
      num_labels: the classifier's, if there is one.
    """

    names: list
    skipped: list
    architecture: str
    tied: dict = dataclasses.field(default_factory=dict)
    num_labels: Optional[int] = None


def plan_from_hf(shapes, dtypes, config, hf_config, where):
    """The plan for a Hugging Face file's {key: shape} and {key: dtype}.

    Args:
      shapes, dtypes: of every tensor in model.safetensors (dtypes as
        safetensors names them: "F32", "BF16", ...).
      config: the `BertConfig` from its config.json.
      hf_config: the parsed config.json (its `architectures`).
      where: the file, for messages.
    """
    keys = set(shapes)
    prefix = ""
    if any(k.startswith(hf_names.HEAD_MODEL_PREFIX) for k in keys):
        prefix = hf_names.HEAD_MODEL_PREFIX
    buffers = {prefix + key for key in hf_names.BUFFER_KEYS}
    skipped = [(key, "a buffer, not a weight") for key in sorted(keys & buffers)]
    tied = {k: v for k, v in hf_names.tied_keys(prefix).items() if k in keys}
    skipped += [(k, f"tied to {v} (checked equal)") for k, v in tied.items()]
    heads = hf_names.hf_heads(keys)
    pooler = prefix + hf_names.HF_POOLER in keys
    _check_hf_architectures(hf_config, heads, pooler, where)
    num_labels = None
    if hf_names.CLASSIFIER in heads:
        num_labels = hf_names.hf_num_labels(shapes)
    names = hf_names.checkpoint_names(config, heads, prefix, pooler, num_labels)
    skipped_keys = {key for key, _ in skipped}
    found = {k: s for k, s in shapes.items() if k not in skipped_keys}
    match({n.hf: n.hf_shape for n in names}, found, where, "config.json")
    _check_dtypes([n.hf for n in names], dtypes, HF_WEIGHT_DTYPES, where)
    declared = hf_config.get("architectures") or []
    architecture = hf_names.architecture_for(heads)
    label = declared[0] if declared else getattr(architecture, "name", "BertModel")
    return Plan(names, skipped, label, tied, num_labels)


def _check_hf_architectures(hf_config, heads, pooler, where):
    for name in hf_config.get("architectures") or []:
        if name in hf_names.UNSUPPORTED_ARCHITECTURES:
            raise errors.UserInputError(
                f"{where}: config.json's architectures is {name}, "
                f"{hf_names.UNSUPPORTED_ARCHITECTURES[name]}, which has no "
                "name in Google's layout"
            )
    if hf_names.CLASSIFIER in heads and not pooler:
        raise errors.UserInputError(
            f"{where}: classifier.* without a pooler is a per-token "
            "classifier (BertForTokenClassification), which has no name in "
            "Google's layout"
        )


def plan_from_tf1(shapes, dtypes, config, where):
    """The plan for a TF1 checkpoint's {name: shape} and {name: dtype name}.

    Optimizer state is skipped; the heads choose the `transformers` class,
    and a pooler that class lacks (BertForQuestionAnswering,
    BertForMaskedLM) is skipped too.
    """
    skipped = [
        (name, "training state (optimizer slots, global_step)")
        for name in sorted(shapes)
        if tf1_checkpoint.is_bookkeeping(name)
    ]
    model = {n: s for n, s in shapes.items() if not tf1_checkpoint.is_bookkeeping(n)}
    heads = hf_names.tf1_heads(model)
    architecture = hf_names.architecture_for(heads)
    if architecture is None:
        raise errors.UserInputError(
            f"{where} holds the heads {', '.join(sorted(heads))} together; "
            "no transformers BERT class holds them all"
        )
    has_pooler = hf_names.TF1_POOLER in model
    if architecture.pooler and not has_pooler:
        raise errors.UserInputError(
            f"{where} lacks bert/pooler/dense, which transformers' "
            f"{architecture.name} needs"
        )
    if has_pooler and not architecture.pooler:
        for name in hf_names.pooler_names(config):
            reason = f"transformers' {architecture.name} has no pooler"
            skipped.append((name.tf1, reason))
            model.pop(name.tf1, None)
    num_labels = None
    if hf_names.CLASSIFIER in heads:
        num_labels = hf_names.tf1_num_labels(model)
    names = hf_names.checkpoint_names(
        config, heads, architecture.hf_prefix, architecture.pooler, num_labels
    )
    match({n.tf1: n.shape for n in names}, model, where, "--bert_config_file")
    _check_dtypes([n.tf1 for n in names], dtypes, TF1_WEIGHT_DTYPES, where)
    return Plan(names, skipped, architecture.name, num_labels=num_labels)


def _check_dtypes(names, dtypes, allowed, where):
    for name in names:
        if dtypes[name] not in allowed:
            raise errors.UserInputError(
                f"{where}: {name} is {dtypes[name]}; expected one of "
                f"{', '.join(allowed)}"
            )


def match(expected, found, where, source):
    """Raises UserInputError unless `found` has exactly `expected`'s shapes.

    Args:
      expected: {name: shape} the config implies.
      found: {name: shape} in the file.
      where: the file, for messages.
      source: where the expected shapes come from, for messages.
    """
    unexpected = sorted(set(found) - set(expected))
    if unexpected:
        raise errors.UserInputError(
            f"{where} holds {len(unexpected)} tensor(s) that are not BERT's "
            "or have no name in the other layout: "
            + tf1_checkpoint.summarize(unexpected)
        )
    missing = sorted(set(expected) - set(found))
    if missing:
        raise errors.UserInputError(
            f"{where} lacks {len(missing)} tensor(s) that {source} implies: "
            + tf1_checkpoint.summarize(missing)
        )
    for name, shape in expected.items():
        actual = tuple(found[name])
        if actual == tuple(shape):
            continue
        if name in _VOCAB_SIZED and actual[1:] == tuple(shape[1:]):
            raise errors.UserInputError(
                f"vocab_size mismatch: {source} says {shape[0]} but {where}'s "
                f"{name} has {actual[0]} rows"
            )
        raise errors.UserInputError(
            f"{where}: {name} has shape {list(actual)} but {source} implies "
            f"{list(shape)}"
        )
