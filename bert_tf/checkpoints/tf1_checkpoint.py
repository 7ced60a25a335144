"""Reads and writes Google's TF1 name-based BERT checkpoints.

`load_tf1_checkpoint` is strict: every model variable must be found with its
exact shape, and every checkpoint variable the model does not use is
reported. `init_from_checkpoint` is the original scripts' warm start: it
loads what matches and logs each variable as they did. `save_tf1_checkpoint`
writes the original's names (plus `X/adam_m`, `X/adam_v` and `global_step`),
so the original code and other TF1-checkpoint tools read the result
unchanged.

Not here: the Keras object-based checkpoint format, which the original code
cannot read.
"""

import dataclasses
import os
import re

import numpy as np
import tensorflow as tf
from absl import logging

from bert_tf import errors
from bert_tf import file_io
from bert_tf.checkpoints import tf1_variable_map

SLOT_NAMES = ("adam_m", "adam_v")
GLOBAL_STEP = "global_step"
# Names of the tensors bert_tf adds for exact resumption; no TF1 BERT
# variable starts with it, so the original's code never collides with them.
BERT_TF_STATE_PREFIX = "bert_tf/"
# Tensors with a vocab-sized first dimension: a mismatch there means
# bert_config.json belongs to another model.
_VOCAB_SIZED = ("bert/embeddings/word_embeddings", "cls/predictions/output_bias")
_CHECKPOINT_FILE_SUFFIXES = re.compile(r"\.(index|meta|data-\d{5}-of-\d{5})$")


def resolve_checkpoint_path(path, what="init_checkpoint"):
    """Turns what users pass for a checkpoint into its prefix.

    Accepts the prefix (`.../bert_model.ckpt`; Google's zips have no
    `checkpoint` state file), any of its files (`.index`, `.meta`,
    `.data-*`), or a directory (its `checkpoint` state file, else its only
    `*.index`).

    Raises:
      UserInputError: naming `what` and the path when nothing readable is
        found.
    """
    if not path:
        raise errors.UserInputError(f"--{what} is empty")
    prefix = _CHECKPOINT_FILE_SUFFIXES.sub("", path)
    # The prefix's .index first: on filesystems other than local disk
    # (ram://, object stores) isdir() is true for any prefix of a file name.
    if not file_io.is_file(prefix + ".index") and tf.io.gfile.isdir(path):
        prefix = tf.train.latest_checkpoint(path)
        if prefix is None:
            indexes = sorted(tf.io.gfile.glob(os.path.join(path, "*.index")))
            if len(indexes) != 1:
                found = "no checkpoint" if not indexes else "several checkpoints"
                raise errors.UserInputError(
                    f"--{what}={path!r}: {found} in this directory; pass the "
                    "checkpoint prefix, e.g. .../bert_model.ckpt"
                )
            prefix = indexes[0][: -len(".index")]
    if not file_io.is_file(prefix + ".index"):
        raise errors.UserInputError(
            f"--{what}={path!r}: checkpoint not found (no {prefix}.index)"
        )
    return prefix


def open_reader(prefix, what):
    """A checkpoint reader of `prefix`; one-line errors naming `--what`.

    Its `get_tensor` too fails in one line, naming the `.data` file, when
    that file is truncated or has overwritten bytes (TensorFlow notices
    only when it reads the tensor).
    """
    try:
        if file_io.is_file(prefix + ".index"):
            # tf.train.load_checkpoint asks isdir(prefix) first, which is true
            # on ram:// for any prefix of a file name; this reader has no
            # TF2 name.
            reader = tf.compat.v1.train.NewCheckpointReader(prefix)
        else:
            reader = tf.train.load_checkpoint(prefix)
    except (tf.errors.OpError, ValueError) as e:
        message = str(e).strip().splitlines()[0]
        if re.search(r"sstable|corrupt|checksum", message, re.IGNORECASE):
            # "Unable to read file (...). Perhaps the file is corrupt ...
            # (failed to seek to header entry): block checksum mismatch"
            message = (f"{prefix}.index is truncated or corrupt: "
                       f"{message.rsplit(': ', 1)[-1]}")
        raise errors.UserInputError(
            f"--{what}={prefix!r}: cannot read checkpoint ({message})"
        ) from None
    return _CheckedReader(reader, prefix, what)


class _CheckedReader:
    """A checkpoint reader whose `get_tensor` raises UserInputError.

    Everything else is the wrapped `CheckpointReader`'s.
    """

    def __init__(self, reader, prefix, what):
        self._reader = reader
        self._prefix = prefix
        self._what = what

    def __getattr__(self, name):
        return getattr(self._reader, name)

    def get_tensor(self, name):
        try:
            return self._reader.get_tensor(name)
        except (tf.errors.OpError, IndexError) as e:
            raise errors.UserInputError(
                _unreadable_tensor(self._prefix, self._what, name, e)
            ) from None


def _unreadable_tensor(prefix, what, name, error):
    """The message for a `get_tensor(name)` that failed with `error`."""
    data = prefix + ".data-00000-of-00001"
    if not file_io.is_file(data):
        data = prefix + ".data-*"
        if not tf.io.gfile.glob(data):
            return f"--{what}={prefix!r}: checkpoint file {data} is missing"
    message = str(error).strip().splitlines()[0]
    if isinstance(error, IndexError):  # "Read less bytes than requested"
        reason = f"it ends before the bytes of {name}"
    elif "Checksum does not match" in message:
        reason = f"the bytes of {name} fail their checksum"
    else:
        reason = f"reading {name} failed ({message})"
    return (f"--{what}={prefix!r}: checkpoint file {data} is truncated or "
            f"corrupt: {reason}")


def _check_shape(name, checkpoint_shape, variable, vocab_size=None):
    if tuple(checkpoint_shape) == tuple(variable.shape):
        return
    if name in _VOCAB_SIZED and tuple(checkpoint_shape[1:]) == tuple(
        variable.shape[1:]
    ):
        raise errors.UserInputError(
            f"vocab_size mismatch: bert_config.json says {variable.shape[0]} "
            f"but the checkpoint's {name} has {checkpoint_shape[0]} rows; "
            "bert_config.json and the checkpoint disagree"
        )
    raise errors.UserInputError(
        f"shape mismatch for {name}: checkpoint {list(checkpoint_shape)}, "
        f"model {list(variable.shape)}"
    )


def summarize(names, limit=8):
    """The first `limit` names, comma-separated, and how many more."""
    shown = ", ".join(names[:limit])
    more = f" (+{len(names) - limit} more)" if len(names) > limit else ""
    return shown + more


@dataclasses.dataclass
class LoadReport:
    """What a load did. `unused` lists checkpoint tensors left unread."""

    path: str
    assigned: list
    unused: list
    global_step: int = None


def is_bookkeeping(name):
    """Whether `name` is training state, not a weight.

    The original's optimizer state (`X/adam_m`, `X/adam_v`, `global_step`)
    and bert_tf's own resume state (`bert_tf/...`, see `training_state`).
    """
    return (
        name == GLOBAL_STEP
        or name.rsplit("/", 1)[-1] in SLOT_NAMES
        or name.startswith(BERT_TF_STATE_PREFIX)
    )


def load_tf1_checkpoint(model, path, optimizer=None):
    """Loads a TF1 BERT checkpoint into a bert_tf model, strictly.

    Args:
      model: a `BertModel` or a model built around one (`BertPretrainingModel`,
        classifier, SQuAD); every one of its BERT variables must be in the
        checkpoint.
      path: checkpoint prefix, one of its files, or a directory.
      optimizer: optional `AdamWeightDecay`-style optimizer; when given, its
        slots are restored from `X/adam_m`, `X/adam_v` (zeros where the
        checkpoint has none, as the original never created them) and its
        iteration count from `global_step`.

    Returns:
      a `LoadReport`.

    Raises:
      UserInputError: missing checkpoint, unreadable file, a model variable
        absent from the checkpoint (all are named), or a shape mismatch
        (naming the variable and both shapes; vocab size mismatches say that
        bert_config.json and the checkpoint disagree).
    """
    prefix = resolve_checkpoint_path(path)
    reader = open_reader(prefix, "init_checkpoint")
    shapes = reader.get_variable_to_shape_map()
    pairs = tf1_variable_map.variable_map(model)

    missing = [name for name, _ in pairs if name not in shapes]
    if missing:
        raise errors.UserInputError(
            f"checkpoint {prefix!r} lacks {len(missing)} variable(s) the model "
            f"needs: {summarize(missing)}"
        )
    for name, variable in pairs:
        _check_shape(name, shapes[name], variable)
    for name, variable in pairs:
        variable.assign(reader.get_tensor(name))

    used = {name for name, _ in pairs}
    global_step = None
    if reader.has_tensor(GLOBAL_STEP):
        global_step = int(reader.get_tensor(GLOBAL_STEP))
    if optimizer is not None:
        used |= _load_optimizer_state(
            optimizer, pairs, reader, shapes, global_step
        )

    unused = sorted(set(shapes) - used)
    _log_unused(prefix, unused)
    logging.info("Loaded %d variables from %s", len(pairs), prefix)
    return LoadReport(prefix, [n for n, _ in pairs], unused, global_step)


def _load_optimizer_state(optimizer, pairs, reader, shapes, global_step):
    trainable = [(n, v) for n, v in pairs if v.trainable]
    optimizer.build([v for _, v in trainable])
    used = set()
    for name, variable in trainable:
        slots = optimizer.slot_variables(variable)
        for slot_name in SLOT_NAMES:
            key = f"{name}/{slot_name}"
            if reader.has_tensor(key):
                slot = slots[slot_name]
                _check_shape(key, shapes[key], slot)
                slot.assign(reader.get_tensor(key))
                used.add(key)
    if global_step is not None:
        optimizer.iterations.assign(global_step)
        used.add(GLOBAL_STEP)
    return used


def _log_unused(prefix, unused):
    bookkeeping = [n for n in unused if is_bookkeeping(n)]
    other = [n for n in unused if not is_bookkeeping(n)]
    if bookkeeping:
        logging.info(
            "Not loaded from %s: %d training-state tensor(s) (optimizer slots, "
            "global_step, bert_tf/...)",
            prefix,
            len(bookkeeping),
        )
    if other:
        logging.warning(
            "Not used by this model, in %s: %s", prefix, ", ".join(other)
        )


def init_from_checkpoint(model, path):
    """Warm-starts the variables whose names are in the checkpoint.

    The original scripts' `init_checkpoint` behaviour: matching variables
    are loaded, the others keep their initial values, and every trainable
    variable is logged as `name = ..., shape = ...`, with
    `, *INIT_FROM_CKPT*` when it was loaded. Shapes are checked.

    Returns:
      a `LoadReport`.
    """
    prefix = resolve_checkpoint_path(path)
    reader = open_reader(prefix, "init_checkpoint")
    shapes = reader.get_variable_to_shape_map()
    pairs = tf1_variable_map.variable_map(model)
    for name, variable in pairs:
        if name in shapes:
            _check_shape(name, shapes[name], variable)
    assigned = []
    logging.info("**** Trainable Variables ****")
    for name, variable in pairs:
        init_string = ""
        if name in shapes:
            variable.assign(reader.get_tensor(name))
            assigned.append(name)
            init_string = ", *INIT_FROM_CKPT*"
        if variable.trainable:
            logging.info("  name = %s, shape = %s%s", name, variable.shape, init_string)
    unused = sorted(set(shapes) - set(assigned))
    _log_unused(prefix, unused)
    return LoadReport(prefix, assigned, unused, None)


def checkpoint_tensors(model, optimizer=None, global_step=None):
    """{tf1_name: numpy value} of everything a checkpoint of `model` holds."""
    tensors = {}
    for name, variable in tf1_variable_map.variable_map(model):
        tensors[name] = np.asarray(variable.numpy())
        if optimizer is not None and variable.trainable:
            slots = {
                k: np.asarray(v.numpy())
                for k, v in optimizer.slot_variables(variable).items()
            }
            # The original created slots only for variables with a gradient
            # (e.g. no pooler slots for SQuAD); keep restored ones too.
            if optimizer.received_gradient(variable) or any(
                s.any() for s in slots.values()
            ):
                for slot_name in SLOT_NAMES:
                    tensors[f"{name}/{slot_name}"] = slots[slot_name]
    if global_step is None and optimizer is not None:
        global_step = int(optimizer.iterations.numpy())
    if global_step is not None:
        tensors[GLOBAL_STEP] = np.asarray(global_step, dtype=np.int64)
    return tensors


def save_tf1_checkpoint(
    model, prefix, optimizer=None, global_step=None, update_state=True,
    extra_tensors=None,
):
    """Writes a TF1 name-based checkpoint of `model` at `prefix`.

    Writes `prefix.index` and `prefix.data-00000-of-00001` under temporary
    names first, then renames them, and records `prefix` in the directory's
    `checkpoint` state file (relative path) unless `update_state` is False.

    Args:
      model: a bert_tf model (see `load_tf1_checkpoint`).
      prefix: e.g. `output_dir/model.ckpt-1000`.
      optimizer: optional; adds `X/adam_m`, `X/adam_v` for each trainable
        variable that received a gradient or has non-zero slots, and
        `global_step` from its iterations.
      global_step: optional int written as the int64 `global_step`.
      extra_tensors: optional {name: numpy array} written beside them
        (names under `BERT_TF_STATE_PREFIX`).

    Returns:
      `prefix`.
    """
    tensors = checkpoint_tensors(model, optimizer, global_step)
    tensors.update(extra_tensors or {})
    write_tensors(prefix, tensors)
    if update_state:
        directory = os.path.dirname(prefix) or "."
        state = read_checkpoint_state(directory)
        paths = [p for p in state if p != os.path.basename(prefix)]
        write_checkpoint_state(directory, paths + [os.path.basename(prefix)])
    return prefix


def write_tensors(prefix, tensors):
    """Writes {name: numpy array} as a TF V2 checkpoint, atomically."""
    directory = os.path.dirname(prefix) or "."
    file_io.makedirs(directory)
    temporary = file_io.temporary_name(prefix)
    names = sorted(tensors)
    try:
        tf.raw_ops.SaveV2(
            prefix=temporary,
            tensor_names=names,
            shape_and_slices=[""] * len(names),
            tensors=[tf.constant(tensors[n]) for n in names],
        )
        data_suffix = ".data-00000-of-00001"
        file_io.commit(temporary + data_suffix, prefix + data_suffix)
        file_io.commit(temporary + ".index", prefix + ".index")
    finally:
        for suffix in (".index", ".data-00000-of-00001"):
            file_io.discard(temporary + suffix)


def read_checkpoint_state(directory):
    """The `all_model_checkpoint_paths` of a `checkpoint` file, oldest first."""
    state = tf.train.get_checkpoint_state(directory)
    if state is None:
        return []
    return [os.path.basename(p) for p in state.all_model_checkpoint_paths]


def write_checkpoint_state(directory, basenames):
    """Writes the `checkpoint` state file the Estimator would, relative paths.

    The last entry is the latest checkpoint.
    """
    lines = [f'model_checkpoint_path: "{basenames[-1]}"']
    lines += [f'all_model_checkpoint_paths: "{b}"' for b in basenames]
    with file_io.atomic_write(os.path.join(directory, "checkpoint")) as f:
        f.write("\n".join(lines) + "\n")


def keep_latest_checkpoints(directory, max_to_keep):
    """Deletes all but the newest `max_to_keep` checkpoints of the state file.

    As the Estimator's saver: the files of each older `model.ckpt-<step>`
    go, and the `checkpoint` state file then lists the ones kept.
    """
    kept = read_checkpoint_state(directory)
    stale = kept[:-max_to_keep]
    for basename in stale:
        for path in tf.io.gfile.glob(os.path.join(directory, basename) + ".*"):
            tf.io.gfile.remove(path)
    if stale:
        write_checkpoint_state(directory, kept[-max_to_keep:])
