"""Training step throughput: bert_tf's runner against Google's TF1 graph and
KerasHub, at the shapes users train, beside the machine's matmul rate.

`--shape` picks the model and batch (explicit --layers etc. override it):

* small: L=4 H=256 A=4 I=1024, seq 128, batch 32, 20 predictions;
* base128: BERT-Base (L=12 H=768 A=12 I=3072), seq 128, batch 8, 20
  predictions (run_pretraining's phase 1);
* base512: BERT-Base, seq 512, batch 2, 80 predictions (phase 2).

Vocab 30522 throughout. Variants, timed as train steps (forward, backward,
optimizer update):

* `bert_tf runner <precision> [XLA]`: run_pretraining.py's path,
  `Estimator` + `PretrainingTask` (masked LM + next sentence, AdamW with the
  original's warmup/decay and global-norm clipping), fp32 and mixed bf16, on
  batches held in memory. The runner's own compiled train loop
  (`iterations_per_loop` steps per call) is driven through its private
  `_ensure_training_model` / `_train_loop_function` / `_distribute`, so that
  no checkpoint is written between timed calls.
* `bert_tf runner <precision> input_fn`: the same, fed by the runner's own
  `input_fn` (`pretraining.input_pipeline`) reading TFRecord files on disk,
  so the pipeline's cost (parsing, shuffling, the id check) shows.
* `bert_tf classifier <precision>`: a fine-tuning step, run_classifier.py's
  `ClassifierTask` (2 labels, pooled output), same shape without predictions.
* `AdamW as plain ops: bert_tf [fine-tuning] fp32`: the fp32 runner and
  fine-tuning rows with the optimizer's update traced as separate TF ops
  instead of its XLA kernel (the same results, bit for bit), which shows
  what the kernel saves.
* `tf1 graph [classifier] fp32`: Google's original graph in a TF1 session
  (`benchmarks/tf1_graph.py`), the reference this project replaces.
* `keras_hub <precision> [XLA]`: KerasHub `BertMaskedLM` (no next-sentence
  head; Adam, its own defaults) and `keras_hub classifier <precision>`
  (`BertTextClassifier`), preprocessing off, stepped with `train_on_batch`.
* `matmul 2048 fp32|bf16`: one 2048x2048 @ 2048x2048 `tf.matmul` per call,
  TensorFlow's own matmul rate on this machine in this run. Each training
  row's model FLOP/s (the matmul FLOPs of the step: 3x those of the forward
  pass) is given as a share of both rates. Without AVX-512 BF16 (or AMX) the
  bf16 matmul is emulated and no faster than fp32.

Variants run interleaved (see `common.interleave`); each timed call runs
`--steps` train steps; the table shows the median over `--repeats` calls
and "CPU ms/step", this process's CPU time. "first step" is what a user
waits before training starts: build (model, optimizer, variables; graph and
session for TF1) plus the first call (tracing, XLA compilation, one step).

After the training table, each input pipeline is timed alone (nothing else
running): batches/s of `input_fn` (pretraining, with and without
`--dynamic_masking` and a seed, and the classifier's) against the train
steps/s of the matching bert_tf rows.

Usage: python benchmarks/pretraining.py [--shape=small|base128|base512]
  [--variants=runner,tf1,matmul] [--skip=XLA] [--repeats=7] [--steps=1]
"""

import argparse
import contextlib
import os
import sys
import tempfile
import time
import warnings
from unittest import mock

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, _ROOT)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks import common  # noqa: E402
from benchmarks import tf1_graph  # noqa: E402
from bert_tf import distribution  # noqa: E402
from bert_tf import estimator  # noqa: E402
from bert_tf.classifier import input_pipeline as classifier_input  # noqa: E402
from bert_tf.classifier.task import ClassifierTask  # noqa: E402
from bert_tf.config import BertConfig  # noqa: E402
from bert_tf.optimization import AdamWeightDecay  # noqa: E402
from bert_tf.pretraining import dynamic_masking  # noqa: E402
from bert_tf.pretraining import input_pipeline  # noqa: E402
from bert_tf.pretraining.task import PretrainingTask  # noqa: E402

POLICIES = {"fp32": "float32", "bf16": "mixed_bfloat16"}
SHAPES = {
    "small": dict(layers=4, hidden=256, heads=4, intermediate=1024,
                  batch_size=32, seq_length=128, max_predictions=20),
    "base128": dict(layers=12, hidden=768, heads=12, intermediate=3072,
                    batch_size=8, seq_length=128, max_predictions=20),
    "base512": dict(layers=12, hidden=768, heads=12, intermediate=3072,
                    batch_size=2, seq_length=512, max_predictions=80),
}
NUM_BATCHES = 4  # distinct synthetic batches held in memory, cycled
NUM_FILES = 4  # TFRecord files for the input_fn rows (interleaved by it)
RECORDS_PER_FILE = 256
MATMUL_SIZE = 2048
# The schedule's lengths: the timed steps stay in the warmup, as they would
# early in a real run.
NUM_TRAIN_STEPS, NUM_WARMUP_STEPS = 100000, 10000
# Ids the synthetic data and dynamic masking treat as [CLS], [SEP], [MASK].
CLS_ID, SEP_ID, MASK_ID = 101, 102, 103


def synthetic_features(args, rows, seed=0):
    """run_pretraining features for `rows` examples, as numpy arrays.

    Each row is [CLS] A [SEP] B [SEP] with a random length in [seq/2, seq],
    ~15% of its tokens (at most `max_predictions`) masked at distinct
    positions, zero-padded slots with weight 0, and a random next-sentence
    label. Classifier rows add `label_ids` and `is_real_example`.
    """
    rng = np.random.default_rng(seed)
    seq, preds = args.seq_length, args.max_predictions
    lengths = rng.integers(seq // 2, seq + 1, size=rows)
    slots = np.arange(seq)[None, :]
    input_mask = (slots < lengths[:, None]).astype("int32")
    input_ids = rng.integers(1000, args.vocab_size, size=(rows, seq)) * input_mask
    middle = lengths // 2
    input_ids[:, 0] = CLS_ID
    input_ids[np.arange(rows), middle] = SEP_ID
    input_ids[np.arange(rows), lengths - 1] = SEP_ID
    segment_ids = (slots > middle[:, None]) * input_mask
    positions = np.zeros((rows, preds), "int32")
    weights = np.zeros((rows, preds), "float32")
    for row, length in enumerate(lengths):
        count = min(preds, max(1, int(round(length * 0.15))))
        chosen = np.sort(rng.choice(np.arange(1, length - 1), count, replace=False))
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
        "label_ids": rng.integers(0, 2, size=rows).astype("int32"),
        "is_real_example": np.ones(rows, "int32"),
    }


PRETRAINING_FEATURES = (
    "input_ids", "input_mask", "segment_ids", "masked_lm_positions",
    "masked_lm_ids", "masked_lm_weights", "next_sentence_labels",
)
CLASSIFIER_FEATURES = (
    "input_ids", "input_mask", "segment_ids", "label_ids", "is_real_example",
)


def head_features(features, head):
    names = PRETRAINING_FEATURES if head == "pretraining" else CLASSIFIER_FEATURES
    return {name: features[name] for name in names}


def write_tfrecords(features, paths):
    """Writes the rows of `features` round robin into the files `paths`.

    Masked tokens are written as [MASK], as create_pretraining_data.py does
    (dynamic masking puts the originals back before masking anew).
    """
    rows = len(features["input_ids"])
    writers = [tf.io.TFRecordWriter(path) for path in paths]
    for row in range(rows):
        values = {name: features[name][row] for name in features}
        if "masked_lm_weights" in values:
            ids = values["input_ids"].copy()
            real = values["masked_lm_weights"] > 0
            ids[values["masked_lm_positions"][real]] = MASK_ID
            values["input_ids"] = ids
        feature = {}
        for name, value in values.items():
            value = np.reshape(value, [-1])
            if value.dtype == np.float32:
                feature[name] = tf.train.Feature(
                    float_list=tf.train.FloatList(value=value))
            else:
                feature[name] = tf.train.Feature(
                    int64_list=tf.train.Int64List(value=value))
        example = tf.train.Example(features=tf.train.Features(feature=feature))
        writers[row % len(writers)].write(example.SerializeToString())
    for writer in writers:
        writer.close()


def masking_vocab(vocab_size):
    """A `MaskingVocab` for synthetic ids: every 7th id a ## piece."""
    return dynamic_masking.MaskingVocab(
        CLS_ID, SEP_ID, MASK_ID, tuple(i % 7 == 3 for i in range(vocab_size))
    )


def memory_dataset_fn(features, batch_size, head):
    def dataset_fn():
        dataset = tf.data.Dataset.from_tensor_slices(head_features(features, head))
        return dataset.batch(batch_size, drop_remainder=True).repeat()

    return dataset_fn


def pretraining_input_fn(args, files, seed=None, dynamic=False):
    """The runner's own input_fn, as run_pretraining.py builds it."""
    return input_pipeline.input_fn_builder(
        files, args.seq_length, args.max_predictions, is_training=True,
        batch_size=args.batch_size, seed=seed,
        masking_vocab=masking_vocab(args.vocab_size) if dynamic else None,
        vocab_size=args.vocab_size,
    )


def classifier_input_fn(args, path):
    return classifier_input.file_based_input_fn_builder(
        path, args.seq_length, is_training=True, drop_remainder=True,
        batch_size=args.batch_size, vocab_size=args.vocab_size,
    )


class RunnerVariant:
    """bert_tf's Estimator + a Task, driven loop by loop."""

    def __init__(self, task, precision, xla, dataset_fn, args, model_dir,
                 plain_optimizer=False):
        start = time.perf_counter()
        self.plain_optimizer = plain_optimizer
        keras.mixed_precision.set_global_policy(POLICIES[precision])
        try:
            self.runner = estimator.Estimator(
                task,
                estimator.RunConfig(
                    model_dir=model_dir,
                    iterations_per_loop=args.steps,
                    jit_compile=xla,
                ),
            )
            # What Estimator.train does before its loop, minus the restore
            # (there is no checkpoint to read) and the final save.
            self.runner._ensure_training_model()
        finally:
            keras.mixed_precision.set_global_policy("float32")
        self.iterator = iter(self.runner._distribute(dataset_fn()))
        self.train_loop = self.runner._train_loop_function()
        self.build_seconds = time.perf_counter() - start
        self.steps = args.steps

    def run(self, steps=None):
        # The train loop is traced at its first call, and the optimizer picks
        # its update there.
        with (
            mock.patch.object(AdamWeightDecay, "_runs_as_one_kernel",
                              lambda self, variable: False)
            if self.plain_optimizer else contextlib.nullcontext()
        ):
            loss = self.train_loop(self.iterator,
                                   tf.constant(steps or self.steps))
        return float(loss)


class HubVariant:
    """KerasHub BertMaskedLM / BertTextClassifier.train_on_batch."""

    def __init__(self, config, precision, xla, features, args, head):
        import keras_hub  # pylint: disable=g-import-not-at-top

        start = time.perf_counter()
        backbone = common.keras_hub_backbone(config, dtype=POLICIES[precision])
        if head == "pretraining":
            self.model = keras_hub.models.BertMaskedLM(backbone, preprocessor=None)
        else:
            self.model = keras_hub.models.BertTextClassifier(
                backbone, num_classes=2, preprocessor=None
            )
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
            }
            if head == "pretraining":
                x["mask_positions"] = batch["masked_lm_positions"]
                y = (batch["masked_lm_ids"], batch["masked_lm_weights"])
            else:
                y = (batch["label_ids"], None)
            self.batches.append((x, *y))
        self.next_batch = 0
        self.steps = args.steps

    def run(self, steps=None):
        for _ in range(steps or self.steps):
            x, y, weights = self.batches[self.next_batch]
            self.next_batch = (self.next_batch + 1) % NUM_BATCHES
            logs = self.model.train_on_batch(x, y, weights, return_dict=True)
        return logs["loss"]


class MatmulVariant:
    """One [n, n] @ [n, n] tf.matmul per call, in `dtype`."""

    def __init__(self, dtype, n=MATMUL_SIZE):
        start = time.perf_counter()
        rng = tf.random.Generator.from_seed(0)
        self.a = tf.cast(rng.normal([n, n]), dtype)
        self.b = tf.cast(rng.normal([n, n]), dtype)
        # Only a corner comes back, so the copy out is not timed.
        self.matmul = tf.function(lambda a, b: tf.matmul(a, b)[:1, :1])
        self.build_seconds = time.perf_counter() - start
        self.flops = 2 * n**3

    def run(self, steps=None):
        return self.matmul(self.a, self.b).numpy()


def step_flops(config, args, head):
    """Matmul FLOPs of one train step: 3x the forward pass's.

    Per token and layer the forward pass multiplies by the four attention
    projections (8H^2), the feed-forward pair (4HI) and, for the scores and
    the context, 4SH; the masked-LM head adds a transform (2H^2) and the
    output embedding (2HV) per prediction, the pooler 2H^2 per example.
    """
    h, i, s = config.hidden_size, config.intermediate_size, args.seq_length
    tokens = args.batch_size * s
    forward = config.num_hidden_layers * tokens * (8 * h * h + 4 * h * i + 4 * s * h)
    forward += args.batch_size * 2 * h * h
    if head == "pretraining":
        predictions = args.batch_size * args.max_predictions
        forward += predictions * (2 * h * h + 2 * h * config.vocab_size)
    return 3 * forward


def variant_specs(args):
    """[(name, head, kind, precision, xla)] of every variant, in table order."""
    specs = []
    for precision in ("fp32", "bf16"):
        for xla in (False, True):
            name = f"bert_tf runner {precision}" + (" XLA" if xla else "")
            specs.append((name, "pretraining", "runner", precision, xla))
        specs.append((f"bert_tf runner {precision} input_fn", "pretraining",
                      "runner input_fn", precision, False))
    specs.append(("AdamW as plain ops: bert_tf fp32", "pretraining",
                  "runner plain optimizer", "fp32", False))
    specs.append(("tf1 graph fp32", "pretraining", "tf1", "fp32", False))
    for precision in ("fp32", "bf16"):
        for xla in (False, True):
            name = f"keras_hub {precision}" + (" XLA" if xla else "")
            specs.append((name, "pretraining", "keras_hub", precision, xla))
    for precision in ("fp32", "bf16"):
        specs.append((f"bert_tf classifier {precision}", "classifier", "runner",
                      precision, False))
    specs.append(("AdamW as plain ops: bert_tf fine-tuning fp32", "classifier",
                  "runner plain optimizer", "fp32", False))
    specs.append(("tf1 graph classifier fp32", "classifier", "tf1", "fp32", False))
    for precision in ("fp32", "bf16"):
        specs.append((f"keras_hub classifier {precision}", "classifier",
                      "keras_hub", precision, False))
    selected = []
    for spec in specs:
        name = spec[0]
        if args.variants and not any(v in name for v in args.variants):
            continue
        if any(v in name for v in args.skip):
            continue
        selected.append(spec)
    return selected


def build_variants(config, features, args, data, model_dir):
    """{name: variant} for the selected specs; {name: head}."""
    variants, heads = {}, {}
    for name, head, kind, precision, xla in variant_specs(args):
        heads[name] = head
        if kind == "tf1":
            variants[name] = tf1_graph.Tf1Graph(
                config, memory_dataset_fn(features, args.batch_size, head), head,
                NUM_TRAIN_STEPS, NUM_WARMUP_STEPS, steps=args.steps,
            )
        elif kind == "keras_hub":
            variants[name] = HubVariant(config, precision, xla, features, args, head)
        else:
            if head == "pretraining":
                task = PretrainingTask(
                    bert_config=config, num_train_steps=NUM_TRAIN_STEPS,
                    num_warmup_steps=NUM_WARMUP_STEPS,
                )
            else:
                task = ClassifierTask(
                    bert_config=config, num_labels=2,
                    num_train_steps=NUM_TRAIN_STEPS,
                    num_warmup_steps=NUM_WARMUP_STEPS,
                )
            if kind == "runner input_fn":
                dataset_fn = pretraining_input_fn(args, data["pretraining"])
            else:
                dataset_fn = memory_dataset_fn(features, args.batch_size, head)
            variants[name] = RunnerVariant(
                task, precision, xla, dataset_fn, args,
                os.path.join(model_dir, name.replace(" ", "_").replace(":", "")),
                plain_optimizer=kind == "runner plain optimizer",
            )
    if not args.variants or any("matmul" in v for v in args.variants):
        for precision in ("fp32", "bf16"):
            name = f"matmul {MATMUL_SIZE} {precision}"
            if not any(v in name for v in args.skip):
                variants[name] = MatmulVariant(tf.as_dtype(POLICIES[precision]
                                                           .replace("mixed_", "")))
                heads[name] = "matmul"
    return variants, heads


def pipeline_rates(args, data, repeats):
    """{pipeline name: [batches/s per repeat]} of each input_fn alone."""
    pipelines = {
        "pretraining input_fn": pretraining_input_fn(args, data["pretraining"]),
        "pretraining input_fn, seeded": pretraining_input_fn(
            args, data["pretraining"], seed=0),
        "pretraining input_fn, dynamic masking": pretraining_input_fn(
            args, data["pretraining"], dynamic=True),
        "pretraining input_fn, dynamic masking, seeded": pretraining_input_fn(
            args, data["pretraining"], seed=0, dynamic=True),
        "classifier input_fn": classifier_input_fn(args, data["classifier"]),
    }
    rates = {}
    for name, input_fn in pipelines.items():
        iterator = iter(input_fn())
        for _ in range(args.pipeline_batches // 4):  # warm the buffers
            next(iterator)
        rates[name] = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(args.pipeline_batches):
                next(iterator)
            rates[name].append(args.pipeline_batches / (time.perf_counter() - start))
        del iterator
    return rates


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="small")
    for name in ("layers", "hidden", "heads", "intermediate", "batch_size",
                 "seq_length", "max_predictions"):
        parser.add_argument(f"--{name}", type=int, default=None,
                            help="overrides --shape's")
    parser.add_argument("--vocab_size", type=int, default=30522)
    parser.add_argument("--steps", type=int, default=1,
                        help="train steps per timed call")
    parser.add_argument(
        "--skip", type=lambda text: [v for v in text.split(",") if v],
        default=[], help="comma list of substrings; matching variants do not run",
    )
    parser.add_argument("--pipeline_batches", type=int, default=200,
                        help="batches per timed call of an input_fn alone; "
                        "0: no pipeline table")
    common.add_timing_arguments(parser)
    args = parser.parse_args()
    for name, value in SHAPES[args.shape].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def training_table(variants, heads, times, cpu, first_call, config, args,
                   default_name):
    """The rows of the training table (and the matmul rates), as strings."""
    medians = {name: common.median(t) / args.steps for name, t in times.items()}
    rates = {
        precision: variants[name].flops / medians[name]
        for precision in ("fp32", "bf16")
        if (name := f"matmul {MATMUL_SIZE} {precision}") in medians
    }
    rows = []
    for name, variant in variants.items():
        head = heads[name]
        if head == "matmul":
            continue
        seconds = medians[name]
        peer = ("tf1 graph fp32" if head == "pretraining"
                else "tf1 graph classifier fp32")
        first = variant.build_seconds + first_call[name]
        flop_rate = step_flops(config, args, head) / seconds
        rows.append([
            name + (" (default)" if name == default_name else ""),
            f"{seconds * 1e3:.0f}",
            common.spread(times[name]),
            f"{args.batch_size / seconds:.2f}",
            f"{medians[peer] / seconds:.2f}x" if peer in medians else "-",
            f"{common.median(cpu[name]) / args.steps * 1e3:.0f}",
            f"{flop_rate / 1e9:.1f}",
            *(f"{flop_rate / rates[p]:.0%}" if p in rates else "-"
              for p in ("fp32", "bf16")),
            f"{first:.1f}",
            (f"{first / (variants[peer].build_seconds + first_call[peer]):.2f}x"
             if peer in medians else "-"),
            f"{variant.build_seconds:.1f}",
        ])
    return rows, rates


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
        f"\n== training step, --shape={args.shape}: L={args.layers} "
        f"H={args.hidden} A={args.heads} I={args.intermediate} "
        f"vocab={args.vocab_size}, batch {args.batch_size}, seq "
        f"{args.seq_length}, {args.max_predictions} predictions; {args.steps} "
        f"steps per call, median of {args.repeats} interleaved calls after "
        f"{args.warmup} warmup =="
    )
    features = synthetic_features(args, NUM_BATCHES * args.batch_size)
    with tempfile.TemporaryDirectory() as workdir:
        data = {
            "pretraining": [
                os.path.join(workdir, f"pretraining-{i}.tfrecord")
                for i in range(NUM_FILES)
            ],
            "classifier": os.path.join(workdir, "train.tf_record"),
        }
        records = synthetic_features(args, NUM_FILES * RECORDS_PER_FILE, seed=1)
        write_tfrecords(head_features(records, "pretraining"), data["pretraining"])
        write_tfrecords(head_features(records, "classifier"), [data["classifier"]])
        variants, heads = build_variants(config, features, args, data, workdir)
        first_call = {
            name: common.timed(lambda v=variant: v.run(1))
            for name, variant in variants.items()
        }
        _, times, cpu = common.interleave(
            {name: variant.run for name, variant in variants.items()},
            args.repeats,
            args.warmup,
        )
        pipelines = (
            pipeline_rates(args, data, max(3, args.repeats // 2))
            if args.pipeline_batches else {}
        )

    rows, rates = training_table(
        variants, heads, times, cpu, first_call, config, args, default_name
    )
    print(", ".join(
        f"TF {p} matmul {MATMUL_SIZE}: {rate / 1e9:.1f} GFLOP/s"
        for p, rate in rates.items()
    ))
    print(common.format_table(
        ["variant", "ms/step", "min-max", "examples/s", "vs TF1 graph",
         "CPU ms/step", "model GFLOP/s", "of fp32 matmul", "of bf16 matmul",
         "first step s", "vs TF1", "build s"],
        rows,
    ))
    if not pipelines:
        return
    steps_per_second = {
        name: args.steps / common.median(t) for name, t in times.items()
        if heads[name] != "matmul" and name.startswith("bert_tf")
    }
    print(
        f"\n== input_fn alone, batch {args.batch_size}: batches/s over "
        f"{args.pipeline_batches} batches, median of {max(3, args.repeats // 2)}; "
        "against the train steps/s of the fastest bert_tf row above =="
    )
    pipeline_rows = []
    for name, values in pipelines.items():
        rate = common.median(values)
        head = "pretraining" if name.startswith("pretraining") else "classifier"
        # The fastest train step of the same head is the hardest to feed.
        same_head = [v for v in steps_per_second if heads[v] == head]
        fastest = max(same_head, key=steps_per_second.get, default=None)
        pipeline_rows.append([
            name, f"{rate:.0f}", common.spread(values), f"{1e3 / rate:.1f}",
            f"{rate / steps_per_second[fastest]:.0f}x" if fastest else "-",
            fastest or "-",
        ])
    print(common.format_table(
        ["pipeline", "batches/s", "min-max", "ms/batch",
         "x train steps/s", "of the fastest"],
        pipeline_rows,
    ))


if __name__ == "__main__":
    main()
