"""Strategy and precision selection for the runners.

The original scripts ran on one device (CPU, one GPU) or a TPU through
TPUEstimator. Here the same flags pick a `tf.distribute` strategy:
`--use_tpu` gives TPUStrategy, a `TF_CONFIG` naming several workers gives
MultiWorkerMirroredStrategy, several visible GPUs give MirroredStrategy, and
otherwise the default strategy runs on the one device.
"""

import contextlib
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
    elif _num_workers_in_tf_config() > 1:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    elif len(tf.config.list_logical_devices("GPU")) > 1:
        strategy = tf.distribute.MirroredStrategy()
    else:
        strategy = tf.distribute.get_strategy()
    logging.info(
        "Running on %s with %d replica(s)",
        type(strategy).__name__,
        strategy.num_replicas_in_sync,
    )
    return strategy


def _tpu_attached():
    # Asking a TPU resolver blindly can block on the GCE metadata server;
    # these are the signs of a Colab TPU runtime or a TPU VM.
    return bool(
        os.environ.get("COLAB_TPU_ADDR")
        or os.environ.get("TPU_NAME")
        or tf.io.gfile.glob("/dev/accel*")
    )


def auto_strategy():
    """For notebooks: a TPU if one is attached, else `get_strategy()`."""
    if _tpu_attached():
        tpu = os.environ.get("TPU_NAME") or (
            "grpc://" + os.environ["COLAB_TPU_ADDR"]
            if os.environ.get("COLAB_TPU_ADDR")
            else "local"
        )
        return get_strategy(use_tpu=True, tpu_name=tpu)
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


def hardware_supports_bf16():
    """True on TPUs, Ampere+ GPUs and CPUs with AVX-512 BF16 or AMX."""
    if tf.config.list_logical_devices("TPU"):
        return True
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return details.get("compute_capability", (0, 0)) >= (8, 0)
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision):
    """Maps the `--precision` flag to fp32 / bf16 / fp16 on this machine."""
    if precision not in PRECISIONS:
        raise errors.UserInputError(
            f"--precision={precision!r}: expected one of {', '.join(PRECISIONS)}"
        )
    if precision == "auto":
        precision = "bf16" if hardware_supports_bf16() else "fp32"
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
