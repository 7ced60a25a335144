"""What a long run shows while it works: log lines and TensorBoard events.

The Estimator logged the loss and `global_step/sec` every 100 steps and wrote
them, with `examples/sec` and the evaluation metrics, as event files that
`tensorboard --logdir=$OUTPUT_DIR` shows. Here:

* `TrainingProgress` sizes each compiled training loop so that a progress
  line (step, loss, steps/s, examples/s, ETA) appears at least every
  `LOG_EVERY_STEPS` steps or `LOG_EVERY_SECONDS` seconds, whichever comes
  first, and writes `loss`, `learning_rate`, `global_step/sec` and
  `examples/sec` to `model_dir` (chief only).
* `write_eval_summaries` writes evaluation metrics to `model_dir/eval`.
* `EvaluationProgress` logs evaluation and prediction batches with an ETA
  when the total is known.

A loop call costs a few milliseconds more than the steps inside it, so a
loop of 100 steps or 30 seconds hides it. On a TPU the loop size stays
`iterations_per_loop`, as TPUEstimator's, because there every host round
trip is expensive; progress is then logged once per loop.
"""

import os
import time

import tensorflow as tf
from absl import logging

LOG_EVERY_STEPS = 100
LOG_EVERY_SECONDS = 30.0

# TensorBoard's scalar plugin reads summaries tagged with this metadata.
# tf.summary.scalar would write the same but needs the tensorboard package,
# which training does not; tf.compat.v1.SummaryMetadata is the proto class
# itself (TF 2 exports no other name for it).
_SCALAR_METADATA = tf.compat.v1.SummaryMetadata(
    plugin_data=tf.compat.v1.SummaryMetadata.PluginData(plugin_name="scalars")
).SerializeToString()


def write_scalar(tag, value):
    """One scalar event under the default summary writer and step."""
    tf.summary.write(
        tag, tf.constant(value, tf.float32), metadata=_SCALAR_METADATA
    )


def format_duration(seconds):
    """Seconds as H:MM:SS, e.g. 3725 -> "1:02:05"."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


class TrainingProgress:
    """Loop sizes, progress lines and training summaries of one `train` call.

    Args:
      start_step: the global step training starts (or resumes) from.
      max_steps: the global step it ends at.
      examples_per_step: the global batch size times the accumulation steps,
        or None when unknown (no examples/s then).
      summary_dir: where event files go (the model_dir), or None on
        non-chief workers.
      fixed_loop_size: run loops of exactly `iterations_per_loop` steps
        (TPU) instead of sizing them for the log interval.
    """

    def __init__(self, start_step, max_steps, examples_per_step=None,
                 summary_dir=None, fixed_loop_size=False):
        self.start_step = start_step
        self.max_steps = max_steps
        self.examples_per_step = examples_per_step
        self.fixed_loop_size = fixed_loop_size
        self.writer = (
            tf.summary.create_file_writer(summary_dir) if summary_dir else None
        )
        self.start_time = time.time()
        self.steps_per_sec = None  # of the last loop

    def loop_size(self, step, iterations_per_loop, next_save):
        """Steps for the next loop: up to the next save, log or the end."""
        size = min(iterations_per_loop, self.max_steps - step, next_save - step)
        if self.fixed_loop_size:
            return size
        if self.steps_per_sec is None:
            # The first loop also traces; one step measures the rate.
            return 1
        by_time = max(1, int(LOG_EVERY_SECONDS * self.steps_per_sec))
        return min(size, LOG_EVERY_STEPS, by_time)

    def loop_done(self, step, num_steps, loss, seconds, learning_rate):
        """Logs and records a finished loop that ended at `step`."""
        self.steps_per_sec = num_steps / max(seconds, 1e-9)
        overall = (step - self.start_step) / max(time.time() - self.start_time, 1e-9)
        eta = (self.max_steps - step) / max(overall, 1e-9)
        examples = ""
        if self.examples_per_step:
            examples_per_sec = self.steps_per_sec * self.examples_per_step
            examples = f", examples/s = {examples_per_sec:.1f}"
        logging.info(
            "step = %d/%d, loss = %.5f, steps/s = %.2f%s, ETA %s",
            step, self.max_steps, loss, self.steps_per_sec, examples,
            format_duration(eta),
        )
        if self.writer is None:
            return
        with self.writer.as_default(step=step):
            write_scalar("loss", loss)
            write_scalar("learning_rate", learning_rate)
            write_scalar("global_step/sec", self.steps_per_sec)
            if self.examples_per_step:
                write_scalar(
                    "examples/sec", self.steps_per_sec * self.examples_per_step
                )
        self.writer.flush()

    def close(self):
        if self.writer is not None:
            self.writer.close()


def write_eval_summaries(model_dir, results, name=None):
    """Writes eval `results` at their `global_step` to `model_dir/eval`.

    `name` gives `model_dir/eval_<name>`, as `Estimator.evaluate(name=)` did.
    """
    directory = os.path.join(model_dir, "eval" if not name else f"eval_{name}")
    writer = tf.summary.create_file_writer(directory)
    with writer.as_default(step=int(results["global_step"])):
        for key, value in sorted(results.items()):
            if key != "global_step":
                write_scalar(key, float(value))
    writer.close()


class EvaluationProgress:
    """Progress lines of an evaluation or prediction loop.

    Logs every `LOG_EVERY_STEPS` batches or `LOG_EVERY_SECONDS` seconds,
    whichever comes first, with an ETA when `total` batches is known.
    """

    def __init__(self, title, total=None):
        self.title = title
        self.total = total
        self.start_time = self.last_log = time.time()
        self.last_count = 0

    def batch_done(self, count):
        now = time.time()
        if (count - self.last_count < LOG_EVERY_STEPS
                and now - self.last_log < LOG_EVERY_SECONDS):
            return
        self.last_count, self.last_log = count, now
        rate = count / max(now - self.start_time, 1e-9)
        if self.total:
            eta = format_duration((self.total - count) / max(rate, 1e-9))
            logging.info("%s [%d/%d], %.1f batches/s, ETA %s",
                         self.title, count, self.total, rate, eta)
        else:
            logging.info("%s [%d], %.1f batches/s", self.title, count, rate)
