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
