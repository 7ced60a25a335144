"""Builds small run_pretraining inputs from the tiny-model golden batch."""

import json
import os
import subprocess
import sys

import numpy as np
import tensorflow as tf

from tests.conftest import REPO
from tests.conftest import testdata


# The golden batch's shape: 16 tokens, 5 masked positions per example.
GOLDEN_SHAPE = dict(max_seq_length=16, max_predictions_per_seq=5)

INT_FEATURES = (
    "input_ids",
    "input_mask",
    "segment_ids",
    "masked_lm_positions",
    "masked_lm_ids",
    "next_sentence_labels",
)


def golden_batch():
    return dict(np.load(testdata("tiny_model", "golden_outputs.npz")))


def write_golden_batch(path, repeat=1):
    """The 3 golden examples (seq 16, 5 predictions) as a TFRecord file."""
    golden = golden_batch()
    with tf.io.TFRecordWriter(path) as writer:
        for _ in range(repeat):
            for i in range(3):
                feature = {
                    k: tf.train.Feature(
                        int64_list=tf.train.Int64List(value=golden[k][i].reshape(-1))
                    )
                    for k in INT_FEATURES
                }
                feature["masked_lm_weights"] = tf.train.Feature(
                    float_list=tf.train.FloatList(value=golden["masked_lm_weights"][i])
                )
                example = tf.train.Example(features=tf.train.Features(feature=feature))
                writer.write(example.SerializeToString())
    return path


def tiny_config_without_dropout(directory):
    """The tiny model's config with dropout 0, so training = eval math."""
    with open(testdata("tiny_model", "bert_config.json")) as f:
        config = json.load(f)
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    path = os.path.join(directory, "bert_config.json")
    with open(path, "w") as f:
        json.dump(config, f)
    return path


def run_pretraining_command(tmp_path, output_dir, **flags):
    """`run_pretraining.py` training the tiny model on the golden batch.

    `tmp_path` must hold `batch.tfrecord`; `flags` add or override flags.
    """
    settings = {
        "bert_config_file": tiny_config_without_dropout(str(tmp_path)),
        "input_file": tmp_path / "batch.tfrecord",
        "output_dir": output_dir,
        "init_checkpoint": testdata("tiny_model", "bert_model.ckpt"),
        **GOLDEN_SHAPE,
        "do_train": True,
        "iterations_per_loop": 1,
        "precision": "fp32",
    }
    settings.update(flags)
    return [sys.executable, os.path.join(REPO, "run_pretraining.py")] + [
        f"--{name}={value}" for name, value in settings.items()
    ]


def run_to_the_end(command):
    """Runs a script subprocess (CPU only) and returns its CompletedProcess,
    failing with the tail of its stderr unless it exits 0."""
    process = subprocess.run(
        command, env=subprocess_env(), capture_output=True, text=True,
        timeout=300,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    return process


def subprocess_env(tf_config=None):
    """The environment of a script subprocess: the repo on the path, CPU only
    (two workers on one machine must not both take its GPU)."""
    env = dict(os.environ, PYTHONPATH=REPO, CUDA_VISIBLE_DEVICES="")
    env.pop("TF_CONFIG", None)
    if tf_config:
        env["TF_CONFIG"] = json.dumps(tf_config)
    return env
