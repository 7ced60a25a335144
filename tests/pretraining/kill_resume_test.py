"""A run_pretraining.py process killed with SIGKILL, again and again, resumes
where it left off and ends exactly where an uninterrupted run ends.

The soak run uses the tiny model's own config (dropout 0.1) with gradient
accumulation over 2 batches; it is killed at seeded random moments, several
times, and restarted with the same command each time. The final checkpoint's
files must equal the uninterrupted run's byte for byte.
"""

import os
import random
import signal
import subprocess
import time

import pytest
import tensorflow as tf

from tests.conftest import testdata
from tests.pretraining import pretraining_helpers as helpers

STEPS = 24
KILLS = 4


def _command(tmp_path, output_dir):
    return helpers.run_pretraining_command(
        tmp_path, output_dir, train_batch_size=2, num_train_steps=STEPS,
        num_warmup_steps=2, learning_rate=0.01, save_checkpoints_steps=3,
        gradient_accumulation_steps=2, random_seed=11,
        bert_config_file=testdata("tiny_model", "bert_config.json"),
    )


def _kill_after(command, seconds):
    """Starts `command` and SIGKILLs it after `seconds` (if still running)."""
    process = subprocess.Popen(
        command, env=helpers.subprocess_env(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
    return process.returncode


def _files(prefix):
    names = (".index", ".data-00000-of-00001")
    return {name: open(prefix + name, "rb").read() for name in names}


@pytest.mark.slow
def test_killed_again_and_again_ends_like_an_uninterrupted_run(tmp_path):
    helpers.write_golden_batch(str(tmp_path / "batch.tfrecord"), repeat=4)
    start = time.time()
    helpers.run_to_the_end(_command(tmp_path, tmp_path / "straight"))
    full_run = time.time() - start

    killed_dir = tmp_path / "killed"
    rng = random.Random(1234)
    kills = 0
    for _ in range(KILLS):
        # Somewhere between start-up and the end of a whole run.
        if _kill_after(_command(tmp_path, killed_dir), rng.uniform(0.3, 1.0) * full_run) == -signal.SIGKILL:
            kills += 1
    assert kills >= 2  # most attempts must really interrupt a run
    resumed = helpers.run_to_the_end(_command(tmp_path, killed_dir))
    latest = tf.train.latest_checkpoint(str(killed_dir))
    assert latest.endswith(f"model.ckpt-{STEPS}")
    assert _files(latest) == _files(str(tmp_path / "straight" / f"model.ckpt-{STEPS}"))
    # No temporaries or lock left behind.
    assert not [n for n in os.listdir(killed_dir) if n.startswith(".")], resumed.stderr[-2000:]
