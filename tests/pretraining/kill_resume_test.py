"""A run_pretraining.py process killed with SIGKILL resumes where it left off.

The killed run restarts from its last checkpoint (weights, Adam slots,
global_step and data position) and ends with the same weights as a run
that was never interrupted. Dropout is off in this config: Keras's dropout
RNG state is not part of the TF1 checkpoint (nor was it in the original), so
with dropout on the resumed run is equally valid but not bit-identical.
"""

import signal
import subprocess
import time

import numpy as np
import pytest
import tensorflow as tf

from tests.pretraining import pretraining_helpers as helpers

STEPS = 40


def _command(tmp_path, output_dir):
    return helpers.run_pretraining_command(
        tmp_path, output_dir, train_batch_size=2, num_train_steps=STEPS,
        num_warmup_steps=2, learning_rate=0.01, save_checkpoints_steps=5,
        random_seed=11,
    )


@pytest.mark.slow
def test_sigkill_then_resume_equals_uninterrupted(tmp_path):
    helpers.write_golden_batch(str(tmp_path / "batch.tfrecord"), repeat=4)
    helpers.run_to_the_end(_command(tmp_path, tmp_path / "straight"))

    killed_dir = tmp_path / "killed"
    process = subprocess.Popen(
        _command(tmp_path, killed_dir), env=helpers.subprocess_env(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
        if tf.train.latest_checkpoint(str(killed_dir)):
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = tf.train.latest_checkpoint(str(killed_dir))
    assert killed_at is not None and not killed_at.endswith(f"-{STEPS}")

    resumed = helpers.run_to_the_end(_command(tmp_path, killed_dir))
    assert f"Restored {killed_at}" in resumed.stderr
    a = tf.train.load_checkpoint(str(tmp_path / "straight" / f"model.ckpt-{STEPS}"))
    b = tf.train.load_checkpoint(str(killed_dir / f"model.ckpt-{STEPS}"))
    for name in a.get_variable_to_shape_map():
        np.testing.assert_array_equal(a.get_tensor(name), b.get_tensor(name), err_msg=name)
