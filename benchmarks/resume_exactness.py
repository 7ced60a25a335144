"""How exactly a restarted run_pretraining.py continues an interrupted one.

Not a speed table: the resume table of issue #11. For each setting, one
run_pretraining.py process trains the tiny test model on the golden batch
for 8 steps (fp32 unless stated, lr 1e-2, a checkpoint every step, the
last 5 kept); a second directory gets only that run's checkpoint of step N,
which is what a run killed after step N leaves, and the same command is run
there again. The table gives the largest absolute difference between the
two final checkpoints over every tensor (weights, Adam slots, the rest):
0.0 means bit for bit. A kill in the middle of an accumulation resumes from
the last update boundary; tests/pretraining/kill_resume_test.py kills at
random moments.

Run: `.venv/bin/python benchmarks/resume_exactness.py` (about 3 minutes on
2 cores).
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import tensorflow as tf

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bert_tf import checkpoints  # noqa: E402
from tests.pretraining import pretraining_helpers as helpers  # noqa: E402

STEPS = 8
SETTINGS = [
    # (name, dropout, gradient_accumulation_steps, precision)
    ("dropout off, no accumulation", 0.0, 1, "fp32"),
    ("dropout 0.1, no accumulation", 0.1, 1, "fp32"),
    ("dropout off, accumulation 2", 0.0, 2, "fp32"),
    ("dropout 0.1, accumulation 2", 0.1, 2, "fp32"),
    ("dropout 0.1, bf16", 0.1, 1, "bf16"),
    ("dropout 0.1, fp16", 0.1, 1, "fp16"),
]


def _config(directory, dropout):
    with open(REPO / "tests/testdata/tiny_model/bert_config.json") as f:
        config = json.load(f)
    config.update(hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout)
    path = directory / f"bert_config_{dropout}.json"
    path.write_text(json.dumps(config))
    return path


def _run(work, output_dir, dropout, accumulation, precision):
    command = helpers.run_pretraining_command(
        work, output_dir, bert_config_file=_config(work, dropout),
        train_batch_size=2, num_train_steps=STEPS, num_warmup_steps=2,
        learning_rate=0.01, save_checkpoints_steps=1,
        gradient_accumulation_steps=accumulation, precision=precision,
        random_seed=7,
    )
    helpers.run_to_the_end(command)


def _max_difference(a_prefix, b_prefix):
    a, b = tf.train.load_checkpoint(a_prefix), tf.train.load_checkpoint(b_prefix)
    assert a.get_variable_to_shape_map() == b.get_variable_to_shape_map()
    return max(
        float(np.max(np.abs(a.get_tensor(n).astype(np.float64)
                            - b.get_tensor(n).astype(np.float64)), initial=0.0))
        for n in a.get_variable_to_shape_map()
    )


def main():
    work = pathlib.Path(tempfile.mkdtemp())
    helpers.write_golden_batch(str(work / "batch.tfrecord"), repeat=6)
    print("| setting | resumed at step 4 | resumed at step 5 |")
    print("| --- | --- | --- |")
    for name, dropout, accumulation, precision in SETTINGS:
        straight = work / f"straight_{name}"
        _run(work, straight, dropout, accumulation, precision)
        cells = []
        for stop in (4, 5):
            resumed = work / f"resumed_{name}_{stop}"
            resumed.mkdir()
            for path in straight.glob(f"model.ckpt-{stop}.*"):
                shutil.copy(path, resumed)
            checkpoints.write_checkpoint_state(str(resumed), [f"model.ckpt-{stop}"])
            _run(work, resumed, dropout, accumulation, precision)
            cells.append(_max_difference(
                str(straight / f"model.ckpt-{STEPS}"),
                str(resumed / f"model.ckpt-{STEPS}"),
            ))
        print(f"| {name} | {cells[0]} | {cells[1]} |", flush=True)
    shutil.rmtree(work)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
