"""A run_pretraining.py process killed with SIGKILL, again and again, resumes
where it left off and ends exactly where an uninterrupted run ends.

The soak run uses the tiny model's own config (dropout 0.1) with gradient
accumulation over 2 batches; it is killed at seeded random moments, several
times, and restarted with the same command each time. Each kill comes once
the run has written a new checkpoint, a random fraction of a checkpoint
interval later (so some land while the next one is being written): start-up
takes most of a tiny run, and a kill timed from the start would often come
after a resumed run had already finished. The final checkpoint's files must
equal the uninterrupted run's byte for byte.
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


def _latest_checkpoint(output_dir):
    return tf.train.latest_checkpoint(str(output_dir))


def _kill_during(command, output_dir, seconds_after_checkpoint):
    """Starts `command`; SIGKILLs it that long after its first new checkpoint.

    Returns the exit code: -SIGKILL when the kill interrupted the run.
    """
    before = _latest_checkpoint(output_dir)
    process = subprocess.Popen(
        command, env=helpers.subprocess_env(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    while process.poll() is None and _latest_checkpoint(output_dir) == before:
        time.sleep(0.02)
    try:
        process.wait(timeout=seconds_after_checkpoint)
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
    straight_dir = tmp_path / "straight"
    helpers.run_to_the_end(_command(tmp_path, straight_dir))
    # From the uninterrupted run's checkpoint times: one interval's length.
    saved = sorted(
        os.path.getmtime(straight_dir / name)
        for name in os.listdir(straight_dir) if name.endswith(".index")
    )
    interval = (saved[-1] - saved[0]) / (len(saved) - 1)

    killed_dir = tmp_path / "killed"
    rng = random.Random(1234)
    kills = 0
    for _ in range(KILLS):
        returncode = _kill_during(
            _command(tmp_path, killed_dir), killed_dir,
            rng.uniform(0.0, 1.0) * interval,
        )
        kills += returncode == -signal.SIGKILL
    assert kills >= 3  # most attempts must really interrupt a run
    interrupted = int(_latest_checkpoint(killed_dir).rsplit("-", 1)[1])
    assert interrupted < STEPS
    resumed = helpers.run_to_the_end(_command(tmp_path, killed_dir))
    latest = tf.train.latest_checkpoint(str(killed_dir))
    assert latest.endswith(f"model.ckpt-{STEPS}")
    assert _files(latest) == _files(str(tmp_path / "straight" / f"model.ckpt-{STEPS}"))
    # No temporaries or lock left behind.
    assert not [n for n in os.listdir(killed_dir) if n.startswith(".")], resumed.stderr[-2000:]
