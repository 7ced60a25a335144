"""What the runner's progress lines and TensorBoard events cost a training step.

The Estimator ends a compiled training loop wherever a progress line is due
(every 100 steps or 30 seconds), then logs and writes four summaries. This
measures that per-loop work against the time of the steps themselves, on a
small model whose steps are fast (the worst case); at BERT-Base a step is
tens of times longer and the share tens of times smaller.

Run: `.venv/bin/python benchmarks/progress_overhead.py`.
"""

import os
import pathlib
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks import common  # noqa: E402
from bert_tf import estimator  # noqa: E402
from bert_tf import progress  # noqa: E402
from bert_tf.config import BertConfig  # noqa: E402
from bert_tf.pretraining.task import PretrainingTask  # noqa: E402

BATCH, SEQ, PREDICTIONS = 8, 32, 5


def _features(vocab_size):
    rng = np.random.default_rng(0)
    return {
        "input_ids": rng.integers(1, vocab_size, (BATCH, SEQ)).astype("int32"),
        "input_mask": np.ones((BATCH, SEQ), "int32"),
        "segment_ids": np.zeros((BATCH, SEQ), "int32"),
        "masked_lm_positions": rng.integers(0, SEQ, (BATCH, PREDICTIONS)).astype("int32"),
        "masked_lm_ids": rng.integers(1, vocab_size, (BATCH, PREDICTIONS)).astype("int32"),
        "masked_lm_weights": np.ones((BATCH, PREDICTIONS), "float32"),
        "next_sentence_labels": rng.integers(0, 2, (BATCH, 1)).astype("int32"),
    }


def main():
    config = BertConfig(vocab_size=1000, hidden_size=64, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=128,
                        max_position_embeddings=64, type_vocab_size=2)
    keras.utils.set_random_seed(0)
    model_dir = tempfile.mkdtemp()
    runner = estimator.Estimator(
        PretrainingTask(config, num_train_steps=10**6, num_warmup_steps=10),
        estimator.RunConfig(model_dir),
    )
    runner._ensure_training_model()
    dataset = tf.data.Dataset.from_tensors(_features(config.vocab_size)).repeat()
    iterator = iter(runner._distribute(dataset))
    loop = runner._train_loop_function()
    float(loop(iterator, tf.constant(5)))  # trace
    monitor = progress.TrainingProgress(0, 10**6, BATCH, summary_dir=model_dir)
    step_ms, loop_ms = [], []
    for _ in range(5):
        start = time.perf_counter()
        float(loop(iterator, tf.constant(200)))
        step_ms.append((time.perf_counter() - start) / 200 * 1e3)
        start = time.perf_counter()
        for i in range(100):
            monitor.loop_done(i + 1, 100, 1.0, 0.5, runner._learning_rate())
        loop_ms.append((time.perf_counter() - start) / 100 * 1e3)
    monitor.close()
    step, per_loop = statistics.median(step_ms), statistics.median(loop_ms)
    print(f"CPU: {common.cpu_model()}; {os.cpu_count()} cores; TensorFlow "
          f"{tf.__version__}, Keras {keras.__version__}; fp32")
    print("| step (L=2 H=64, batch 8, seq 32) | log line + 4 summaries, per loop "
          "| share at 100 steps per loop |")
    print("| --- | --- | --- |")
    print(f"| {step:.2f} ms | {per_loop:.2f} ms | {100 * per_loop / (100 * step):.2f}% |")


if __name__ == "__main__":
    main()
