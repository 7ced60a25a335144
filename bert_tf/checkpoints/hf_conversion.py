"""Hugging Face BERT directories <-> Google's TF1 checkpoints, both ways.

`convert(ConvertParams)` is convert_checkpoint.py's work. From a Hugging
Face directory (model.safetensors, config.json, vocab.txt and, if present,
tokenizer_config.json) it writes Google's layout: bert_config.json,
vocab.txt and bert_model.ckpt.{index,data-00000-of-00001}. With `to="hf"`
it writes the reverse, a directory that `transformers` loads as
`BertModel`, `BertForPreTraining`, `BertForMaskedLM`,
`BertForNextSentencePrediction`, `BertForSequenceClassification` or
`BertForQuestionAnswering`, whichever holds exactly the checkpoint's heads.

Strict as `load_tf1_checkpoint`: every tensor is converted or reported as
skipped (buffers, tied copies, optimizer state, a pooler the target class
lacks), every shape is checked against the config, and anything else is a
one-line `UserInputError`. Values are copied bit for bit; bfloat16 and
float16 weights are widened to float32, exactly, for the TF1 side, where
Google's code expects float32. Tensors are read one at a time and each is
dropped once converted, so one copy of the weights is held, not two. The
output directory is assembled under a temporary name and appears complete
or not at all; its `conversion.txt` says what was converted and what the
scripts need to know (do_lower_case, hidden_act).

Not here: the names (`hf_names`), which tensor goes where and the checks
(`conversion_plan`), the configs (`hf_config`), the safetensors package
(`safetensors_io`). Sharded Hugging Face files
(model.safetensors.index.json) and PyTorch's pytorch_model.bin are not
read.
"""

import contextlib
import dataclasses
import os
from typing import Optional

import numpy as np
import tensorflow as tf
from absl import logging

from bert_tf import config as config_lib
from bert_tf import errors
from bert_tf import file_io
from bert_tf import tokenization
from bert_tf.checkpoints import conversion_plan
from bert_tf.checkpoints import hf_config as hf_config_lib
from bert_tf.checkpoints import safetensors_io
from bert_tf.checkpoints import tf1_checkpoint

DIRECTIONS = ("tf1", "hf")
TF1_CHECKPOINT_NAME = "bert_model.ckpt"
NOTES_FILE = "conversion.txt"


@dataclasses.dataclass(kw_only=True)
class ConvertParams:
    """The flags of convert_checkpoint.py."""

    hf_dir: Optional[str] = None
    tf1_checkpoint: Optional[str] = None
    bert_config_file: Optional[str] = None
    vocab_file: Optional[str] = None
    output_dir: Optional[str] = None
    to: str = "tf1"
    do_lower_case: bool = True


@dataclasses.dataclass
class ConversionReport:
    """What a conversion wrote.

    Attributes:
      output_dir: the directory written.
      architecture: the `transformers` class of the Hugging Face side.
      converted: (source name, target name) of every tensor written.
      skipped: (source name, reason) of every tensor not written.
      notes: the lines of conversion.txt after its header.
    """

    output_dir: str
    architecture: str
    converted: list
    skipped: list
    notes: list


def validate(params):
    """Raises UserInputError unless the flags name one direction fully."""
    errors.require_set(params, ["output_dir"])
    if params.to not in DIRECTIONS:
        raise errors.UserInputError(f"--to={params.to}: expected tf1 or hf")
    needed, unused = ["hf_dir"], ["tf1_checkpoint", "bert_config_file", "vocab_file"]
    if params.to == "hf":
        needed, unused = unused, needed
    errors.require_set(params, needed)
    for name in unused:
        if getattr(params, name):
            raise errors.UserInputError(
                f"--{name} is not read with --to={params.to}; pass "
                + " ".join(f"--{n}" for n in needed)
            )


def convert(params):
    """Converts as `params` say (see the module docstring).

    Returns:
      a `ConversionReport`.

    Raises:
      UserInputError: bad flags, missing or unreadable files, non-BERT
        weights, shapes that disagree with the config, or a vocab.txt whose
        line count is not vocab_size. Nothing is written then.
    """
    validate(params)
    check_output_dir(params.output_dir.rstrip("/"))
    if params.to == "tf1":
        report = hf_to_tf1(params.hf_dir, params.output_dir)
    else:
        report = tf1_to_hf(
            params.tf1_checkpoint,
            params.bert_config_file,
            params.vocab_file,
            params.output_dir,
            params.do_lower_case,
        )
    for line in report.notes:
        logging.info("%s", line)
    logging.info(
        "Wrote %s: %d tensors (%d skipped)",
        report.output_dir,
        len(report.converted),
        len(report.skipped),
    )
    return report


# === Hugging Face -> TF1 ===


def hf_to_tf1(hf_dir, output_dir):
    """Writes Google's layout of the Hugging Face directory `hf_dir`."""
    where = f"--hf_dir={hf_dir}"
    hf_config = hf_config_lib.read_json(_hf_file(hf_dir, "config.json"), "--hf_dir")
    config = hf_config_lib.bert_config_from_hf(hf_config, f"{where}: config.json")
    vocab_file = _hf_file(hf_dir, "vocab.txt")
    _check_vocab(config, vocab_file, "--hf_dir", "config.json")
    do_lower_case, case_source, notes = _hf_do_lower_case(hf_dir)
    weights = _hf_file(hf_dir, "model.safetensors")
    with safetensors_io.SafetensorsReader(weights, "--hf_dir") as reader:
        plan = conversion_plan.plan_from_hf(
            reader.shapes, reader.dtypes, config, hf_config, weights
        )
        _check_tied(reader, plan.tied, weights)
        with _output_directory(output_dir) as staging:
            tensors, widened = _tf1_tensors(reader, plan.names)
            tf1_checkpoint.write_tensors(
                os.path.join(staging, TF1_CHECKPOINT_NAME), tensors
            )
            del tensors
            config.to_json_file(os.path.join(staging, "bert_config.json"))
            tf.io.gfile.copy(vocab_file, os.path.join(staging, "vocab.txt"))
            notes = _hf_to_tf1_notes(
                config, hf_config, (do_lower_case, case_source), widened
            ) + notes
            report = _report(output_dir, plan, notes, source_is_hf=True)
            _write_notes(staging, f"Hugging Face directory {hf_dir}", report)
    return report


def _hf_file(hf_dir, name):
    path = os.path.join(hf_dir, name)
    if tf.io.gfile.exists(path):
        return path
    if name == "model.safetensors":
        for other, why in (
            ("model.safetensors.index.json", "sharded weights are not read"),
            ("pytorch_model.bin", "pytorch_model.bin needs PyTorch"),
        ):
            if tf.io.gfile.exists(os.path.join(hf_dir, other)):
                raise errors.UserInputError(
                    f"--hf_dir={hf_dir}: no model.safetensors ({why}; save the "
                    "model with transformers' save_pretrained(safe_serialization="
                    "True, max_shard_size='100GB') first)"
                )
    raise errors.UserInputError(f"--hf_dir={hf_dir}: no {name} in this directory")


def _hf_do_lower_case(hf_dir):
    path = os.path.join(hf_dir, "tokenizer_config.json")
    settings = None
    if tf.io.gfile.exists(path):
        settings = hf_config_lib.read_json(path, "--hf_dir")
    do_lower_case, source, notes = hf_config_lib.do_lower_case_from(settings)
    notes = [f"Tokenizer: {note}" for note in notes]
    for note in notes:  # FullTokenizer will split some text differently
        logging.warning("%s", note)
    return do_lower_case, source, notes


def _check_tied(reader, tied, where):
    for key, target in tied.items():
        if not np.array_equal(reader.get(key), reader.get(target)):
            raise errors.UserInputError(
                f"{where}: {key} differs from {target}; Google's masked-LM "
                "head has no decoder of its own (it uses the word embeddings "
                "and cls/predictions/output_bias)"
            )


def _tf1_tensors(reader, names):
    """{tf1 name: tf.Tensor}, read and converted one tensor at a time.

    Each numpy array is dropped as soon as TensorFlow holds its copy, so the
    weights are held once. Returns the tensors and how many were widened
    to float32.
    """
    tensors, widened = {}, 0
    for name in names:
        value = reader.get(name.hf)
        if name.transpose:
            value = value.T
        if value.dtype != np.float32:
            value = value.astype(np.float32)  # exact for bfloat16 / float16
            widened += 1
        # A tensor made by tf.constant keeps a second, host-side copy of
        # its buffer (measured: twice the bytes until it is freed); the
        # output of tf.identity holds one.
        tensors[name.tf1] = tf.identity(tf.constant(value))
    return tensors, widened


def _hf_to_tf1_notes(config, hf_config, case, widened):
    """conversion.txt's lines; `case` is (do_lower_case, where it came from)."""
    hf_act = hf_config.get("hidden_act", hf_config_lib.HF_DEFAULTS["hidden_act"])
    do_lower_case, source = case
    notes = [
        f"do_lower_case={do_lower_case} ({source}): run the scripts with "
        f"--do_lower_case={do_lower_case}",
        f'hidden_act: config.json\'s "{hf_act}" is written as '
        f'"{config.hidden_act}", the same function'
        + _GELU_NOTES.get(config.hidden_act, ""),
    ]
    if widened:
        notes.append(f"{widened} bfloat16/float16 tensors widened to float32")
    return notes


_GELU_NOTES = {
    "gelu_exact": (
        " (the erf GELU, a bert_tf name: Google's code reads only its tanh "
        '"gelu", up to 5e-4 away per activation)'
    ),
}


# === TF1 -> Hugging Face ===


def tf1_to_hf(checkpoint, bert_config_file, vocab_file, output_dir, do_lower_case):
    """Writes the Hugging Face directory of a Google TF1 checkpoint."""
    prefix = tf1_checkpoint.resolve_checkpoint_path(checkpoint, "tf1_checkpoint")
    # The original's check of the flag against Google's released names.
    tokenization.validate_case_matches_checkpoint(do_lower_case, prefix)
    config = config_lib.BertConfig.from_json_file(bert_config_file)
    vocab = _check_vocab(config, vocab_file, "--vocab_file", "--bert_config_file")
    reader = tf1_checkpoint.open_reader(prefix, "tf1_checkpoint")
    where = f"--tf1_checkpoint={prefix}"
    dtypes = {n: d.name for n, d in reader.get_variable_to_dtype_map().items()}
    plan = conversion_plan.plan_from_tf1(
        reader.get_variable_to_shape_map(), dtypes, config, where
    )
    hf_config = hf_config_lib.hf_config_from_bert(
        config, plan.architecture, plan.num_labels, vocab.get("[PAD]", 0)
    )
    with _output_directory(output_dir) as staging:
        tensors = _hf_tensors(reader, plan.names)
        safetensors_io.write(os.path.join(staging, "model.safetensors"), tensors)
        del tensors
        hf_config_lib.write_json(os.path.join(staging, "config.json"), hf_config)
        hf_config_lib.write_json(
            os.path.join(staging, "tokenizer_config.json"),
            hf_config_lib.tokenizer_config(
                do_lower_case, config.max_position_embeddings
            ),
        )
        tf.io.gfile.copy(vocab_file, os.path.join(staging, "vocab.txt"))
        notes = _tf1_to_hf_notes(config, hf_config, do_lower_case, reader)
        report = _report(output_dir, plan, notes, source_is_hf=False)
        _write_notes(staging, f"TF1 checkpoint {prefix}", report)
    return report


def _hf_tensors(reader, names):
    """{hf key: numpy array}, read and converted one tensor at a time."""
    tensors = {}
    for name in names:
        value = reader.get_tensor(name.tf1)
        if name.transpose:
            value = np.ascontiguousarray(value.T)  # the [in, out] copy goes
        tensors[name.hf] = value
    return tensors


def _tf1_to_hf_notes(config, hf_config, do_lower_case, reader):
    notes = [
        f"do_lower_case={do_lower_case} (--do_lower_case), written to "
        "tokenizer_config.json",
        f'hidden_act: bert_config.json\'s "{config.hidden_act}" is written as '
        f'"{hf_config["hidden_act"]}", the same function',
    ]
    if "id2label" in hf_config:
        notes.append(
            "label names are not in TF1 checkpoints: config.json calls them "
            "LABEL_0, LABEL_1, ... in the order of the processor's get_labels()"
        )
    if reader.has_tensor(tf1_checkpoint.GLOBAL_STEP):
        step = int(reader.get_tensor(tf1_checkpoint.GLOBAL_STEP))
        notes.append(f"global_step {step} (transformers keeps no step)")
    return notes


# === Shared ===


def _check_vocab(config, vocab_file, what, source):
    """The vocab, after checking it has exactly vocab_size lines."""
    vocab = tokenization.load_vocab(file_io.require_file(vocab_file, what))
    rows = max(vocab.values(), default=-1) + 1
    if rows != config.vocab_size:
        raise errors.UserInputError(
            f"{what}: {vocab_file} has {rows} lines but {source} says "
            f"vocab_size={config.vocab_size}; they must belong to the same model"
        )
    return vocab


def check_output_dir(output_dir):
    """Raises UserInputError unless `output_dir` is new or empty."""
    if tf.io.gfile.exists(output_dir):
        if not tf.io.gfile.isdir(output_dir) or tf.io.gfile.listdir(output_dir):
            raise errors.UserInputError(
                f"--output_dir={output_dir} exists and is not an empty "
                "directory; pass a new one (it appears only when complete)"
            )


@contextlib.contextmanager
def _output_directory(output_dir):
    """A staging directory that becomes `output_dir` only on success.

    `output_dir` must not exist or be empty. On any error the staging
    directory is removed and `output_dir` is left as it was.
    """
    output_dir = output_dir.rstrip("/")
    check_output_dir(output_dir)
    parent = os.path.dirname(output_dir)
    if parent:
        file_io.makedirs(parent)
    staging = file_io.temporary_name(output_dir)
    file_io.makedirs(staging)
    try:
        yield staging
    except BaseException:
        tf.io.gfile.rmtree(staging)
        raise
    if tf.io.gfile.exists(output_dir):
        tf.io.gfile.rmtree(output_dir)  # checked empty above
    if "://" not in output_dir:
        tf.io.gfile.rename(staging, output_dir)  # one atomic rename(2)
        return
    # Object stores (gs://, ...) have no directory to rename: move file by
    # file, as gs:// would itself, with conversion.txt last.
    names = sorted(tf.io.gfile.listdir(staging), key=lambda n: n == NOTES_FILE)
    for name in names:
        tf.io.gfile.rename(
            os.path.join(staging, name), os.path.join(output_dir, name)
        )
    tf.io.gfile.rmtree(staging)


def _report(output_dir, plan, notes, source_is_hf):
    if source_is_hf:
        converted = [(n.hf, n.tf1) for n in plan.names]
    else:
        converted = [(n.tf1, n.hf) for n in plan.names]
    for line in _skipped_lines(plan.skipped):
        logging.info("%s", line)
    return ConversionReport(
        output_dir.rstrip("/"), plan.architecture, converted, plan.skipped, notes
    )


def _skipped_lines(skipped):
    """One line per skipped tensor; one per reason when a reason has many.

    A fine-tuned BERT-Large holds some 800 optimizer slots: they are counted,
    not listed.
    """
    by_reason = {}
    for name, reason in skipped:
        by_reason.setdefault(reason, []).append(name)
    lines = []
    for reason, names in by_reason.items():
        if len(names) <= 3:
            lines += [f"Skipped {name}: {reason}" for name in names]
        else:
            listed = tf1_checkpoint.summarize(names, limit=3)
            lines.append(f"Skipped {len(names)} tensors, {reason}: {listed}")
    return lines


def _write_notes(directory, source, report):
    lines = [
        "Converted by bert_tf's convert_checkpoint.py.",
        f"Source: {source} ({report.architecture}).",
        f"Tensors converted: {len(report.converted)}.",
    ]
    lines += report.notes
    lines += _skipped_lines(report.skipped)
    with file_io.atomic_write(os.path.join(directory, NOTES_FILE)) as f:
        f.write("\n".join(lines) + "\n")
