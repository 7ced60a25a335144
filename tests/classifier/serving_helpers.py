"""Serves an exported classifier from a fresh Python process."""

import json
import os
import subprocess
import sys

_SERVE = """
import json, sys
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tokenizer's ops)
model = tf.saved_model.load(sys.argv[1])
rows = json.loads(sys.argv[2])
out = model.signatures["serving_default"](
    text_a=tf.constant([r[0] for r in rows]), text_b=tf.constant([r[1] for r in rows]))
print(json.dumps({k: v.numpy().tolist() for k, v in out.items()},
                 default=lambda b: b.decode()))
"""


def serve_in_fresh_process(export_dir, pairs, cwd):
    """Outputs of the SavedModel's signature on (text_a, text_b) pairs.

    The child process imports TensorFlow and tensorflow-text only: bert_tf
    is kept off its path.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-c", _SERVE, export_dir, json.dumps(pairs)],
        capture_output=True, text=True, env=env, cwd=str(cwd), timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
