"""Strategy selection from the runners' TPU flags and the environment."""

import pytest
import tensorflow as tf

from bert_tf import distribution


class _ResolverCalled(Exception):
    pass


@pytest.fixture
def resolver_arguments(monkeypatch):
    """The keyword arguments TPUClusterResolver gets (and stops there)."""
    seen = {}

    def fake_resolver(**kwargs):
        seen.update(kwargs)
        raise _ResolverCalled()

    monkeypatch.setattr(
        tf.distribute.cluster_resolver, "TPUClusterResolver", fake_resolver
    )
    return seen


@pytest.mark.parametrize(
    "flags, expected",
    [
        (
            dict(tpu_name="my-tpu", tpu_zone="us-central1-b", gcp_project="p"),
            dict(tpu="my-tpu", zone="us-central1-b", project="p", job_name="worker"),
        ),
        (
            dict(master="grpc://10.0.0.2:8470", tpu_job_name="tpu_worker"),
            dict(tpu="grpc://10.0.0.2:8470", zone=None, project=None,
                 job_name="tpu_worker"),
        ),
    ],
)
def test_tpu_flags_reach_the_resolver(resolver_arguments, flags, expected):
    with pytest.raises(_ResolverCalled):
        distribution.get_strategy(use_tpu=True, **flags)
    assert resolver_arguments == expected


def test_default_strategy_without_tpu_workers_or_gpus(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    strategy = distribution.get_strategy()
    assert strategy is tf.distribute.get_strategy()
    assert strategy.num_replicas_in_sync == 1


@pytest.mark.parametrize("hardware, precision, reason", [
    (distribution.Hardware(num_tpu_devices=8), "bf16", "TPUs compute in bfloat16"),
    (distribution.Hardware(gpu_capabilities=((8, 0), (9, 0))), "bf16",
     "GPUs of compute capability 8.0 have bfloat16 units"),
    # A T4 (7.5) beside an A100: the slowest decides, float16 for both.
    (distribution.Hardware(gpu_capabilities=((8, 0), (7, 5))), "fp16",
     "a GPU of compute capability 7.5 has float16 units but no bfloat16 ones; "
     "float16 with dynamic loss scaling"),
    (distribution.Hardware(gpu_capabilities=((7, 0),), cpu_has_bf16=True), "fp16",
     "a GPU of compute capability 7.0 has float16 units but no bfloat16 ones; "
     "float16 with dynamic loss scaling"),
    (distribution.Hardware(cpu_has_bf16=True), "bf16",
     "the CPU has AVX-512 BF16 or AMX"),
    (distribution.Hardware(), "fp32",
     "no accelerator and no bfloat16 instructions on the CPU"),
])
def test_auto_precision_follows_the_hardware(hardware, precision, reason):
    assert distribution.choose_precision(hardware) == (precision, reason)


def test_auto_strategy_takes_this_tpu_vms_chips(monkeypatch, resolver_arguments):
    monkeypatch.delenv("TPU_NAME", raising=False)
    monkeypatch.setattr(distribution, "tpu_vm_devices", lambda: ["/dev/accel0"])
    with pytest.raises(_ResolverCalled):
        distribution.auto_strategy()
    assert resolver_arguments["tpu"] == "local"
    monkeypatch.setenv("TPU_NAME", "my-tpu")
    with pytest.raises(_ResolverCalled):
        distribution.auto_strategy()
    assert resolver_arguments["tpu"] == "my-tpu"
