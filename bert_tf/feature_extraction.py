"""extract_features.py's work: per-token activations of chosen layers.

Replaces `read_examples`, `convert_examples_to_features` and `main` of
google-research/bert's extract_features.py. Each input line becomes one
JSON Lines record with the original's layout, key spelling (`linex_index`)
and rounding, so tools written for the original's output read ours
unchanged:

    {"linex_index": 0, "features": [{"token": "[CLS]", "layers":
      [{"index": -1, "values": [0.123456, ...]}, ...]}, ...]}

Instead of a TPUEstimator in PREDICT mode, the encoder runs as one
`tf.function` per batch, and lines are read, run and written batch by batch,
so memory does not grow with the input file. The TPU flags are accepted for
compatibility and the work runs on the local device.

With --export_dir (an addition), the checkpoint is also written as TF Hub's
text preprocessor and encoder SavedModels (`bert_tf.hub_export`), and
--input_file becomes optional.

Not here: pooling over tokens or layers, or any output format besides the
original's JSON Lines.
"""

import dataclasses
import json
import os
import re
from typing import List, Optional

import numpy as np
import tensorflow as tf
from absl import logging

from bert_tf import checkpoints
from bert_tf import distribution
from bert_tf import errors
from bert_tf import file_io
from bert_tf import hub_export
from bert_tf import packing
from bert_tf import serving
from bert_tf import tokenization
from bert_tf.config import BertConfig
from bert_tf.modeling import BertModel

# Greedy, so a line with several " ||| " splits at the last one.
_PAIR_PATTERN = re.compile(r"^(.*) \|\|\| (.*)$")


@dataclasses.dataclass
class InputExample:
    """One input line.

    Attributes:
      unique_id: int, the 0-based line number (blank lines count).
      text_a: str, the line, or the part before the last " ||| ".
      text_b: optional str, the part after the last " ||| ".
    """

    unique_id: int
    text_a: str
    text_b: Optional[str] = None


@dataclasses.dataclass
class InputFeatures:
    """The model inputs of one line.

    Attributes:
      unique_id: int, the line number of the example.
      tokens: the real tokens, `[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]`.
      input_ids: list of seq_length int ids, zero-padded.
      input_mask: list of seq_length ints, 1 for real tokens.
      input_type_ids: list of seq_length ints, 0 for `[CLS] a [SEP]`, 1 for
        `b [SEP]`, 0 for padding (the segment ids of the other scripts).
    """

    unique_id: int
    tokens: List[str]
    input_ids: List[int]
    input_mask: List[int]
    input_type_ids: List[int]


@dataclasses.dataclass(kw_only=True)
class ExtractParams:
    """The flags of extract_features.py (original names and defaults)."""

    input_file: Optional[str] = None
    output_file: Optional[str] = None
    layers: str = "-1,-2,-3,-4"
    bert_config_file: str
    max_seq_length: int = 128
    init_checkpoint: Optional[str] = None
    vocab_file: str
    do_lower_case: bool = True
    preserve_unused_tokens: bool = False
    batch_size: int = 32
    use_tpu: bool = False
    master: Optional[str] = None
    num_tpu_cores: int = 8
    use_one_hot_embeddings: bool = False
    # Additions of bert_tf (not in the original).
    precision: str = "fp32"
    export_dir: Optional[str] = None


def split_line(line):
    """Splits a stripped line into (text_a, text_b) at the last " ||| ".

    Example: "a ||| b ||| c" gives ("a ||| b", "c"); "a|||b" has no spaces
    around the bars and gives ("a|||b", None).
    """
    m = _PAIR_PATTERN.match(line)
    if m is None:
        return line, None
    return m.group(1), m.group(2)


def iter_examples(input_file):
    """Yields an `InputExample` per line of `input_file`, lazily.

    Lines end at "\\n" only and every "\\r" is dropped, because the original
    read through gfile's readline; each line is then stripped.

    Raises:
      UserInputError: if the file is missing or a line is not UTF-8.
    """
    file_io.require_file(input_file, "--input_file")
    with file_io.open_text(input_file, "rb") as reader:
        unique_id = 0
        while True:
            raw = reader.readline()
            if not raw:
                break
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise errors.UserInputError(
                    f"--input_file={input_file!r}: line {unique_id + 1} is "
                    "not valid UTF-8"
                ) from None
            text_a, text_b = split_line(line.strip())
            yield InputExample(unique_id, text_a, text_b)
            unique_id += 1


def read_examples(input_file):
    """Reads a list of `InputExample`s, one per line (see `iter_examples`)."""
    return list(iter_examples(input_file))


def convert_example(ex_index, example, seq_length, tokenizer):
    """Converts one `InputExample` into `InputFeatures`.

    Truncation is run_classifier's (`packing.tokenize_pair`): a pair loses
    tokens from the end of its longer side until `[CLS] a [SEP] b [SEP]`
    fits; a single text keeps its first seq_length - 2 tokens.

    Args:
      ex_index: position of the example; the first five are logged.
      example: an `InputExample`.
      seq_length: int, the padded length of every id list.
      tokenizer: a `FullTokenizer`.

    Returns:
      `InputFeatures`.
    """
    tokens, input_type_ids = packing.tokenize_pair(
        example.text_a, example.text_b, seq_length, tokenizer
    )
    input_ids, input_mask, input_type_ids = packing.pad_inputs(
        tokenizer.convert_tokens_to_ids(tokens), input_type_ids, seq_length
    )

    if ex_index < 5:
        logging.info("*** Example ***")
        logging.info("unique_id: %s", example.unique_id)
        logging.info("tokens: %s", " ".join(tokens))
        logging.info("input_ids: %s", " ".join(str(x) for x in input_ids))
        logging.info("input_mask: %s", " ".join(str(x) for x in input_mask))
        logging.info(
            "input_type_ids: %s", " ".join(str(x) for x in input_type_ids)
        )

    return InputFeatures(
        unique_id=example.unique_id,
        tokens=tokens,
        input_ids=input_ids,
        input_mask=input_mask,
        input_type_ids=input_type_ids,
    )


def convert_examples_to_features(examples, seq_length, tokenizer):
    """Converts a list of `InputExample`s into a list of `InputFeatures`."""
    return [
        convert_example(ex_index, example, seq_length, tokenizer)
        for ex_index, example in enumerate(examples)
    ]


def parse_layers(layers, num_hidden_layers):
    """Parses --layers into Python indexes into the encoder's layers.

    Args:
      layers: str like "-1,-2,-3,-4"; -1 is the last transformer layer, 0
        the first (the embedding output is not available, as in the
        original).
      num_hidden_layers: int, L of the model.

    Returns:
      list of ints, in the given order (repeats allowed).

    Raises:
      UserInputError: for a non-integer or an index outside [-L, L-1].
    """
    try:
        indexes = [int(x) for x in layers.split(",")]
    except ValueError:
        raise errors.UserInputError(
            f"--layers={layers!r}: expected comma-separated integers such as "
            "-1,-2,-3,-4"
        ) from None
    for index in indexes:
        if not -num_hidden_layers <= index < num_hidden_layers:
            raise errors.UserInputError(
                f"--layers={layers!r}: layer index {index} is out of range "
                f"for a model with {num_hidden_layers} layers (expected "
                f"{-num_hidden_layers}..{num_hidden_layers - 1})"
            )
    return indexes


def validate(params):
    """Checks every flag and path before any model is built.

    Returns:
      (config, layer_indexes, checkpoint_prefix); the prefix is None when
      there is no init_checkpoint.

    Raises:
      UserInputError: one line naming the bad flag and value.
    """
    # An export-only run (--export_dir, no --input_file) extracts nothing.
    extracting = bool(params.input_file) or not params.export_dir
    if extracting:
        file_io.require_file(params.input_file, "--input_file")
        if not params.output_file:
            raise errors.UserInputError("--output_file is empty")
        file_io.require_writable(params.output_file, "--output_file")
    file_io.require_file(params.vocab_file, "--vocab_file")
    file_io.require_file(params.bert_config_file, "--bert_config_file")
    config = BertConfig.from_json_file(params.bert_config_file)
    config.check_max_seq_length(params.max_seq_length)
    if params.max_seq_length < 3:
        raise errors.UserInputError(
            f"--max_seq_length={params.max_seq_length}: expected at least 3 "
            "(room for [CLS] and two [SEP])"
        )
    errors.require_positive(params, ("batch_size",))
    layer_indexes = None
    if extracting:
        layer_indexes = parse_layers(params.layers, config.num_hidden_layers)
    prefix = None
    if params.init_checkpoint:
        prefix = checkpoints.resolve_checkpoint_path(params.init_checkpoint)
    distribution.resolve_precision(params.precision)
    if params.export_dir:
        _check_export(params, prefix)
    return config, layer_indexes, prefix


def _check_export(params, prefix):
    """--export_dir needs weights, and free version directories."""
    if prefix is None:
        raise errors.UserInputError(
            f"--export_dir={params.export_dir!r}: nothing to export without "
            "--init_checkpoint"
        )
    version = serving.export_version(prefix)
    for name in ("preprocessor", "encoder"):
        serving.version_path(os.path.join(params.export_dir, name), version)


def _export(params, config, prefix):
    """TF Hub's preprocessor and encoder, from the checkpoint (float32)."""
    model = BertModel(config, dtype="float32")
    checkpoints.load_tf1_checkpoint(model, prefix)
    hub_export.export_hub_models(
        model, params.export_dir, params.vocab_file, params.do_lower_case,
        params.max_seq_length,
        preserve_unused_tokens=params.preserve_unused_tokens,
        version=serving.export_version(prefix), checkpoint=prefix,
    )


def layer_outputs_fn(model, layer_indexes, seq_length):
    """A tf.function: int32 [B, S] inputs -> float32 [B, K, S, H].

    K = len(layer_indexes); only those layers leave the device. B may vary,
    so the last, smaller batch reuses the same trace.
    """
    spec = tf.TensorSpec([None, seq_length], tf.int32)

    @tf.function(input_signature=[spec, spec, spec])
    def fn(input_ids, input_mask, input_type_ids):
        outputs = model(
            {
                "input_ids": input_ids,
                "input_mask": input_mask,
                "segment_ids": input_type_ids,
            },
            training=False,
        )
        layers = outputs["all_encoder_layers"]
        chosen = tf.stack([layers[i] for i in layer_indexes], axis=1)
        return tf.cast(chosen, tf.float32)  # [B, K, S, H]

    return fn


def feature_to_json(feature, layer_indexes, layer_values):
    """The output line of one example, without the newline.

    Values are rounded with Python's `round(float(x), 6)` and written by
    `json.dumps` with its defaults (ASCII only, ", " and ": " separators),
    as in the original.

    Args:
      feature: `InputFeatures`.
      layer_indexes: the parsed --layers, written as each layer's "index".
      layer_values: float32 array [K, S, H] of this example.

    Returns:
      str.
    """
    # One tolist() per layer turns float32 into Python floats exactly as
    # float(x) does, without a numpy scalar per value.
    rows = [layer_values[k, : len(feature.tokens)].tolist()
            for k in range(len(layer_indexes))]
    token_features = []
    for i, token in enumerate(feature.tokens):
        token_features.append({
            "token": token,
            "layers": [
                {"index": index, "values": [round(x, 6) for x in rows[k][i]]}
                for k, index in enumerate(layer_indexes)
            ],
        })
    return json.dumps(
        {"linex_index": feature.unique_id, "features": token_features}
    )


def _batches(items, batch_size):
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def extract(params):
    """Writes the JSON Lines file of --output_file; returns its line count.

    The file appears under its final name only once every line has been
    written. With --export_dir, first writes TF Hub's preprocessor and
    encoder SavedModels there (`hub_export`); then --input_file is
    optional (no file, no extraction: returns 0).

    Raises:
      UserInputError: bad flags or files (see `validate`), a line that is
        not UTF-8, or a checkpoint that does not fit bert_config.json.
    """
    config, layer_indexes, prefix = validate(params)
    if params.use_tpu or params.master:
        logging.info(
            "--use_tpu/--master/--num_tpu_cores are accepted for "
            "compatibility; extract_features runs on the local device"
        )
    tokenizer = tokenization.FullTokenizer(
        vocab_file=params.vocab_file,
        do_lower_case=params.do_lower_case,
        preserve_unused_tokens=params.preserve_unused_tokens,
    )
    if params.export_dir:
        _export(params, config, prefix)
        if not params.input_file:
            return 0
    distribution.set_precision(params.precision)
    model = BertModel(config)
    if prefix is not None:
        checkpoints.init_from_checkpoint(model, prefix)
    else:
        logging.warning("No --init_checkpoint: the weights are random")
    run_batch = layer_outputs_fn(model, layer_indexes, params.max_seq_length)

    output_dir = os.path.dirname(params.output_file)
    if output_dir:
        file_io.makedirs(output_dir)
    examples = iter_examples(params.input_file)
    features = (
        convert_example(ex_index, example, params.max_seq_length, tokenizer)
        for ex_index, example in enumerate(examples)
    )
    num_lines = 0
    with file_io.atomic_write(params.output_file) as writer:
        for batch in _batches(features, params.batch_size):
            values = run_batch(
                np.array([f.input_ids for f in batch], np.int32),
                np.array([f.input_mask for f in batch], np.int32),
                np.array([f.input_type_ids for f in batch], np.int32),
            ).numpy()
            writer.write("".join(
                feature_to_json(f, layer_indexes, values[b]) + "\n"
                for b, f in enumerate(batch)
            ))
            num_lines += len(batch)
    logging.info("Wrote %d lines to %s", num_lines, params.output_file)
    return num_lines
