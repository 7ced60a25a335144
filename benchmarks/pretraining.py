"""Pretraining step throughput: bert_tf's runner against KerasHub's.

Times train steps (forward, backward, optimizer update) at a small config
(default L=4 H=256 A=4 I=1024, vocab 30522, seq 128, batch 32, 20
predictions per sequence) on synthetic batches held in memory:

* bert_tf: the runner path users get from run_pretraining.py:
  `Estimator` + `PretrainingTask` (masked LM + next sentence, AdamW with the
  reference's warmup/decay schedule and global-norm clipping), fp32 and
  mixed bf16, `jit_compile` (--use_xla) off and on. The runner's own
  compiled train loop (`iterations_per_loop` steps per call) is driven
  directly through its private `_ensure_training_model` / `_train_loop_function` /
  `_distribute`, so that no checkpoint is written between timed calls.
* KerasHub `BertMaskedLM` (the peer) on a `BertBackbone` of the same shape,
  its preprocessing off (token_ids / padding_mask / segment_ids /
  mask_positions fed directly), compiled with its own defaults (Adam,
  sparse cross-entropy, weighted accuracy) plus `jit_compile`, stepped with
  `train_on_batch`. It has no next-sentence head.

Variants run interleaved (see `common.interleave`); each timed call runs
`--steps` train steps; the table shows the median over `--repeats` calls
and "CPU ms/step", this process's CPU time (less disturbed than wall time
by other processes on a shared machine).
"first step" is the first call with a single step: tracing, XLA
compilation and one step. "build" is model plus optimizer creation
(plus `compile` for KerasHub).

Usage: python benchmarks/pretraining.py [--repeats=7] [--steps=1]
"""

import argparse
import os
import sys
import tempfile
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, _ROOT)

import keras  # noqa: E402
import keras_hub  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks import common  # noqa: E402
from bert_tf import distribution  # noqa: E402
from bert_tf import estimator  # noqa: E402
from bert_tf.config import BertConfig  # noqa: E402
from bert_tf.pretraining.task import PretrainingTask  # noqa: E402

POLICIES = {"fp32": "float32", "bf16": "mixed_bfloat16"}
NUM_BATCHES = 4  # distinct synthetic batches, cycled


def synthetic_features(args, seed=0):
    """run_pretraining features for NUM_BATCHES batches, as numpy arrays.

    Each row has a random length in [seq/2, seq], ~15% of its tokens (at most
    `max_predictions`) masked at distinct positions, zero-padded slots with
    weight 0, and a random next-sentence label.
    """
    rng = np.random.default_rng(seed)
    rows = NUM_BATCHES * args.batch_size
    seq, preds = args.seq_length, args.max_predictions
    lengths = rng.integers(seq // 2, seq + 1, size=rows)
    slots = np.arange(seq)[None, :]
    input_mask = (slots < lengths[:, None]).astype("int32")
    input_ids = rng.integers(1000, args.vocab_size, size=(rows, seq)) * input_mask
    segment_ids = (slots >= lengths[:, None] // 2) * input_mask
    positions = np.zeros((rows, preds), "int32")
    weights = np.zeros((rows, preds), "float32")
    for row, length in enumerate(lengths):
        count = min(preds, max(1, int(round(length * 0.15))))
        chosen = np.sort(rng.choice(np.arange(1, length), count, replace=False))
        positions[row, :count] = chosen
        weights[row, :count] = 1.0
    masked_ids = np.take_along_axis(input_ids, positions, axis=1) * (weights > 0)
    return {
        "input_ids": input_ids.astype("int32"),
        "input_mask": input_mask,
        "segment_ids": segment_ids.astype("int32"),
        "masked_lm_positions": positions,
        "masked_lm_ids": masked_ids.astype("int32"),
        "masked_lm_weights": weights,
        "next_sentence_labels": rng.integers(0, 2, size=(rows, 1)).astype("int32"),
    }


class RunnerVariant:
    """bert_tf's Estimator + PretrainingTask, driven step by step."""

    def __init__(self, config, precision, xla, features, args, model_dir):
        keras.mixed_precision.set_global_policy(POLICIES[precision])
        try:
            task = PretrainingTask(
                bert_config=config, num_train_steps=100000, num_warmup_steps=10000
            )
            self.runner = estimator.Estimator(
                task,
                estimator.RunConfig(
                    model_dir=model_dir,
                    iterations_per_loop=args.steps,
                    jit_compile=xla,
                ),
            )
            start = time.perf_counter()
            # What Estimator.train does before its loop, minus the restore
            # (there is no checkpoint to read) and the final save.
            self.runner._ensure_training_model()
            self.build_seconds = time.perf_counter() - start
        finally:
            keras.mixed_precision.set_global_policy("float32")
        dataset = tf.data.Dataset.from_tensor_slices(features)
        dataset = dataset.batch(args.batch_size, drop_remainder=True).repeat()
        self.iterator = iter(self.runner._distribute(dataset))
        self.train_loop = self.runner._train_loop_function()
        self.steps = args.steps

    def run(self, steps=None):
        loss = self.train_loop(self.iterator, tf.constant(steps or self.steps))
        return float(loss)


class HubVariant:
    """KerasHub BertMaskedLM.train_on_batch on the same batches."""

    def __init__(self, config, precision, xla, features, args):
        start = time.perf_counter()
        backbone = common.keras_hub_backbone(config, dtype=POLICIES[precision])
        self.model = keras_hub.models.BertMaskedLM(backbone, preprocessor=None)
        self.model.compile(jit_compile=xla)
        self.build_seconds = time.perf_counter() - start
        self.batches = []
        for i in range(NUM_BATCHES):
            rows = slice(i * args.batch_size, (i + 1) * args.batch_size)
            batch = {k: tf.constant(v[rows]) for k, v in features.items()}
            x = {
                "token_ids": batch["input_ids"],
                "padding_mask": batch["input_mask"],
                "segment_ids": batch["segment_ids"],
                "mask_positions": batch["masked_lm_positions"],
            }
            self.batches.append(
                (x, batch["masked_lm_ids"], batch["masked_lm_weights"])
            )
        self.next_batch = 0
        self.steps = args.steps

    def run(self, steps=None):
        for _ in range(steps or self.steps):
            x, y, weights = self.batches[self.next_batch]
            self.next_batch = (self.next_batch + 1) % NUM_BATCHES
            logs = self.model.train_on_batch(x, y, weights, return_dict=True)
        return logs["loss"]


def build_variants(config, features, args, model_dir):
    """{name: RunnerVariant or HubVariant}, those that --variants selects."""
    variants = {}
    for family in ("bert_tf runner", "keras_hub"):
        for precision in ("fp32", "bf16"):
            for xla in (False, True):
                name = f"{family} {precision}" + (" XLA" if xla else "")
                if args.variants and not any(v in name for v in args.variants):
                    continue
                if family == "keras_hub":
                    variants[name] = HubVariant(
                        config, precision, xla, features, args
                    )
                else:
                    variants[name] = RunnerVariant(
                        config, precision, xla, features, args,
                        os.path.join(model_dir, name.replace(" ", "_")),
                    )
    return variants


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--intermediate", type=int, default=1024)
    parser.add_argument("--vocab_size", type=int, default=30522)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--seq_length", type=int, default=128)
    parser.add_argument("--max_predictions", type=int, default=20)
    parser.add_argument("--steps", type=int, default=1,
                        help="train steps per timed call")
    common.add_timing_arguments(parser)
    return parser.parse_args()


def main():
    # BertMaskedLM has no next-sentence head, so its pooler gets no
    # gradient; Keras warns about that on every trace.
    warnings.filterwarnings("ignore", message="Gradients do not exist")
    args = parse_args()
    config = BertConfig(
        vocab_size=args.vocab_size,
        hidden_size=args.hidden,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        intermediate_size=args.intermediate,
        type_vocab_size=2,
    )
    default_precision = distribution.resolve_precision("auto")
    default_name = f"bert_tf runner {default_precision}"
    print("\n".join(common.machine_lines(default_precision)))
    print(
        f"\n== pretraining step: L={args.layers} H={args.hidden} "
        f"A={args.heads} I={args.intermediate} vocab={args.vocab_size}, "
        f"batch {args.batch_size}, seq {args.seq_length}, "
        f"{args.max_predictions} predictions; {args.steps} steps per call, "
        f"median of {args.repeats} interleaved calls after {args.warmup} "
        "warmup =="
    )
    features = synthetic_features(args)
    with tempfile.TemporaryDirectory() as model_dir:
        variants = build_variants(config, features, args, model_dir)
        first_step = {
            name: common.timed(lambda v=variant: v.run(1))
            for name, variant in variants.items()
        }
        _, times, cpu = common.interleave(
            {name: variant.run for name, variant in variants.items()},
            args.repeats,
            args.warmup,
        )

    def per_step(seconds):
        return {n: [s / args.steps for s in ss] for n, ss in seconds.items()}

    best_hub, rows = common.rows_against_peer(
        per_step(times), per_step(cpu), args.batch_size, default_name
    )
    for name, row in rows.items():
        row.append(f"{first_step[name]:.1f}")
        row.append(f"{variants[name].build_seconds:.1f}")
    print(common.format_table(
        ["variant", "ms/step", "min-max", "examples/s", f"vs {best_hub}",
         "CPU ms/step", "first step s", "build s"],
        list(rows.values()),
    ))


if __name__ == "__main__":
    main()
