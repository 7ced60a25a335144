"""A TPUEstimator-style runner on Keras 3 and tf.distribute.

What users of the original scripts rely on, kept:

* `model_dir` holds `model.ckpt-<step>` every `save_checkpoints_steps` and at
  the end of training, with the `checkpoint` state file and the 5 most recent
  kept. Checkpoints carry the original TF1 names plus `X/adam_m`, `X/adam_v`
  and `global_step`, so the original code can read them.
* If `model_dir` has a checkpoint, training resumes from it (weights,
  optimizer slots, step) and `init_checkpoint` is ignored; otherwise
  `init_checkpoint` warm-starts the matching variables. Evaluation and
  prediction read the latest checkpoint of `model_dir`, else
  `init_checkpoint`.
* Up to `iterations_per_loop` steps run inside one call of a compiled
  function; on CPUs and GPUs a loop also ends where a progress line is due
  (every 100 steps or 30 s, see `progress`).
* Event files for TensorBoard: `loss`, `learning_rate`, `global_step/sec`
  and `examples/sec` in `model_dir`, evaluation metrics in `model_dir/eval`.
* Batch sizes are global; the strategy splits them over replicas.

A global step is one optimizer update. With gradient accumulation over k
batches, an update consumes k batches, `max_steps` counts updates and the
learning-rate schedule spans them, as in the large BERT training codes.

Resuming is exact: a run restarted from its latest checkpoint (after a kill
at any point) continues as the uninterrupted run would have, bit for bit,
given a seeded, deterministic `input_fn`. Checkpoints are written at update
boundaries only, the input resumes where the data left off, and the dropout
generators' states are saved beside the original's tensors
(`checkpoints.training_state`).

Work is described by a `Task` (model, loss, metrics, predictions); one
runner serves run_pretraining, run_classifier and run_squad.

Not kept: TF1 `graph.pbtxt` and `.meta` graphs.
"""

import contextlib
import dataclasses
import functools
import math
import os
import time
from typing import Optional

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from bert_tf import checkpoints
from bert_tf import distribution
from bert_tf import errors
from bert_tf import file_io
from bert_tf import optimization
from bert_tf import progress
from bert_tf import records
from bert_tf.checkpoints import training_state


@dataclasses.dataclass(kw_only=True)
class Task:
    """What a runner trains, evaluates and predicts. Subclass per script.

    Losses follow one rule so that several replicas train exactly like one
    device on the global batch: `loss` returns this replica's share, and the
    sum of the shares over replicas is the loss of the global batch (use
    `distribution.global_sum` for denominators).

    Subclasses are dataclasses too; the fields here are the training
    settings that `create_optimizer` reads (unused by evaluation and
    prediction).
    """

    learning_rate: float = 5e-5
    num_train_steps: Optional[int] = None
    num_warmup_steps: Optional[int] = None
    optimizer_type: str = "adamw"
    gradient_accumulation_steps: int = 1

    def build_model(self):
        """Returns a new bert_tf model (a `bert` encoder plus heads)."""
        raise NotImplementedError

    def create_optimizer(self, model):
        """The original's optimizer for `model`, decay exclusions by TF1 name.

        Under mixed float16 the loss is scaled dynamically (see
        `optimization.loss_scale`).
        """
        policy = keras.mixed_precision.global_policy().name
        return optimization.create_optimizer(
            self.learning_rate,
            self.num_train_steps,
            self.num_warmup_steps,
            optimizer_type=self.optimizer_type,
            variable_names=checkpoints.keras_path_to_tf1_name(model),
            gradient_accumulation_steps=self.gradient_accumulation_steps,
            dynamic_loss_scale=policy == "mixed_float16",
        )

    def loss(self, outputs, features):
        """This replica's share of the global-batch scalar loss."""
        raise NotImplementedError

    def metrics(self, outputs, features):
        """{name: (numerator, denominator)} sums for this replica's batch."""
        return {}

    def predictions(self, outputs, features):
        """{name: per-example tensor} written by predict()."""
        return outputs


@dataclasses.dataclass
class RunConfig:
    """The RunConfig / TPUConfig settings the original scripts passed."""

    model_dir: str
    save_checkpoints_steps: int = 1000
    keep_checkpoint_max: int = 5
    iterations_per_loop: int = 1000
    jit_compile: bool = False  # XLA for the training and eval steps


@contextlib.contextmanager
def _read_errors_as_user_errors():
    """A bad input record (corrupt, truncated, ids outside the vocab) as one
    line naming the file and record (`records.describe_read_error`)."""
    try:
        yield
    except tf.errors.OpError as e:
        described = records.describe_read_error(e)
        if described is None:
            raise
        raise described from None


def _traced_once(make):
    """Caches what `make(self)` returns, per Estimator, by `make`'s name.

    Every new `tf.function` traces (and, with XLA, compiles) again on its
    first call, so each step function is made once and then reused.
    """

    @functools.wraps(make)
    def cached(self):
        if make.__name__ not in self._functions:
            self._functions[make.__name__] = make(self)
        return self._functions[make.__name__]

    return cached


class Estimator:
    """Trains, evaluates and predicts a `Task` with Estimator semantics.

    Args:
      task: a `Task`.
      run_config: a `RunConfig`.
      strategy: a `tf.distribute.Strategy`; default: the current one.
      init_checkpoint: optional TF1 checkpoint to warm-start from when
        `model_dir` has none.
    """

    def __init__(self, task, run_config, strategy=None, init_checkpoint=None):
        self.task = task
        self.config = run_config
        self.strategy = strategy or tf.distribute.get_strategy()
        self.init_checkpoint = init_checkpoint
        self.model = None  # the training model
        self.optimizer = None
        self.inference_model = None  # evaluate() and predict()
        self._functions = {}
        if self.is_chief:
            file_io.makedirs(run_config.model_dir)

    @property
    def is_chief(self):
        """Whether this process writes checkpoints and result files."""
        return distribution.is_chief(self.strategy)

    # --- Model state ------------------------------------------------------

    def _ensure_training_model(self):
        with self.strategy.scope():
            if self.model is None:
                self.model = self.task.build_model()
            if self.optimizer is None:
                self.optimizer = self.task.create_optimizer(self.model)
                self.optimizer.build(self.model.trainable_variables)

    def _ensure_inference_model(self):
        # Evaluation and prediction read checkpoints, as the Estimator did,
        # into a model of their own (bfloat16 weights under mixed bfloat16).
        if self.inference_model is None:
            policy = distribution.inference_dtype_policy()
            with self.strategy.scope(), distribution.dtype_policy(policy):
                self.inference_model = self.task.build_model()

    def latest_checkpoint(self):
        return tf.train.latest_checkpoint(self.config.model_dir)

    def _restore(self, model, optimizer=None):
        """Latest checkpoint of model_dir, else init_checkpoint; the step.

        With `optimizer` (training), the resume state is restored too.
        """
        latest = self.latest_checkpoint()
        with self.strategy.scope():
            if latest:
                report = checkpoints.load_tf1_checkpoint(
                    model, latest, optimizer=optimizer
                )
                if optimizer is not None:
                    training_state.restore(model, latest, optimizer)
                logging.info("Restored %s", latest)
                return report.global_step or 0
            if self.init_checkpoint:
                checkpoints.init_from_checkpoint(model, self.init_checkpoint)
            else:
                logging.info(
                    "No checkpoint in %s and no init_checkpoint: starting from "
                    "random initialization",
                    self.config.model_dir,
                )
        return 0

    def save(self, step):
        """Writes `model.ckpt-<step>` (chief only) and prunes old ones."""
        if not self.is_chief:
            return None
        prefix = os.path.join(self.config.model_dir, f"model.ckpt-{step}")
        checkpoints.save_tf1_checkpoint(
            self.model, prefix, optimizer=self.optimizer, global_step=step,
            extra_tensors=training_state.tensors(self.model, self.optimizer),
        )
        checkpoints.keep_latest_checkpoints(
            self.config.model_dir, self.config.keep_checkpoint_max
        )
        logging.info("Saving checkpoints for %d into %s.", step, prefix)
        return prefix

    # --- Compiled functions -----------------------------------------------

    def _distribute(self, dataset):
        options = tf.data.Options()
        # Every worker reads the same batches and keeps its slice of each,
        # so N workers see exactly the global batches one worker would.
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA
        )
        return self.strategy.experimental_distribute_dataset(
            dataset.with_options(options)
        )

    @_traced_once
    def _train_loop_function(self):
        model, optimizer, task = self.model, self.optimizer, self.task

        def step_fn(features):
            with tf.GradientTape() as tape:
                outputs = model(features, training=True)
                loss = task.loss(outputs, features)
                # Times the dynamic loss scale under float16; apply()
                # divides the gradients by it again.
                scaled_loss = optimizer.scale_loss(loss)
            variables = model.trainable_variables
            grads = tape.gradient(scaled_loss, variables)
            optimizer.apply(grads, variables)
            return loss

        if self.config.jit_compile:
            step_fn = tf.function(step_fn, jit_compile=True, autograph=False)

        # Without AutoGraph: the model, loss and optimizer need no Python
        # control flow turned into graph ops, and converting them (every
        # Keras call, every optimizer update) took about half the tracing
        # time of the first step.
        @tf.function(autograph=False)
        def train_loop(iterator, num_steps):
            def body(i, total):
                loss = self.strategy.run(step_fn, args=(next(iterator),))
                total += self.strategy.reduce(
                    tf.distribute.ReduceOp.SUM, loss, axis=None
                )
                return i + 1, total

            _, total = tf.while_loop(
                lambda i, _: i < num_steps, body,
                (tf.constant(0, num_steps.dtype), tf.constant(0.0)),
            )
            return total / tf.cast(num_steps, tf.float32)

        return train_loop

    @_traced_once
    def _eval_function(self):
        model, task = self.inference_model, self.task

        def step_fn(features):
            outputs = model(features, training=False)
            sums = {
                name: tf.stack([tf.cast(n, tf.float32), tf.cast(d, tf.float32)])
                for name, (n, d) in task.metrics(outputs, features).items()
            }
            return task.loss(outputs, features), sums

        if self.config.jit_compile:
            step_fn = tf.function(step_fn, jit_compile=True, autograph=False)

        @tf.function(autograph=False)
        def eval_step(iterator):
            loss, sums = self.strategy.run(step_fn, args=(next(iterator),))
            reduce = lambda x: self.strategy.reduce(
                tf.distribute.ReduceOp.SUM, x, axis=None
            )
            return reduce(loss), tf.nest.map_structure(reduce, sums)

        return eval_step

    @_traced_once
    def _predict_function(self):
        model, task = self.inference_model, self.task

        @tf.function(autograph=False)
        def predict_step(features):
            outputs = model(features, training=False)
            return task.predictions(outputs, features)

        return predict_step

    # --- Public API -------------------------------------------------------

    def train(self, input_fn, max_steps, batch_size=None):
        """Trains until the global step reaches `max_steps`.

        Args:
          input_fn: callable returning a `tf.data.Dataset` of global
            batches (repeating; `drop_remainder=True`).
          max_steps: the final global step (optimizer updates), as
            `estimator.train(max_steps=)`.
          batch_size: global batch size, for the examples/s log.

        Returns:
          the global step reached.

        Raises:
          errors.Interrupted: on Ctrl-C, naming the checkpoint a rerun
            resumes from.
        """
        self._ensure_training_model()
        step = self._restore(self.model, self.optimizer)
        if step >= max_steps:
            logging.info("Skipping training since max_steps has already saved.")
            return step
        accumulation = self.task.gradient_accumulation_steps
        # Resume where the data left off, so a restarted run sees the same
        # batches as an uninterrupted one (for a deterministic input_fn).
        dataset = input_fn()
        if step:
            dataset = dataset.skip(step * accumulation)
        monitor = progress.TrainingProgress(
            step, max_steps,
            examples_per_step=batch_size and batch_size * accumulation,
            summary_dir=self.config.model_dir if self.is_chief else None,
            fixed_loop_size=isinstance(self.strategy, tf.distribute.TPUStrategy),
        )
        try:
            with _read_errors_as_user_errors():
                iterator = iter(self._distribute(dataset))
                return self._train_loops(iterator, step, max_steps, monitor)
        except KeyboardInterrupt:
            latest = self.latest_checkpoint()
            raise errors.Interrupted(
                "a rerun with the same flags resumes from "
                + (latest or "the start (no checkpoint was saved yet)")
            ) from None
        finally:
            monitor.close()

    def _train_loops(self, iterator, step, max_steps, monitor):
        """Runs compiled loops from `step` to `max_steps`, saving on the way."""
        train_loop = self._train_loop_function()
        accumulation = self.task.gradient_accumulation_steps
        cfg = self.config
        while step < max_steps:
            next_save = (
                step // cfg.save_checkpoints_steps + 1
            ) * cfg.save_checkpoints_steps
            num_steps = monitor.loop_size(step, cfg.iterations_per_loop, next_save)
            loop_start = time.time()
            # Whole updates only, so every checkpoint is at an update
            # boundary and no half-accumulated gradient is ever lost.
            mean_loss = float(
                train_loop(iterator, tf.constant(num_steps * accumulation))
            )
            step += num_steps
            if not math.isfinite(mean_loss):
                raise FloatingPointError(
                    f"loss is {mean_loss} at step {step}; if you changed the "
                    "vocab, check vocab_size in bert_config.json"
                )
            monitor.loop_done(
                step, num_steps, mean_loss, time.time() - loop_start,
                self._learning_rate(),
            )
            if step % cfg.save_checkpoints_steps == 0 or step == max_steps:
                self.save(step)
        return step

    def _learning_rate(self):
        """The rate of the next update (the schedule at the global step)."""
        rate = self.optimizer.learning_rate
        if callable(rate):
            rate = rate(self.optimizer.iterations)
        return float(rate)

    def evaluate(self, input_fn, steps=None):
        """Evaluates the latest checkpoint (else init_checkpoint).

        Args:
          input_fn: callable returning a `tf.data.Dataset` of global batches.
          steps: number of batches, or None for the whole dataset.

        Returns:
          dict: each metric (sum of numerators / sum of denominators),
          `loss` (mean of the per-batch loss) and `global_step`, as numpy
          float32 / int64 like the Estimator's.
        """
        self._ensure_inference_model()
        global_step = self._restore(self.inference_model)
        dataset = input_fn()
        if steps is not None:
            dataset = dataset.take(steps)
        eval_step = self._eval_function()
        iterator = iter(self._distribute(dataset))
        losses, totals = [], {}
        monitor = progress.EvaluationProgress("Evaluation", total=steps)
        with _read_errors_as_user_errors():
            while True:
                try:
                    loss, sums = eval_step(iterator)
                except (StopIteration, tf.errors.OutOfRangeError):
                    break
                losses.append(float(loss))
                for name, value in sums.items():
                    totals[name] = (
                        totals.get(name, 0.0) + np.asarray(value, np.float64)
                    )
                monitor.batch_done(len(losses))
        results = {
            name: np.float32(n / d if d else 0.0) for name, (n, d) in totals.items()
        }
        results["loss"] = np.float32(np.mean(losses) if losses else 0.0)
        results["global_step"] = np.int64(global_step)
        if self.is_chief:
            progress.write_eval_summaries(self.config.model_dir, results)
        return results

    def predict(self, input_fn):
        """Yields one dict of numpy values per example, in input order."""
        self._ensure_inference_model()
        self._restore(self.inference_model)
        predict_step = self._predict_function()
        monitor = progress.EvaluationProgress("Prediction")
        with _read_errors_as_user_errors():
            for count, features in enumerate(input_fn(), 1):
                batch = {
                    k: np.asarray(v) for k, v in predict_step(features).items()
                }
                monitor.batch_done(count)
                size = len(next(iter(batch.values())))
                for i in range(size):
                    yield {k: v[i] for k, v in batch.items()}


def write_eval_results(path, results, chief=True):
    """Writes `eval_results.txt` as the original: sorted `key = value` lines."""
    logging.info("***** Eval results *****")
    lines = []
    for key in sorted(results):
        logging.info("  %s = %s", key, str(results[key]))
        lines.append(f"{key} = {results[key]!s}\n")
    if chief:
        with file_io.atomic_write(path) as f:
            f.write("".join(lines))
