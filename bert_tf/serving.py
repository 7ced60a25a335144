"""What every exported SavedModel shares: layout, variables, export_info.

The three exports (the raw-text classifier, raw-text SQuAD, and the TF Hub
preprocessor and encoder) are written by `write_saved_model`, which:

* lays them out as TF Serving's model server watches a model: `BASE/<v>/`
  with `v` an integer (the global step of the exported checkpoint, else the
  next free number), written under a temporary dot-name in `BASE` (which
  the server ignores, not being an integer) and renamed when complete;
* makes every variable restorable by the TF1 session loader
  (`tf.compat.v1.saved_model.loader.load`, the path of TF Serving and
  `saved_model_cli run`), and stores each weight once (see
  `track_variables`);
* adds `assets/export_info.json`: what the model computes in (`precision`),
  its settings and the checkpoint it came from.

Exports compute in float32 (the exact mode), so a served model reproduces
the runners' `--precision=fp32` outputs on any machine, and its functions
are traced inside `fused.plain_tf_ops()`: no XLA-compiled function (TF
Serving runs those only with --xla_cpu_compilation_enabled) and no oneDNN
op (x86 builds only).

Not here: the signatures themselves; each export module builds its own.
"""

import json
import os
import re
import tempfile

import tensorflow as tf
from absl import logging

from bert_tf import checkpoints
from bert_tf import errors
from bert_tf import file_io
from bert_tf.modeling import fused

EXPORT_INFO = "export_info.json"
# Exports compute in float32: the weights the checkpoints hold, and the
# mode the golden tolerances apply to.
PRECISION = "fp32"


class ExportRoot(tf.Module):
    """The object an export saves: attributes are set on it by the export.

    `variables` and `trainable_variables` become plain attributes (lists
    set by `track_variables`), as the Reusable SavedModel API has them,
    instead of tf.Module's properties that collect them by walking the
    object. (A `tf.train.Checkpoint` would do too, but adds its own
    `save_counter` variable to every export.)
    """

    variables = ()
    trainable_variables = ()


def track_variables(root, functions):
    """Puts the variables that `functions` read on `root`, once each.

    A Keras 3 variable (`keras.Variable`) wraps a `tf.Variable`, and a
    traced function reads the inner one. When a Keras model is tracked by
    the SavedModel, its variables are saved as the Keras wrappers, and on
    load the TF1 session loader restores the wrapper's copy, not the
    variable the graph reads: "Could not find variable ..." in TF Serving
    (keras-team/keras#19274, #20095). Tracking the inner variables next to
    the model fixes that but stores every weight twice (keras#23553). So
    the model is never tracked here (the functions close over it) and
    `root.variables` holds exactly the inner variables the functions read,
    which the SavedModel then saves and restores by their own handles.

    Args:
      root: the `ExportRoot` to save.
      functions: concrete functions of the export.

    Sets `root.variables` and `root.trainable_variables` (the Reusable
    SavedModel API's attributes) and returns the variables.
    """
    variables = {}
    for function in functions:
        for variable in function.variables:
            variables.setdefault(id(variable), variable)
    root.variables = list(variables.values())
    root.trainable_variables = [v for v in root.variables if v.trainable]
    return root.variables


def checkpoint_step(checkpoint_path):
    """The `global_step` stored in a checkpoint, or None."""
    reader = checkpoints.open_reader(checkpoint_path, "init_checkpoint")
    if not reader.has_tensor("global_step"):
        return None
    return int(reader.get_tensor("global_step"))


def _existing_versions(export_base):
    if not tf.io.gfile.isdir(export_base):
        return []
    return [
        int(name.rstrip("/"))
        for name in tf.io.gfile.listdir(export_base)
        if re.fullmatch(r"\d+/?", name)
    ]


def version_path(export_base, version=None):
    """`export_base/<version>`, checked to be free.

    Args:
      export_base: the --export_dir; it may not exist yet.
      version: an integer >= 1, or None for one more than the largest
        version present (1 in a new directory).

    Raises:
      UserInputError: export_base is a file, or the version directory
        exists and is not empty (an export is never overwritten: TF Serving
        may be serving it).
    """
    if tf.io.gfile.exists(export_base) and not tf.io.gfile.isdir(export_base):
        raise errors.UserInputError(
            f"--export_dir={export_base!r} is a file, expected a directory"
        )
    file_io.require_writable(export_base, "--export_dir", directory=True)
    if version is None:
        version = max(_existing_versions(export_base), default=0) + 1
    path = os.path.join(export_base, str(version))
    if tf.io.gfile.isdir(path) and tf.io.gfile.listdir(path):
        raise errors.UserInputError(
            f"--export_dir={export_base!r}: version directory {path!r} "
            "already exists and is not empty (this checkpoint was exported "
            "already?); remove it or export elsewhere"
        )
    return path


def export_version(checkpoint_path):
    """The version to export a checkpoint as: its global step, if any.

    Step 0 (an untrained head) and checkpoints without a step get None,
    the next free version.
    """
    step = checkpoint_step(checkpoint_path) if checkpoint_path else None
    return step if step else None


def fine_tuned_source(settings):
    """The checkpoint a runner's export reads, or None.

    `settings.output_dir`'s latest checkpoint, else the warm start
    (`settings` is a `runner_settings.RunnerSettings`).
    """
    source = (
        tf.train.latest_checkpoint(settings.output_dir)
        or settings.init_checkpoint
    )
    return source and checkpoints.resolve_checkpoint_path(source)


def check_export_dir(export_dir, do_train, settings, head_variable, head, script):
    """Before any work of a fine-tuning runner: can it export where asked?

    `export_dir` (if set) must be writable. A run that does not train
    exports an existing checkpoint, which must hold the fine-tuned head (its
    `head_variable`, e.g. "output_weights"), and whose version must be free.

    Args:
      export_dir: the --export_dir, or None.
      do_train: the --do_train.
      settings: the runner's `RunnerSettings`.
      head_variable: a TF1 variable name only a fine-tuned checkpoint has.
      head: what the head is, for the message, e.g. "classifier".
      script: the script that fine-tunes it, e.g. "run_classifier.py".

    Raises:
      UserInputError: naming --export_dir and what is missing.
    """
    if not export_dir:
        return
    file_io.require_writable(export_dir, "--export_dir", directory=True)
    if do_train:
        return
    source = fine_tuned_source(settings)
    if not source:
        raise errors.UserInputError(
            f"--export_dir={export_dir!r}: nothing to export, "
            f"--output_dir={settings.output_dir!r} has no checkpoint, "
            "there is no --init_checkpoint and --do_train is off"
        )
    reader = checkpoints.open_reader(source, "init_checkpoint")
    if not reader.has_tensor(head_variable):
        raise errors.UserInputError(
            f"--export_dir={export_dir!r}: {source!r} has no {head} (no "
            f"{head_variable}): it is not fine-tuned; export after "
            f"--do_train, or from a {script} checkpoint"
        )
    version_path(export_dir, export_version(source))


def _remove_if_empty(directory):
    if tf.io.gfile.isdir(directory) and not tf.io.gfile.listdir(directory):
        tf.io.gfile.rmtree(directory)


def write_saved_model(export_base, version, build, info):
    """Writes `export_base/<version>/` and returns its path.

    Args:
      export_base: the base directory TF Serving watches (gs:// works).
      version: int or None (see `version_path`).
      build: a callable returning (root, signatures); it is called inside
        `fused.plain_tf_ops()`, so it traces its functions there. `root`
        must already hold the variables the functions read
        (`track_variables`) and every other resource they use.
      info: dict of JSON values for assets/export_info.json; `precision`
        is added.

    Returns:
      the final directory. Nothing is left under `export_base` when
      anything fails.
    """
    path = version_path(export_base, version)
    temporary = file_io.temporary_name(path)
    info = dict(info, precision=PRECISION)
    new_base = not tf.io.gfile.exists(export_base)
    try:
        with tempfile.TemporaryDirectory() as local:
            info_file = os.path.join(local, EXPORT_INFO)
            with open(info_file, "w", encoding="utf-8") as f:
                json.dump(info, f, indent=2, sort_keys=True)
            with fused.plain_tf_ops():
                root, signatures = build()
                root.export_info = tf.saved_model.Asset(info_file)
                tf.saved_model.save(root, temporary, signatures=signatures)
        if tf.io.gfile.isdir(path):  # empty (version_path checked)
            tf.io.gfile.rmtree(path)
        tf.io.gfile.rename(temporary, path)
    finally:
        if tf.io.gfile.exists(temporary):
            tf.io.gfile.rmtree(temporary)
        if new_base and not tf.io.gfile.exists(path):
            _remove_if_empty(export_base)
    logging.info("Exported %s to %s", info.get("kind", "a SavedModel"), path)
    return path
