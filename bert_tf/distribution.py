"""Strategy and precision selection for the runners.

The original scripts ran on one device (CPU, one GPU) or a TPU through
TPUEstimator. Here the same flags pick a `tf.distribute` strategy:
`--use_tpu` gives TPUStrategy, a `TF_CONFIG` naming several workers gives
MultiWorkerMirroredStrategy, several visible GPUs give MirroredStrategy, and
otherwise the default strategy runs on the one device. `auto_strategy`
(notebooks) also finds a TPU VM's own chips.

`--precision=auto` picks what the hardware computes fastest in
(`choose_precision`): bfloat16 on TPUs, Ampere+ GPUs and CPUs with
bfloat16 instructions; float16 with dynamic loss scaling on older GPUs;
float32 elsewhere. Both choices are logged with their reason.
"""

import contextlib
import dataclasses
import json
import os

import keras
import tensorflow as tf
from absl import logging

from bert_tf import errors

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
_POLICIES = {"fp32": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}


def _num_workers_in_tf_config():
    tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    cluster = tf_config.get("cluster", {})
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))


def get_strategy(
    use_tpu=False,
    tpu_name=None,
    tpu_zone=None,
    gcp_project=None,
    master=None,
    tpu_job_name=None,
):
    """The `tf.distribute.Strategy` the flags and the environment ask for.

    `tpu_job_name` (the bert-tensorflow 1.0.4 wheel's run_classifier flag)
    names the TPU workers' job; None keeps the resolver's "worker".
    """
    if use_tpu:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
            tpu=tpu_name or master or "",
            zone=tpu_zone,
            project=gcp_project,
            job_name=tpu_job_name or "worker",
        )
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        strategy = tf.distribute.TPUStrategy(resolver)
        reason = f"--use_tpu, TPU {tpu_name or master or 'from the environment'}"
    elif _num_workers_in_tf_config() > 1:
        # Before anything lists devices: that starts TensorFlow's context,
        # and collective ops must be configured before it starts.
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        reason = "TF_CONFIG names several workers"
    elif (num_gpus := len(tf.config.list_logical_devices("GPU"))) > 1:
        strategy = tf.distribute.MirroredStrategy()
        reason = f"{num_gpus} GPUs are visible"
    else:
        strategy = tf.distribute.get_strategy()
        reason = "one GPU" if num_gpus else "no GPU or TPU: the CPU"
    logging.info(
        "Running on %s with %d replica(s): %s",
        type(strategy).__name__,
        strategy.num_replicas_in_sync,
        reason,
    )
    return strategy


def tpu_vm_devices():
    """The TPU chips of this TPU VM (Colab's TPU runtime is one); [] elsewhere.

    TPU VMs expose their chips as /dev/accel* (v2-v4) or /dev/vfio/<n> (v5
    and later). Asking a TPU resolver blindly instead can block on the GCE
    metadata server.
    """
    return tf.io.gfile.glob("/dev/accel*") + tf.io.gfile.glob("/dev/vfio/[0-9]*")


def auto_strategy():
    """For notebooks: the strategy for the hardware that is there.

    A TPU named by `TPU_NAME`, or this TPU VM's own chips
    (`TPUClusterResolver("local")`, as Colab's TPU runtime is now a TPU VM);
    else `get_strategy()`: several GPUs, several workers, or one device.
    The choice and its reason are logged.
    """
    if os.environ.get("TPU_NAME"):
        logging.info("TPU_NAME=%s is set: using that TPU", os.environ["TPU_NAME"])
        return get_strategy(use_tpu=True, tpu_name=os.environ["TPU_NAME"])
    devices = tpu_vm_devices()
    if devices:
        logging.info("TPU chips at %s: using this TPU VM's TPU", ", ".join(devices))
        return get_strategy(use_tpu=True, tpu_name="local")
    return get_strategy()


def global_sum(value):
    """Sum of `value` (a tensor or nest) over all replicas, in replica context.

    On one device it is the value itself. IndexedSlices are gathered, not
    added, as the original measured them.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    return context.all_reduce(tf.distribute.ReduceOp.SUM, value)


def is_chief(strategy):
    """Whether this process writes checkpoints and result files."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


@dataclasses.dataclass(frozen=True)
class Hardware:
    """What precision choice depends on: the accelerators and the CPU."""

    num_tpu_devices: int = 0
    gpu_capabilities: tuple = ()  # (major, minor) compute capability per GPU
    cpu_has_bf16: bool = False  # AVX-512 BF16 or AMX


def detect_hardware():
    """The `Hardware` of this machine (GPUs and TPUs as TensorFlow sees them)."""
    gpus = tf.config.list_physical_devices("GPU")
    capabilities = tuple(
        tuple(tf.config.experimental.get_device_details(g).get(
            "compute_capability", (0, 0)))
        for g in gpus
    )
    try:
        with open("/proc/cpuinfo") as f:
            cpu_flags = f.read()
    except OSError:
        cpu_flags = ""
    return Hardware(
        num_tpu_devices=len(tf.config.list_logical_devices("TPU")),
        gpu_capabilities=capabilities,
        cpu_has_bf16="avx512_bf16" in cpu_flags or "amx_bf16" in cpu_flags,
    )


def choose_precision(hardware):
    """(precision, reason): what `--precision=auto` picks on `hardware`.

    bfloat16 where the hardware computes in it (TPUs, GPUs of compute
    capability 8.0 and up, CPUs with AVX-512 BF16 or AMX). Older GPUs (T4,
    V100, P100) have float16 units only: fp16, with dynamic loss scaling.
    Other CPUs: fp32.
    """
    if hardware.num_tpu_devices:
        return "bf16", "TPUs compute in bfloat16"
    if hardware.gpu_capabilities:
        oldest = min(hardware.gpu_capabilities)
        if oldest >= (8, 0):
            return "bf16", f"GPUs of compute capability {oldest[0]}.{oldest[1]} have bfloat16 units"
        return "fp16", (
            f"a GPU of compute capability {oldest[0]}.{oldest[1]} has float16 "
            "units but no bfloat16 ones; float16 with dynamic loss scaling"
        )
    if hardware.cpu_has_bf16:
        return "bf16", "the CPU has AVX-512 BF16 or AMX"
    return "fp32", "no accelerator and no bfloat16 instructions on the CPU"


def resolve_precision(precision):
    """Maps the `--precision` flag to fp32 / bf16 / fp16 on this machine."""
    if precision not in PRECISIONS:
        raise errors.UserInputError(
            f"--precision={precision!r}: expected one of {', '.join(PRECISIONS)}"
        )
    if precision == "auto":
        precision, reason = choose_precision(detect_hardware())
        logging.info("--precision=auto: %s, as %s", precision, reason)
    return precision


def inference_dtype_policy():
    """The dtype policy for models that only run forward passes.

    Under mixed bfloat16 the variables themselves are bfloat16: mixed
    precision keeps float32 variables for the optimizer's sake and casts
    every weight on every call, which costs about 7% of a BERT-Base forward
    pass on a 2-core AVX-512 CPU. LayerNorm and softmax still compute in
    float32. Other policies are used as they are.
    """
    policy = keras.mixed_precision.global_policy().name
    return "bfloat16" if policy == "mixed_bfloat16" else policy


@contextlib.contextmanager
def dtype_policy(policy):
    """Sets the global Keras dtype policy for the models built inside."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def set_precision(precision):
    """Sets the Keras dtype policy for models built afterwards."""
    precision = resolve_precision(precision)
    # fp32 is the exact mode: no TF32 matmuls on Ampere+ GPUs either.
    tf.config.experimental.enable_tensor_float_32_execution(precision != "fp32")
    keras.mixed_precision.set_global_policy(_POLICIES[precision])
    logging.info("Precision: %s (Keras policy %s)", precision, _POLICIES[precision])
    return precision
