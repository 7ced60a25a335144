"""Device smoke test: bert_tf's checks and BERT-Base timings on this machine.

The test suite runs on CPUs only. This script is what a maintainer runs on
a GPU or TPU machine (`make smoke-device`); it also passes on a CPU, where
it takes a few minutes. It reports the device and what `--precision=auto`
picks there, then checks:

* golden forward: the tiny fixture model (tests/testdata/tiny_model) in
  float32 on the device, TF32 off, eagerly and under XLA, against Google's
  reference outputs within the fixtures README's tolerances;
* one training step per precision (fp32, bf16, fp16) through the runner's
  path (`Estimator` + `PretrainingTask`) on a fixture TFRecord: losses
  finite, bf16 and fp16 close to fp32, fp16's dynamic loss scale present;
* the fused kernels of `bert_tf.modeling.fused` against the plain TF
  formulas they replace, in float32 and bfloat16, forward and gradient,
  plus the inference entry points and dropout's rate and shapes;
* MirroredStrategy over two devices against one device: two training steps
  with the global batch split over two replicas give the same losses,
  weights and optimizer slots. It runs in a child process, which splits the
  devices before TensorFlow starts: the CPU into 2 logical CPUs, one GPU
  into 2 logical GPUs of `--logical_gpu_memory_mb` each (so the rest of the
  run keeps the whole GPU), or the first two of several GPUs;
* TPUStrategy against one device, where a TPU is found (else skipped).

Then, unless --skip_benchmarks: BERT-Base (L=12 H=768 A=12, random weights,
seq 128) forward and training examples/s in fp32 and in the auto precision,
timed after warm-up, beside a 2048x2048 matmul rate measured in the same
run. The exit status is 1 if any check fails.

Not checked here: numerical quality over many steps, multi-worker runs
(tests/pretraining/multi_worker_test.py) and anything of the data scripts.

Usage: python benchmarks/smoke_device.py [--skip_benchmarks]
  [--batch_size=N] [--steps=N] [--checks=golden,precision,fused,mirrored,tpu]
"""

import argparse
import contextlib
import dataclasses
import json
import logging
import math
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
from unittest import mock

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, _ROOT)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks import common  # noqa: E402
from bert_tf import checkpoints  # noqa: E402
from bert_tf import distribution  # noqa: E402
from bert_tf import estimator  # noqa: E402
from bert_tf import optimization  # noqa: E402
from bert_tf.checkpoints import training_state  # noqa: E402
from bert_tf.config import BertConfig  # noqa: E402
from bert_tf.modeling import BertModel  # noqa: E402
from bert_tf.modeling import BertPretrainingModel  # noqa: E402
from bert_tf.modeling import activations  # noqa: E402
from bert_tf.modeling import fused  # noqa: E402
from bert_tf.pretraining import input_pipeline  # noqa: E402
from bert_tf.pretraining.task import PretrainingTask  # noqa: E402

TESTDATA = os.path.join(_ROOT, "tests", "testdata")
TINY_CONFIG = os.path.join(TESTDATA, "tiny_model", "bert_config.json")
TINY_CKPT = os.path.join(TESTDATA, "tiny_model", "bert_model.ckpt")
TINY_GOLDEN = os.path.join(TESTDATA, "tiny_model", "golden_outputs.npz")
# create_pretraining_data.py run (a): uncased vocab, seq 64, 10 predictions.
RECORD = os.path.join(TESTDATA, "pretraining_data", "a_default.tfrecord")
RECORD_SHAPE = dict(max_seq_length=64, max_predictions_per_seq=10)
UNCASED_VOCAB_SIZE = 30522

POLICIES = {"fp32": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}
SEED = 1
LEARNING_RATE = 1e-3
BF16_RTOL = 2.0**-8  # bfloat16 keeps 8 significant bits
LOSS_TOLERANCE = {"bf16": 1e-2, "fp16": 2e-3}  # see check_precisions
LOSS_LINE = re.compile(r"step = \d+/\d+, loss = (\S+?),")

# Fixtures README tolerances: (label, golden keys, ours, tolerance).
GOLDEN_GROUPS = (
    ("activations", ("embedding_output", "sequence_output", "pooled_output",
                     "all_encoder_layers"), None, 1e-5),
    ("masked-LM log-probs", ("masked_lm_log_probs",), None, 5e-5),
    ("NSP log-probs", ("next_sentence_log_probs",), None, 1e-5),
    ("losses", ("masked_lm_loss", "next_sentence_loss", "total_loss"),
     ("masked_lm_loss", "next_sentence_loss", "loss"), 2e-5),
)
GOLDEN_INPUTS = (
    "input_ids", "input_mask", "segment_ids", "masked_lm_positions",
    "masked_lm_ids", "masked_lm_weights", "next_sentence_labels",
)


# --- The report -------------------------------------------------------------


@dataclasses.dataclass
class Row:
    check: str
    passed: bool
    measured: str
    tolerance: str
    note: str = ""


class Report:
    """Rows of checks; a check that raises becomes one FAIL row."""

    def __init__(self):
        self.rows = []

    def add(self, check, passed, measured, tolerance, note=""):
        self.rows.append(Row(check, bool(passed), measured, tolerance, note))

    def compare(self, check, actual, expected, atol, rtol=0.0, note=""):
        """PASS if |actual - expected| <= atol + rtol * |expected| everywhere."""
        actual = np.asarray(actual, np.float64)
        expected = np.asarray(expected, np.float64)
        if actual.shape != expected.shape:
            self.add(check, False, f"shape {actual.shape} != {expected.shape}",
                     "same shape", note)
            return
        difference = np.abs(actual - expected)
        passed = np.all(difference <= atol + rtol * np.abs(expected))
        tolerance = f"{atol:.0e}" + (f" + {rtol:.2g}*|ref|" if rtol else "")
        self.add(check, passed, f"{difference.max():.2e}", tolerance, note)

    @contextlib.contextmanager
    def guard(self, check):
        """Runs a block of checks; an exception is a FAIL row named `check`."""
        try:
            yield
        except Exception as e:  # noqa: BLE001 (any failure is a result here)
            traceback.print_exc()
            message = str(e).strip().splitlines()[0] if str(e).strip() else ""
            self.add(check, False, "error", "-",
                     f"{type(e).__name__}: {message}"[:200])

    @property
    def failed(self):
        return [row for row in self.rows if not row.passed]

    def table(self):
        rows = [
            [row.check, _result(row), row.measured,
             row.tolerance, row.note]
            for row in self.rows
        ]
        headers = ["check", "result", "max |diff|", "tolerance", "note"]
        widths = [max(len(r[i]) for r in rows + [headers]) for i in range(4)]
        lines = []
        for cells in [headers, ["-" * w for w in widths] + ["----"]] + rows:
            lines.append("  ".join(
                [c.ljust(w) for c, w in zip(cells[:2], widths)]
                + [c.rjust(w) for c, w in zip(cells[2:4], widths[2:])]
                + [cells[4]]
            ).rstrip())
        return "\n".join(lines)


def _result(row):
    if row.measured == "skipped":
        return "SKIP"
    return "PASS" if row.passed else "FAIL"


def max_difference(actual, expected):
    actual = np.asarray(actual, np.float64)
    return float(np.max(np.abs(actual - np.asarray(expected, np.float64))))


# --- Devices ----------------------------------------------------------------


def split_devices(logical_gpu_memory_mb):
    """Two devices for MirroredStrategy; call before TensorFlow starts.

    Returns their names: the first two GPUs; one GPU split in two logical
    GPUs of `logical_gpu_memory_mb` each; else the CPU split in two.
    """
    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) >= 2:
        return ["/gpu:0", "/gpu:1"]
    if gpus:
        limit = tf.config.LogicalDeviceConfiguration(
            memory_limit=logical_gpu_memory_mb
        )
        tf.config.set_logical_device_configuration(gpus[0], [limit, limit])
        return ["/gpu:0", "/gpu:1"]
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2
    )
    return ["/cpu:0", "/cpu:1"]


def short_device(name):
    """"/job:localhost/replica:0/task:0/device:GPU:0" -> "GPU:0"."""
    return name.split("device:")[-1]


def accelerator():
    """The device the single-device checks run on: a TPU, GPU or the CPU."""
    for kind in ("TPU", "GPU"):
        devices = tf.config.list_logical_devices(kind)
        if devices:
            return devices[0].name
    return tf.config.list_logical_devices("CPU")[0].name


def device_lines(strategy):
    """What this machine is and what `--precision=auto` picks on it."""
    lines = [f"TensorFlow {tf.__version__}, Keras {keras.__version__}"]
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        capability = details.get("compute_capability", ("?", "?"))
        lines.append(
            f"GPU {gpu.name}: {details.get('device_name', 'unknown')}, "
            f"compute capability {capability[0]}.{capability[1]}"
        )
    tpus = tf.config.list_logical_devices("TPU")
    if tpus:
        lines.append(f"TPU: {len(tpus)} cores ({tpus[0].name} ...)")
    flags = ", ".join(common.cpu_flags()) or "no avx512_bf16/amx_bf16"
    lines.append(f"CPU: {common.cpu_model()} ({flags}), {os.cpu_count()} cores")
    hardware = distribution.detect_hardware()
    precision, reason = distribution.choose_precision(hardware)
    lines.append(f"--precision=auto -> {precision}: {reason}")
    lines.append(
        f"strategy: {type(strategy).__name__}, "
        f"{strategy.num_replicas_in_sync} replica(s); checks on {accelerator()}"
    )
    return lines, precision


# --- Golden forward -----------------------------------------------------------


def check_golden(report, device):
    """The tiny fixture model in float32 on `device`, eager and XLA."""
    tf.config.experimental.enable_tensor_float_32_execution(False)
    golden = dict(np.load(TINY_GOLDEN))
    config = BertConfig.from_json_file(TINY_CONFIG)
    with distribution.dtype_policy("float32"):
        model = BertPretrainingModel(config)
    checkpoints.load_tf1_checkpoint(model, TINY_CKPT)

    def forward(features):
        return model(features, training=False)

    for mode, function in (
        ("eager", forward),
        ("XLA", tf.function(forward, jit_compile=True)),
    ):
        with report.guard(f"golden fp32 forward, {mode}"), tf.device(device):
            features = {k: tf.constant(golden[k]) for k in GOLDEN_INPUTS}
            outputs = function(features)
            placed = short_device(outputs["sequence_output"].device or device)
            for label, keys, ours, tolerance in GOLDEN_GROUPS:
                differences = [
                    max_difference(_stacked(outputs[mine]), golden[key])
                    for key, mine in zip(keys, ours or keys)
                ]
                report.add(
                    f"golden fp32 forward, {mode}: {label}",
                    max(differences) <= tolerance,
                    f"{max(differences):.2e}",
                    f"{tolerance:.0e}",
                    ", ".join(keys) + f" on {placed}",
                )


def _stacked(value):
    if isinstance(value, (list, tuple)):  # all_encoder_layers
        return np.stack([np.asarray(v) for v in value])
    return np.asarray(value)


# --- Training steps through the runner -------------------------------------


@contextlib.contextmanager
def logged_losses():
    """Collects the losses the runner logs ("step = 1/1, loss = ...").

    The runner logs its losses and nothing returns them; they are logged
    with 5 decimals. Its other INFO lines are kept off the console.
    """
    losses = []

    class Collector(logging.Handler):
        def emit(self, record):
            match = LOSS_LINE.match(record.getMessage())
            if match:
                losses.append(float(match.group(1)))
            elif record.levelno >= logging.WARNING:
                print(f"  {record.levelname}: {record.getMessage()}",
                      file=sys.stderr)

    logger = logging.getLogger("absl")
    collector = Collector()
    level, propagate = logger.level, logger.propagate
    logger.addHandler(collector)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield losses
    finally:
        logger.removeHandler(collector)
        logger.setLevel(level)
        logger.propagate = propagate


def check_model_config():
    """The tiny fixture config with the fixture TFRecord's uncased vocab.

    Dropout is off, so that replicas and precisions compute the same
    function (each replica would draw its own dropout masks). Weights are
    drawn with std 0.25, as the fixture checkpoint's: with BERT's 0.02 the
    logits are ~0 and every precision gives a loss of ln(vocab) + ln(2).
    """
    config = BertConfig.from_json_file(TINY_CONFIG).to_dict()
    config.update(
        vocab_size=UNCASED_VOCAB_SIZE,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        initializer_range=0.25,
    )
    return BertConfig(**config)


def write_init_checkpoint(config, directory):
    """Seeded random weights as a TF1 checkpoint: every run starts there."""
    keras.utils.set_random_seed(SEED)
    with distribution.dtype_policy("float32"):
        model = BertPretrainingModel(config)
    prefix = os.path.join(directory, "init", "bert_model.ckpt")
    os.makedirs(os.path.dirname(prefix), exist_ok=True)
    checkpoints.save_tf1_checkpoint(model, prefix, update_state=False)
    return prefix


def train(config, init, model_dir, precision, steps, batch_size,
          strategy=None):
    """Runs `steps` runner steps (global batch `batch_size`) from `init`.

    Returns (losses logged per step, the Estimator). The batches are the
    fixture TFRecord's records in file order.
    """
    keras.utils.set_random_seed(SEED)
    # As distribution.set_precision: exact float32 means no TF32 matmuls.
    tf.config.experimental.enable_tensor_float_32_execution(precision != "fp32")
    task = PretrainingTask(
        bert_config=config, learning_rate=LEARNING_RATE,
        num_train_steps=steps, num_warmup_steps=0,
    )
    input_fn = input_pipeline.input_fn_builder(
        [RECORD], **RECORD_SHAPE, is_training=False, batch_size=batch_size,
        vocab_size=config.vocab_size,
    )
    with distribution.dtype_policy(POLICIES[precision]), logged_losses() as losses:
        runner = estimator.Estimator(
            task,
            estimator.RunConfig(model_dir, iterations_per_loop=1),
            strategy=strategy,
            init_checkpoint=init,
        )
        runner.train(input_fn, max_steps=steps, batch_size=batch_size)
    tf.config.experimental.enable_tensor_float_32_execution(False)
    if len(losses) != steps:
        raise RuntimeError(f"{len(losses)} loss lines logged for {steps} steps")
    return losses, runner


def all_finite(model):
    return all(np.all(np.isfinite(np.asarray(w))) for w in model.weights)


def check_precisions(report, config, init, workdir):
    """One runner step per precision from the same weights on one batch.

    The loss is ~11.7 nats. bfloat16 rounds each matmul's inputs to 8
    significant bits, float16 to 11: a relative error of 2**-9 (2**-12) per
    rounding, which mostly averages out over the batch and the vocabulary's
    log-sum-exp; on a CPU bf16 lands ~2e-3 from fp32 and fp16 ~1e-4. The
    tolerances, 1e-2 and 2e-3, are below one rounding of the loss itself
    (0.05 nats in bfloat16) and catch a loss scale left in, a mis-cast head
    or an overflow.
    """
    losses = {}
    for precision in ("fp32", "bf16", "fp16"):
        check = f"train step {precision}: loss finite, weights finite"
        with report.guard(check):
            model_dir = os.path.join(workdir, f"step_{precision}")
            (loss,), runner = train(config, init, model_dir, precision, 1, 8)
            losses[precision] = loss
            report.add(check, math.isfinite(loss) and all_finite(runner.model),
                       f"loss {loss:.5f}", "finite")
            if precision == "fp16":
                check_loss_scale(report, runner, model_dir)
    for precision in ("bf16", "fp16"):
        if precision in losses and "fp32" in losses:
            report.compare(
                f"train step {precision}: loss vs fp32", losses[precision],
                losses["fp32"], LOSS_TOLERANCE[precision],
                note="same weights and batch",
            )


def check_loss_scale(report, runner, model_dir):
    """fp16: the optimizer's dynamic loss scale exists and is checkpointed."""
    loss_scale = getattr(runner.optimizer, "loss_scale", None)
    if loss_scale is None:
        report.add("train step fp16: dynamic loss scale", False, "none",
                   "present")
        return
    scale = float(np.asarray(loss_scale.scale.value))
    saved = tf.train.load_checkpoint(os.path.join(model_dir, "model.ckpt-1"))
    in_checkpoint = saved.has_tensor(training_state.LOSS_SCALE)
    report.add(
        "train step fp16: dynamic loss scale",
        in_checkpoint and math.isfinite(scale) and scale >= 1.0,
        f"scale {scale:g}",
        "present, >= 1",
        "saved in model.ckpt-1" if in_checkpoint else "not in model.ckpt-1",
    )


# --- Fused kernels ------------------------------------------------------------

# A [2] stateless seed, as the layers' seed generators hand the kernels.
KERNEL_SEED = (7, 11)
DROPOUT_RATE = 0.1


def _random(*shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).normal(0, scale, shape).astype("float32")


def _reference_layer_norm(x, gamma, beta):
    mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
    return (x - mean) * tf.math.rsqrt(variance + 1e-12) * gamma + beta


def _keep_mask(shape):
    """The fused dropout's keep-and-scale mask for KERNEL_SEED, float32."""
    threshold, scale = fused.dropout_threshold(DROPOUT_RATE)
    bits = fused.dropout_bits(tf.constant(shape), tf.constant(KERNEL_SEED, tf.int64))
    return tf.cast(bits >= threshold, tf.float32) * scale


def _value_and_gradients(function, args, upstream):
    """function(*args) and the gradient of sum(output * upstream) per arg."""
    args = [tf.constant(a) for a in args]
    with tf.GradientTape() as tape:
        tape.watch(args)
        output = function(*args)
        loss = tf.reduce_sum(tf.cast(output, tf.float32) * upstream)
    grads = tape.gradient(loss, args, unconnected_gradients="zero")
    return _numpy(output), [_numpy(g) for g in grads]


def _numpy(tensor):
    return np.asarray(tf.cast(tensor, tf.float32))


def kernel_cases():
    """(name, kernel, reference, args, which args take the test dtype)."""
    seed = tf.constant(KERNEL_SEED, tf.int64)
    x, other = _random(48, 37, scale=3.0), _random(48, 37, seed=1)
    gamma, beta = 1 + _random(37, seed=2, scale=0.1), _random(37, seed=3)
    scores = _random(3, 4, 9, 9, seed=4, scale=4.0)
    logits, bias = _random(30, 101, seed=5, scale=3.0), _random(101, seed=6)
    labels = np.random.default_rng(7).integers(0, 101, 30).astype("int32")
    return [
        ("gelu", fused.gelu, activations.gelu, [x], [True]),
        ("LayerNorm", lambda v, g, b: fused.layer_norm(v, g, b, 1e-12),
         _reference_layer_norm, [x, gamma, beta], [True, False, False]),
        ("add+LayerNorm+dropout",
         lambda v, r, g, b: fused.residual_layer_norm(
             v, r, g, b, 1e-12, DROPOUT_RATE, seed),
         lambda v, r, g, b: _reference_layer_norm(
             v * _keep_mask(v.shape) + r, g, b),
         [x, other, gamma, beta], [True, True, False, False]),
        ("softmax+dropout (attention)",
         lambda s: fused.softmax_dropout(s, DROPOUT_RATE, seed),
         lambda s: tf.nn.softmax(s) * _keep_mask(s.shape), [scores], [True]),
        ("masked-LM cross-entropy",
         lambda z, b: fused.softmax_cross_entropy(z, b, labels),
         lambda z, b: tf.nn.sparse_softmax_cross_entropy_with_logits(
             labels, z + b),
         [logits, bias], [True, False]),
    ]


def check_kernel(report, case, dtype, device):
    """One kernel against its formula: forward, then every input gradient.

    The reference runs in float32 on the same (rounded) inputs and upstream
    gradient. In float32 the two differ by summation order and the
    device's exp/tanh: a few ulps of values of order 10. In bfloat16 the
    kernels compute in float32 and round once, to 8 significant bits.
    """
    name, kernel, reference, args, cast = case
    rounded = [_numpy(tf.cast(a, dtype)) if c else a for a, c in zip(args, cast)]
    inputs = [tf.cast(a, dtype) if c else a for a, c in zip(rounded, cast)]
    with tf.device(device):
        shape = reference(*[tf.constant(a) for a in rounded]).shape
        upstream = _numpy(tf.cast(_random(*shape, seed=9), dtype))
        actual, actual_grads = _value_and_gradients(kernel, inputs, upstream)
        expected, expected_grads = _value_and_gradients(
            reference, rounded, upstream
        )
    label = f"fused {name}, {tf.as_dtype(dtype).name}"
    rtol = BF16_RTOL if dtype == tf.bfloat16 else 0.0
    report.compare(f"{label}: forward", actual, expected, 1e-5, rtol)
    for index, (a, e) in enumerate(zip(actual_grads, expected_grads)):
        grad_rtol = rtol if cast[index] else 0.0
        report.compare(f"{label}: gradient of input {index}", a, e, 1e-4,
                       grad_rtol)


def check_inference_entry_points(report, dtype, device):
    """The layers' entry points with training=False against the formulas."""
    x, other = _random(48, 37, scale=3.0), _random(48, 37, seed=1)
    gamma, beta = 1 + _random(37, seed=2, scale=0.1), _random(37, seed=3)
    scores = _random(3, 4, 9, 9, seed=4, scale=4.0)
    logits, bias = _random(30, 101, seed=5, scale=3.0), _random(101, seed=6)
    labels = np.random.default_rng(7).integers(0, 101, 30).astype("int32")
    x16, other16, scores16, logits16 = (
        tf.cast(v, dtype) for v in (x, other, scores, logits)
    )
    x, other, scores, logits = (_numpy(v) for v in (x16, other16, scores16, logits16))
    # TF's gelu op runs in the input dtype: in bfloat16 every intermediate
    # is rounded, and 1 + tanh(u) keeps nothing below 2**-8, so it gets
    # (atol 2**-8, rtol 2**-6) instead of one rounding's 2**-8 relative.
    cases = [
        ("activation gelu", lambda: fused.activation(
            x16, activations.gelu, training=False), lambda: activations.gelu(x),
         (2.0**-8, 2.0**-6)),
        ("attention_probs", lambda: fused.attention_probs(
            scores16, DROPOUT_RATE, None, training=False),
         lambda: tf.nn.softmax(scores), (1e-5, BF16_RTOL)),
        ("add+LayerNorm", lambda: fused.inference_layer_norm(
            x16, gamma, beta, 1e-12, residual=other16),
         lambda: _reference_layer_norm(x + other, gamma, beta), (1e-5, BF16_RTOL)),
        ("biased_cross_entropy", lambda: fused.biased_cross_entropy(
            logits16, bias, labels, training=False),
         lambda: tf.nn.sparse_softmax_cross_entropy_with_logits(
             labels, logits + bias), (1e-5, BF16_RTOL)),
    ]
    for name, actual, expected, bf16_tolerance in cases:
        check = f"fused {name} (inference), {tf.as_dtype(dtype).name}"
        atol, rtol = bf16_tolerance if dtype == tf.bfloat16 else (1e-5, 0.0)
        with report.guard(check), tf.device(device):
            report.compare(check, _numpy(actual()), _numpy(expected()), atol, rtol)


def check_dropout(report, dtype, device):
    """Rate, kept values, shapes, determinism and the gradient's zeros."""
    check = f"fused dropout, {tf.as_dtype(dtype).name}: rate, values, shape, grad"
    seed = tf.constant(KERNEL_SEED, tf.int64)
    with report.guard(check), tf.device(device):
        ones = tf.ones((1000, 1000), dtype)
        dropped, (grad,) = _value_and_gradients(
            lambda v: fused.dropout(v, DROPOUT_RATE, seed), [ones],
            np.ones((1000, 1000), "float32"),
        )
        threshold, scale = fused.dropout_threshold(DROPOUT_RATE)
        rate = float(np.mean(dropped == 0))
        expected_rate = int(threshold) / 65536
        kept = _numpy(tf.cast(scale, dtype))
        again = _numpy(fused.dropout(ones, DROPOUT_RATE, seed))
        odd = fused.dropout(tf.ones((3, 5, 7), dtype), DROPOUT_RATE, seed)
        problems = [
            what for what, ok in [
                ("rate", abs(rate - expected_rate) < 1.5e-3),  # 5 sigma
                ("values", set(np.unique(dropped)) <= {0.0, float(kept)}),
                ("determinism", np.array_equal(dropped, again)),
                ("odd shape", odd.shape == (3, 5, 7) and odd.dtype == dtype),
                ("gradient zeros", np.array_equal(grad == 0, dropped == 0)),
            ] if not ok
        ]
        report.add(check, not problems, f"rate {rate:.5f}",
                   f"{expected_rate:.5f} +- 1.5e-3",
                   "failed: " + ", ".join(problems) if problems else "")


def check_fused(report, device):
    tf.config.experimental.enable_tensor_float_32_execution(False)
    for dtype in (tf.float32, tf.bfloat16):
        for case in kernel_cases():
            with report.guard(f"fused {case[0]}, {dtype.name}"):
                check_kernel(report, case, dtype, device)
        check_inference_entry_points(report, dtype, device)
        check_dropout(report, dtype, device)
    with report.guard("AdamW update kernel"):
        check_update_kernel(report, device)


def check_update_kernel(report, device):
    """The optimizer's XLA update against the same formula as plain TF ops.

    Exact fp32 depends on it: a fused multiply-add anywhere in the kernel
    shows as a difference of an ulp.
    """
    rng = np.random.default_rng(3)
    shape = (256, 300)
    initial = rng.standard_normal(shape).astype(np.float32)
    grads = [
        (rng.standard_normal(shape) * 10.0 ** rng.integers(-8, 2, shape))
        .astype(np.float32)
        for _ in range(3)
    ]

    def final_weights():
        with tf.device(device):
            kernel = keras.Variable(initial, name="kernel")
            optimizer = optimization.AdamWeightDecay(
                learning_rate=3e-3, weight_decay_rate=0.01
            )
            optimizer.build([kernel])
            apply = tf.function(lambda g: optimizer.apply([g], [kernel]))
            for grad in grads:
                apply(tf.constant(grad))
        return kernel.numpy()

    one_kernel = final_weights()
    with mock.patch.object(fused, "xla_runs_on_host", lambda: False):
        plain = final_weights()
    report.add("AdamW update kernel, float32: bit-identical to plain ops",
               np.array_equal(one_kernel, plain),
               f"{max_difference(one_kernel, plain):.2e}", "0 (bitwise)")


# --- Several replicas -------------------------------------------------------

STRATEGY_STEPS = 2
STRATEGY_BATCH = 8  # global; 4 per replica on two devices


def check_against_one_device(report, label, strategy, workdir, tolerance,
                             config, init):
    """Runner steps under `strategy` against the default one-device run.

    Losses are compared as logged (5 decimals); weights and Adam slots from
    both runs' checkpoints. A replica's loss is its share of the global
    batch's, so the two runs differ only in float32 summation order, which
    Adam can amplify only where a gradient is ~0 (the update is then ~0).
    """
    one, _ = train(config, init, os.path.join(workdir, "one"), "fp32",
                   STRATEGY_STEPS, STRATEGY_BATCH)
    several, runner = train(
        config, init, os.path.join(workdir, "several"), "fp32",
        STRATEGY_STEPS, STRATEGY_BATCH, strategy=strategy,
    )
    report.compare(f"{label}: losses of {STRATEGY_STEPS} steps", several, one,
                   tolerance, note="vs one device, same global batches")
    prefix = f"model.ckpt-{STRATEGY_STEPS}"
    a = tf.train.load_checkpoint(os.path.join(workdir, "one", prefix))
    b = tf.train.load_checkpoint(os.path.join(workdir, "several", prefix))
    names = sorted(a.get_variable_to_shape_map())
    same_names = names == sorted(b.get_variable_to_shape_map())
    difference = max(
        max_difference(b.get_tensor(n), a.get_tensor(n)) for n in names
        if a.get_tensor(n).dtype.kind == "f"
    )
    report.add(f"{label}: weights and Adam slots after the steps",
               same_names and difference <= tolerance, f"{difference:.2e}",
               f"{tolerance:.0e}", f"{len(names)} checkpoint tensors")
    return runner


def check_replicas_agree(report, label, runner):
    """Every replica's copy of every variable is the same after training."""
    worst = 0.0
    for variable in runner.model.weights:
        copies = runner.strategy.experimental_local_results(variable.value)
        for copy in copies[1:]:
            worst = max(worst, max_difference(copy, copies[0]))
    report.add(f"{label}: replicas' variable copies identical",
               worst == 0.0, f"{worst:.2e}", "0")


def summed_gradients(strategy, config, init, batch):
    """The gradient of the global-batch loss, as the sum of replica shares."""
    with strategy.scope(), distribution.dtype_policy("float32"):
        model = BertPretrainingModel(config)
        checkpoints.init_from_checkpoint(model, init)
    task = PretrainingTask(bert_config=config)

    def step(features):
        with tf.GradientTape() as tape:
            loss = task.loss(model(features, training=True), features)
        grads = tape.gradient(loss, model.trainable_variables)
        grads = [tf.convert_to_tensor(g) for g in grads]
        context = tf.distribute.get_replica_context()
        return context.all_reduce(tf.distribute.ReduceOp.SUM, grads)

    @tf.function
    def run(iterator):
        return strategy.run(step, args=(next(iterator),))

    dataset = strategy.experimental_distribute_dataset(batch)
    grads = run(iter(dataset))
    return [np.asarray(strategy.experimental_local_results(g)[0]) for g in grads]


def check_gradients(report, label, strategy, config, init):
    """Adam's first steps hide a gradient scaled by any factor (the update
    is ~lr * sign); the gradients themselves do not. float32 summation
    order: 1e-4 of the largest gradient."""
    batch = input_pipeline.input_fn_builder(
        [RECORD], **RECORD_SHAPE, is_training=False, batch_size=STRATEGY_BATCH,
    )().take(1)
    tf.config.experimental.enable_tensor_float_32_execution(False)
    one = summed_gradients(tf.distribute.get_strategy(), config, init, batch)
    several = summed_gradients(strategy, config, init, batch)
    scale = max(float(np.max(np.abs(g))) for g in one)
    difference = max(max_difference(s, o) for s, o in zip(several, one))
    report.add(f"{label}: gradients of the global batch", difference <= 1e-4 * scale,
               f"{difference:.2e}", f"1e-4*max|g| = {1e-4 * scale:.1e}",
               f"{len(one)} variables")


def check_mirrored(report, devices, workdir):
    label = f"MirroredStrategy {'+'.join(short_device(d) for d in devices)}"
    with report.guard(label):
        strategy = tf.distribute.MirroredStrategy(devices)
        config = check_model_config()
        init = write_init_checkpoint(config, workdir)
        runner = check_against_one_device(
            report, label, strategy, workdir, 2e-5, config, init
        )
        check_replicas_agree(report, label, runner)
        check_gradients(report, label, strategy, config, init)


def run_mirrored_child(args, report):
    """The MirroredStrategy check in a fresh process (see module doc).

    Its rows come back through a JSON file; on a crash, one FAIL row.
    """
    with tempfile.TemporaryDirectory() as directory:
        rows_path = os.path.join(directory, "rows.json")
        command = [
            sys.executable, os.path.abspath(__file__),
            f"--mirrored_child={rows_path}",
            f"--logical_gpu_memory_mb={args.logical_gpu_memory_mb}",
        ]
        process = subprocess.run(command, capture_output=True, text=True)
        if process.returncode != 0 or not os.path.exists(rows_path):
            sys.stderr.write(process.stdout + process.stderr[-5000:])
            report.add("MirroredStrategy (child process)", False, "error", "-",
                       f"exit status {process.returncode}; its output is above")
            return
        with open(rows_path) as f:
            report.rows.extend(Row(**row) for row in json.load(f))


def mirrored_child_main(args):
    devices = split_devices(args.logical_gpu_memory_mb)  # before TF starts
    report = Report()
    with tempfile.TemporaryDirectory() as workdir:
        check_mirrored(report, devices, workdir)
    with open(args.mirrored_child, "w") as f:
        json.dump([dataclasses.asdict(row) for row in report.rows], f)


def check_tpu(report, strategy, workdir):
    """TPUStrategy against one device (the CPU) on the same global batches.

    TF32 off makes XLA compute float32 matmuls at full precision on TPUs
    too, so the tolerance is MirroredStrategy's.
    """
    if not isinstance(strategy, tf.distribute.TPUStrategy):
        report.add("TPUStrategy", True, "skipped", "-", "no TPU found")
        return
    label = f"TPUStrategy, {strategy.num_replicas_in_sync} cores"
    with report.guard(label):
        config = check_model_config()
        init = write_init_checkpoint(config, workdir)
        check_against_one_device(
            report, label, strategy, workdir, 2e-5, config, init
        )


# --- Benchmarks ---------------------------------------------------------------

BASE = dict(vocab_size=UNCASED_VOCAB_SIZE, hidden_size=768, num_hidden_layers=12,
            num_attention_heads=12, intermediate_size=3072, type_vocab_size=2)
BENCH_SEQ, BENCH_PREDICTIONS = 128, 20
MATMUL_SIZE = 2048
MATMUL_DTYPES = {"fp32": tf.float32, "bf16": tf.bfloat16, "fp16": tf.float16}


def synthetic_batch(batch_size, seed=0):
    """Full-length random pretraining features (timing only)."""
    rng = np.random.default_rng(seed)
    shape = (batch_size, BENCH_SEQ)
    positions = np.sort(np.stack([
        rng.choice(np.arange(1, BENCH_SEQ), BENCH_PREDICTIONS, replace=False)
        for _ in range(batch_size)
    ]), axis=1)
    return {
        "input_ids": rng.integers(1000, UNCASED_VOCAB_SIZE, shape).astype("int32"),
        "input_mask": np.ones(shape, "int32"),
        "segment_ids": (np.arange(BENCH_SEQ) >= BENCH_SEQ // 2).astype("int32")
        * np.ones(shape, "int32"),
        "masked_lm_positions": positions.astype("int32"),
        "masked_lm_ids": rng.integers(
            1000, UNCASED_VOCAB_SIZE, (batch_size, BENCH_PREDICTIONS)
        ).astype("int32"),
        "masked_lm_weights": np.ones((batch_size, BENCH_PREDICTIONS), "float32"),
        "next_sentence_labels": rng.integers(0, 2, (batch_size, 1)).astype("int32"),
    }


def time_calls(function, steps, warmup):
    """(first call s, median s of `steps` calls after `warmup` more)."""
    first = common.timed(function)
    for _ in range(warmup):
        function()
    return first, common.median([common.timed(function) for _ in range(steps)])


def matmul_rate(precision, steps, warmup):
    """TFLOP/s of chained MATMUL_SIZE^2 matmuls on the default device."""
    dtype = MATMUL_DTYPES[precision]
    n = MATMUL_SIZE
    # Entries of x @ a keep x's scale when a ~ N(0, 1/n): no overflow in fp16.
    a = tf.cast(tf.random.normal([n, n], stddev=n**-0.5, seed=SEED), dtype)
    x0 = tf.cast(tf.random.normal([n, n], seed=SEED + 1), dtype)
    chain = 4

    @tf.function
    def run(x):
        for _ in range(chain):
            x = tf.matmul(x, a)
        return tf.reduce_sum(tf.cast(x[:1, :1], tf.float32))

    _, seconds = time_calls(lambda: float(run(x0)), steps, warmup)
    return 2 * n**3 * chain / seconds / 1e12


def forward_benchmark(strategy, precision, features, steps, warmup):
    """(first call s, s per call) of BertModel's forward pass, training=False.

    Built as the runners' evaluation builds it: bfloat16 weights under bf16.
    """
    with distribution.dtype_policy(POLICIES[precision]):
        policy = distribution.inference_dtype_policy()
    inputs = {k: features[k] for k in ("input_ids", "input_mask", "segment_ids")}
    with strategy.scope(), distribution.dtype_policy(policy):
        model = BertModel(BertConfig(**BASE))

    def forward(inputs):
        return model(inputs, training=False)["pooled_output"]

    @tf.function
    def run(inputs):
        return strategy.run(forward, args=(inputs,))

    def call():
        pooled = strategy.experimental_local_results(run(inputs))
        return [np.asarray(p) for p in pooled]  # waits for the device

    return time_calls(call, steps, warmup)


def train_benchmark(strategy, precision, features, steps, warmup, workdir):
    """(first call s, s per step) of the runner's compiled training step.

    The Estimator's own loop, reached through its private methods as
    benchmarks/pretraining.py does, so that no checkpoint is written
    between timed steps.
    """
    tf.config.experimental.enable_tensor_float_32_execution(precision != "fp32")
    task = PretrainingTask(bert_config=BertConfig(**BASE),
                           num_train_steps=100000, num_warmup_steps=10000)
    with distribution.dtype_policy(POLICIES[precision]):
        runner = estimator.Estimator(
            task, estimator.RunConfig(os.path.join(workdir, precision)),
            strategy=strategy,
        )
        runner._ensure_training_model()
    dataset = tf.data.Dataset.from_tensors(features).repeat()
    iterator = iter(runner._distribute(dataset))
    train_loop = runner._train_loop_function()
    one = tf.constant(1)
    result = time_calls(lambda: float(train_loop(iterator, one)), steps, warmup)
    tf.config.experimental.enable_tensor_float_32_execution(False)
    return result


def run_benchmarks(args, strategy, auto_precision):
    """The benchmark table's rows (examples/s per precision)."""
    replicas = strategy.num_replicas_in_sync
    batch = args.batch_size * replicas
    features = synthetic_batch(batch)
    precisions = ["fp32"] + ([auto_precision] if auto_precision != "fp32" else [])
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for precision in precisions:
            name = precision + (" (auto)" if precision == auto_precision else "")
            tf.config.experimental.enable_tensor_float_32_execution(precision != "fp32")
            tflops = matmul_rate(precision, args.steps, args.warmup)
            tf.config.experimental.enable_tensor_float_32_execution(False)
            first, seconds = forward_benchmark(
                strategy, precision, features, args.steps, args.warmup)
            rows.append([f"BERT-Base forward, {name}", f"{batch / seconds:.1f}",
                         f"{seconds * 1e3:.1f}", f"{first:.1f}", f"{tflops:.2f}"])
            first, seconds = train_benchmark(
                strategy, precision, features, args.steps, args.warmup, workdir)
            rows.append([f"BERT-Base train step, {name}", f"{batch / seconds:.1f}",
                         f"{seconds * 1e3:.1f}", f"{first:.1f}", f"{tflops:.2f}"])
            keras.backend.clear_session()
    title = (f"== BERT-Base (L=12 H=768 A=12), seq {BENCH_SEQ}, global batch "
             f"{batch} ({replicas} replica(s)), {BENCH_PREDICTIONS} predictions;"
             f" median of {args.steps} calls after {args.warmup} warm-up ==")
    return title, common.format_table(
        ["variant", "examples/s", "ms/call", "first call s",
         f"{MATMUL_SIZE}^2 matmul TFLOP/s"], rows)


# --- Main -------------------------------------------------------------------

CHECKS = ("golden", "precision", "fused", "mirrored", "tpu")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checks", default=",".join(CHECKS),
                        help="comma list of checks to run, of: " + ", ".join(CHECKS))
    parser.add_argument("--skip_benchmarks", action="store_true")
    parser.add_argument("--batch_size", type=int, default=None,
                        help="benchmark batch per replica (default: 32 on an "
                        "accelerator, 2 on a CPU)")
    parser.add_argument("--steps", type=int, default=None,
                        help="timed calls per benchmark (default: 10 on an "
                        "accelerator, 2 on a CPU)")
    parser.add_argument("--warmup", type=int, default=1,
                        help="untimed calls after the first one")
    parser.add_argument("--logical_gpu_memory_mb", type=int, default=4096,
                        help="memory of each of the two logical GPUs a single "
                        "GPU is split into for the MirroredStrategy check")
    parser.add_argument("--mirrored_child", default=None,
                        help=argparse.SUPPRESS)  # internal: rows JSON path
    args = parser.parse_args()
    args.checks = [c for c in args.checks.split(",") if c]
    unknown = sorted(set(args.checks) - set(CHECKS))
    if unknown:
        parser.error(f"--checks: unknown {', '.join(unknown)}")
    return args


def run_checks(args, report, strategy, device):
    with tempfile.TemporaryDirectory() as workdir:
        if "golden" in args.checks:
            with report.guard("golden fp32 forward"):
                check_golden(report, device)
        if "precision" in args.checks:
            with report.guard("train steps per precision"):
                config = check_model_config()
                init = write_init_checkpoint(config, workdir)
                check_precisions(report, config, init, workdir)
        if "fused" in args.checks:
            check_fused(report, device)
        if "tpu" in args.checks:
            check_tpu(report, strategy, os.path.join(workdir, "tpu"))


def main():
    args = parse_args()
    if args.mirrored_child:
        mirrored_child_main(args)
        return 0
    start = time.perf_counter()
    report = Report()
    # First, while this process has not yet started TensorFlow's devices
    # (and taken the GPU's memory).
    if "mirrored" in args.checks:
        run_mirrored_child(args, report)
    strategy = distribution.auto_strategy()
    lines, auto_precision = device_lines(strategy)
    print("\n".join(lines))
    device = accelerator()
    run_checks(args, report, strategy, device)
    print("\n== Checks ==")
    print(report.table())
    if not args.skip_benchmarks:
        on_cpu = device.endswith("CPU:0")
        args.batch_size = args.batch_size or (2 if on_cpu else 32)
        args.steps = args.steps or (2 if on_cpu else 10)
        with report.guard("benchmarks"):
            title, table = run_benchmarks(args, strategy, auto_precision)
            print(f"\n{title}\n{table}")
    failed = report.failed
    print(f"\n{len(report.rows) - len(failed)} of {len(report.rows)} checks "
          f"passed, {len(failed)} failed; {time.perf_counter() - start:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
