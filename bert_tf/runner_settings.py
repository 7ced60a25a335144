"""What run_pretraining, run_classifier and run_squad share, and their setup.

`RunnerSettings` holds the settings every runner has: the model directory,
the warm start, the checkpoint intervals, the TPU fields of the original's
TPUEstimator, and the bert_tf additions (precision, XLA, optimizer, gradient
accumulation, seed). Each script's params dataclass contains one, named
`runner`, and the top-level scripts fill it from flags of the same names.
`params_from_values` builds any such params from one flat name -> value
mapping, and `build_estimator` turns the settings and a `Task` into an
`Estimator`, in the one order that works for every strategy.

Example:

    params = params_from_values(ClassifierParams, {
        "data_dir": "glue/MRPC", "task_name": "mrpc", ...,
        "output_dir": "/tmp/mrpc", "precision": "fp32"})
    params.runner.check()
    runner = build_estimator(params.runner, task)
"""

import contextlib
import dataclasses
import os
import socket
import time
import typing
from typing import Optional

import keras
import tensorflow as tf
from absl import logging

from bert_tf import distribution
from bert_tf import errors
from bert_tf import estimator
from bert_tf import file_io
from bert_tf import optimization
from bert_tf.modeling import fused


@dataclasses.dataclass(kw_only=True)
class RunnerSettings:
    """The runners' shared flags (original names and defaults) and additions."""

    output_dir: str
    init_checkpoint: Optional[str] = None
    save_checkpoints_steps: int = 1000
    iterations_per_loop: int = 1000
    use_tpu: bool = False
    tpu_name: Optional[str] = None
    tpu_zone: Optional[str] = None
    gcp_project: Optional[str] = None
    master: Optional[str] = None
    num_tpu_cores: int = 8
    tpu_job_name: Optional[str] = None  # the bert-tensorflow 1.0.4 wheel's
    # Additions of bert_tf (not in the original).
    precision: str = "auto"
    use_xla: bool = False
    optimizer: str = "adamw"
    gradient_accumulation_steps: int = 1
    random_seed: Optional[int] = None

    def check(self):
        """Raises UserInputError for a value no runner could start with."""
        errors.require_set(self, ("output_dir",))
        file_io.require_writable(self.output_dir, "--output_dir", directory=True)
        errors.require_positive(self, (
            "save_checkpoints_steps", "iterations_per_loop",
            "gradient_accumulation_steps",
        ))
        optimization.check_optimizer_type(self.optimizer, "--optimizer")
        distribution.resolve_precision(self.precision)

    def optimizer_fields(self):
        """The `Task` fields that come from these settings."""
        return dict(
            optimizer_type=self.optimizer,
            gradient_accumulation_steps=self.gradient_accumulation_steps,
        )


def fine_tuning_steps(num_examples, params, examples_described):
    """(num_train_steps, num_warmup_steps), as the fine-tuning scripts count.

    run_classifier.py and run_squad.py train for
    `int(num_examples / train_batch_size * num_train_epochs)` steps, the
    first `int(steps * warmup_proportion)` of them warming up. MRPC's 3668
    examples, batch 32, 3 epochs and 0.1 give (343, 34). A step is an
    optimizer update: with gradient accumulation over k batches it consumes
    k batches, so the epochs stay epochs.

    Args:
      num_examples: int, the number of training examples (SQuAD counts
        questions, not windows).
      params: the script's params: `train_batch_size`, `num_train_epochs`
        and `warmup_proportion` are read.
      examples_described: what the examples are, for the error, e.g.
        "--train_file='train.json' has 4 usable questions".

    Raises:
      UserInputError: warmup_proportion outside [0, 1], or no step at all.
    """
    if not 0.0 <= params.warmup_proportion <= 1.0:
        raise errors.UserInputError(
            f"--warmup_proportion={params.warmup_proportion}: expected a "
            "value between 0 and 1"
        )
    # An update consumes k batches with gradient accumulation over k.
    batches_per_update = (
        params.train_batch_size * params.runner.gradient_accumulation_steps
    )
    num_train_steps = int(
        num_examples / batches_per_update * params.num_train_epochs
    )
    if num_train_steps < 1:
        accumulation = params.runner.gradient_accumulation_steps
        raise errors.UserInputError(
            f"{examples_described}; with --train_batch_size="
            f"{params.train_batch_size}"
            + (f", --gradient_accumulation_steps={accumulation}"
               if accumulation > 1 else "")
            + f" and --num_train_epochs={params.num_train_epochs} that is "
            f"{num_train_steps} training steps, expected at least 1"
        )
    return num_train_steps, int(num_train_steps * params.warmup_proportion)


def build_estimator(settings, task):
    """Strategy, seed, precision, then the `Estimator` for `task`.

    The strategy comes first: a multi-worker strategy must be created before
    the program runs any TensorFlow op; the dtype policy must be set before
    the Estimator builds a model.
    """
    strategy = distribution.get_strategy(
        use_tpu=settings.use_tpu,
        tpu_name=settings.tpu_name,
        tpu_zone=settings.tpu_zone,
        gcp_project=settings.gcp_project,
        master=settings.master,
        tpu_job_name=settings.tpu_job_name,
    )
    if settings.use_xla and not settings.use_tpu and not fused.xla_runs_on_host():
        raise errors.UserInputError(
            "--use_xla: this TensorFlow build cannot compile for the CPU "
            "(tensorflow-tpu has no XLA CPU backend); run without --use_xla"
        )
    if settings.random_seed is not None:
        keras.utils.set_random_seed(settings.random_seed)
    distribution.set_precision(settings.precision)
    # Every worker writes its input records there, not only the chief.
    file_io.makedirs(settings.output_dir)
    run_config = estimator.RunConfig(
        model_dir=settings.output_dir,
        save_checkpoints_steps=settings.save_checkpoints_steps,
        iterations_per_loop=settings.iterations_per_loop,
        jit_compile=settings.use_xla,
    )
    return estimator.Estimator(
        task, run_config, strategy=strategy,
        init_checkpoint=settings.init_checkpoint,
    )


def _nested_params(params_class):
    """{field name: dataclass type} for the fields that are params too."""
    hints = typing.get_type_hints(params_class)
    return {
        field.name: hints[field.name]
        for field in dataclasses.fields(params_class)
        if dataclasses.is_dataclass(hints[field.name])
    }


def field_names(params_class):
    """The names `params_from_values` reads, nested settings included."""
    names = []
    nested = _nested_params(params_class)
    for field in dataclasses.fields(params_class):
        if field.name in nested:
            names += field_names(nested[field.name])
        else:
            names.append(field.name)
    return names


def params_from_values(params_class, values):
    """A `params_class` whose fields, at any depth, come from `values`.

    Fields are matched by name, so a script's flags fill its params and
    their `runner` settings in one call; names missing from `values` keep
    their defaults.

    Raises:
      TypeError: `values` has a name that no field takes.
    """
    unknown = set(values) - set(field_names(params_class))
    if unknown:
        raise TypeError(f"{params_class.__name__} has no field {sorted(unknown)}")
    return _fill(params_class, values)


def _fill(params_class, values):
    nested = _nested_params(params_class)
    kwargs = {}
    for field in dataclasses.fields(params_class):
        if field.name in nested:
            kwargs[field.name] = _fill(nested[field.name], values)
        elif field.name in values:
            kwargs[field.name] = values[field.name]
    return params_class(**kwargs)


LOCK_NAME = ".bert_tf.lock"


@contextlib.contextmanager
def running(settings, task):
    """The `Estimator` for `task`, with `output_dir` held by this run.

    Only the chief holds the directory: it writes a lock file naming this
    host and process, refuses a directory that another live run holds (two
    runs would overwrite each other's checkpoints and results), takes over
    the lock of a run that died, and removes the temporary files that a
    killed run left. The lock goes when the block ends, however it ends.
    """
    runner = build_estimator(settings, task)
    if not runner.is_chief:
        yield runner
        return
    lock = _acquire_lock(settings.output_dir)
    try:
        file_io.remove_stale_temporaries_in(settings.output_dir)
        yield runner
    finally:
        tf.io.gfile.remove(lock)


def _lock_owner():
    return {"host": socket.gethostname(), "pid": str(os.getpid())}


def _read_lock(path):
    with tf.io.gfile.GFile(path) as f:
        fields = dict(
            line.split("=", 1) for line in f.read().splitlines() if "=" in line
        )
    return fields.get("host", "?"), fields.get("pid", "?"), fields


def _process_is_alive(pid):
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:  # alive, under another user
        return True
    return True


def _acquire_lock(output_dir):
    """Writes `output_dir/.bert_tf.lock`; raises if a live run holds it."""
    path = os.path.join(output_dir, LOCK_NAME)
    if tf.io.gfile.exists(path):
        host, pid, fields = _read_lock(path)
        if host != socket.gethostname() or _process_is_alive(pid):
            raise errors.UserInputError(
                f"--output_dir={output_dir!r} is in use by the run of process "
                f"{pid} on {host} (since {fields.get('started', '?')}); wait "
                f"for it to end, or delete {path} if that run is gone"
            )
        logging.warning(
            "Taking over %s from process %s on %s, which has ended", path, pid,
            host,
        )
    owner = _lock_owner()
    owner["started"] = time.strftime("%Y-%m-%d %H:%M:%S")
    with file_io.atomic_write(path) as f:
        f.write("".join(f"{k}={v}\n" for k, v in owner.items()))
    return path
