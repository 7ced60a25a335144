"""Two workers on 127.0.0.1 train exactly like one worker on the global batch.

Each worker is a real `run_pretraining.py` process with its own TF_CONFIG;
MultiWorkerMirroredStrategy's collectives run over local ports. The losses
of every step and the final weights are compared with a single-process run
with the same global batch, seed and data order; and a pair restarted from
a middle checkpoint ends exactly where the uninterrupted pair ended.
"""

import re
import shutil
import socket
import subprocess

import numpy as np
import pytest
import tensorflow as tf

from bert_tf import checkpoints
from tests.conftest import testdata
from tests.pretraining import pretraining_helpers as helpers

STEPS = 3


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _command(tmp_path, output_dir, **flags):
    return helpers.run_pretraining_command(
        tmp_path, output_dir, train_batch_size=4, num_train_steps=STEPS,
        num_warmup_steps=1, learning_rate=0.01, save_checkpoints_steps=1,
        random_seed=5, **flags,
    )


def _losses(log):
    return [float(x) for x in re.findall(r"step = \d+/\d+, loss = ([0-9.]+)", log)]


def _run_two_workers(tmp_path, output_dir, **flags):
    """Both workers' logs, after each exited 0."""
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    workers = [
        subprocess.Popen(
            _command(tmp_path, output_dir, **flags),
            env=helpers.subprocess_env({"cluster": cluster, "task": {"type": "worker", "index": i}}),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for i in range(2)
    ]
    logs = [w.communicate(timeout=300)[0] for w in workers]
    for w, log in zip(workers, logs):
        assert w.returncode == 0, log[-3000:]
    return logs


@pytest.mark.slow
def test_two_workers_match_one_and_resume_exactly(tmp_path):
    helpers.write_golden_batch(str(tmp_path / "batch.tfrecord"), repeat=4)
    single = helpers.run_to_the_end(_command(tmp_path, tmp_path / "single"))
    logs = _run_two_workers(tmp_path, tmp_path / "multi")
    strategies = [re.findall(r"Running on (\w+) with (\d+) replica", log) for log in logs]
    # MultiWorkerMirroredStrategy reports its class name, CollectiveAllReduceStrategy.
    assert strategies == [[("CollectiveAllReduceStrategy", "2")]] * 2, logs[0][-3000:]

    expected = _losses(single.stderr)
    assert len(expected) == STEPS
    # Losses are all-reduced sums of per-replica shares: equal up to float32
    # summation order.
    for log in logs:
        np.testing.assert_allclose(_losses(log), expected, rtol=1e-5)
    a = tf.train.load_checkpoint(str(tmp_path / "single" / f"model.ckpt-{STEPS}"))
    b = tf.train.load_checkpoint(str(tmp_path / "multi" / f"model.ckpt-{STEPS}"))
    # Adam divides by sqrt(v): for near-zero gradients the float32 summation
    # order of two replicas can move an update by a few ulps of lr.
    for name in a.get_variable_to_shape_map():
        np.testing.assert_allclose(
            a.get_tensor(name), b.get_tensor(name), atol=2e-5, err_msg=name
        )

    _assert_resumed_pair_ends_where(tmp_path, tmp_path / "multi")


def _assert_resumed_pair_ends_where(tmp_path, uninterrupted, **flags):
    """Two workers restarted from step 1 (what a killed pair leaves) end
    exactly where the `uninterrupted` pair ended."""
    resumed = tmp_path / f"resumed_{uninterrupted.name}"
    resumed.mkdir()
    for path in uninterrupted.glob("model.ckpt-1.*"):
        shutil.copy(path, resumed)
    checkpoints.write_checkpoint_state(str(resumed), ["model.ckpt-1"])
    _run_two_workers(tmp_path, resumed, **flags)
    b = tf.train.load_checkpoint(str(uninterrupted / f"model.ckpt-{STEPS}"))
    c = tf.train.load_checkpoint(str(resumed / f"model.ckpt-{STEPS}"))
    for name in b.get_variable_to_shape_map():
        np.testing.assert_array_equal(b.get_tensor(name), c.get_tensor(name), err_msg=name)


@pytest.mark.slow
def test_two_workers_with_dropout_resume_exactly(tmp_path):
    # Each worker draws its own dropout masks; the chief's checkpoint holds
    # its generators' states, which every worker restores. Exact only if the
    # workers' generators advance alike, which this checks.
    helpers.write_golden_batch(str(tmp_path / "batch.tfrecord"), repeat=4)
    dropout = {"bert_config_file": testdata("tiny_model", "bert_config.json")}
    _run_two_workers(tmp_path, tmp_path / "multi", **dropout)
    _assert_resumed_pair_ends_where(tmp_path, tmp_path / "multi", **dropout)
