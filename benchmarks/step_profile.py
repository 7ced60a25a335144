"""Where a training step's time goes: bert_tf's runner against the TF1 graph.

Runs `--steps` train steps of each (after one untimed step) under
`tf.profiler`, reads the host trace back (the XSpace protobuf the profiler
writes) and prints, per variant, the CPU time of each TensorFlow op type
and of a few groups the speed issue asks about (matmuls, the fused XLA
kernels, dropout's random bits, the optimizer update, gathers and their
gradients). Op times are summed over threads, so they add up to more than
the wall time when ops run side by side; compare shares, not sums.

Usage: python benchmarks/step_profile.py [--shape=base128] [--steps=2]
"""

import argparse
import collections
import glob
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, _ROOT)

import tensorflow as tf  # noqa: E402
from tensorflow.tsl.profiler.protobuf import xplane_pb2  # noqa: E402

from benchmarks import common  # noqa: E402
from benchmarks import pretraining  # noqa: E402
from benchmarks import tf1_graph  # noqa: E402
from bert_tf.config import BertConfig  # noqa: E402
from bert_tf.pretraining.task import PretrainingTask  # noqa: E402

# Op types by group; an op type in none of them counts as "other".
GROUPS = {
    "matmul": ("MatMul", "BatchMatMul", "Einsum"),
    "fused XLA kernels": ("XLA executable",),
    "dropout random bits": ("Random", "Philox"),
    "gather / scatter": ("Gather", "Scatter", "UnsortedSegment"),
    "optimizer (Adam, variables)": ("Apply", "Assign", "ReadVariable"),
    "softmax": ("Softmax",),
    "layout, casts, copies": ("Transpose", "Reshape", "Cast", "Identity",
                              "ToTf", "Concat", "Slice", "Pack"),
    "elementwise (unfused)": ("Mul", "Add", "Sub", "Square", "Sqrt", "Div",
                              "Tanh", "Pow", "Maximum", "Select", "Neg",
                              "Exp", "Log", "Rsqrt", "Sum", "Mean", "Max",
                              "L2Loss", "BiasAdd"),
}
# The event of one run of an XLA-compiled function (bert_tf's fused kernels).
_XLA_RUN = "CpuExecutable::ExecuteAsyncOnStream"


def op_times(logdir):
    """{op type: seconds} summed over the host trace's TensorFlow op events."""
    totals = collections.Counter()
    for path in glob.glob(os.path.join(logdir, "**", "*.xplane.pb"),
                          recursive=True):
        space = xplane_pb2.XSpace.FromString(open(path, "rb").read())
        for plane in space.planes:
            if not plane.name.startswith("/host:CPU"):
                continue
            for line in plane.lines:
                for event in line.events:
                    name = plane.event_metadata[event.metadata_id].name
                    if name.startswith(_XLA_RUN):
                        totals["XLA executable"] += event.duration_ps * 1e-12
                    # TensorFlow op events are named "<op name>:<op type>";
                    # the runtime's own ("Class::Method") contain the ops.
                    if ":" not in name or "::" in name or name[0] == "$":
                        continue
                    op_type = name.rsplit(":", 1)[1].split("#")[0]
                    if op_type[:1].isupper() or op_type.startswith("_"):
                        totals[op_type] += event.duration_ps * 1e-12
    return totals


def group_of(op_type):
    for group, parts in GROUPS.items():
        if any(part in op_type for part in parts):
            return group
    return "other"


def profile(run, steps):
    run(1)
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        seconds = common.timed(lambda: run(steps))
        tf.profiler.experimental.stop()
        return seconds / steps, op_times(logdir)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shape", choices=sorted(pretraining.SHAPES),
                        default="base128")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    for name, value in pretraining.SHAPES[args.shape].items():
        setattr(args, name, value)
    args.vocab_size = 30522
    config = BertConfig(
        vocab_size=args.vocab_size, hidden_size=args.hidden,
        num_hidden_layers=args.layers, num_attention_heads=args.heads,
        intermediate_size=args.intermediate, type_vocab_size=2,
    )
    features = pretraining.synthetic_features(
        args, pretraining.NUM_BATCHES * args.batch_size)
    dataset_fn = pretraining.memory_dataset_fn(
        features, args.batch_size, "pretraining")
    task = PretrainingTask(
        bert_config=config, num_train_steps=pretraining.NUM_TRAIN_STEPS,
        num_warmup_steps=pretraining.NUM_WARMUP_STEPS,
    )
    model_dir = tempfile.TemporaryDirectory()  # the runner's, stays empty
    variants = {
        "bert_tf runner fp32": pretraining.RunnerVariant(
            task, "fp32", False, dataset_fn, args, model_dir.name).run,
        "tf1 graph fp32": tf1_graph.Tf1Graph(
            config, dataset_fn, "pretraining", pretraining.NUM_TRAIN_STEPS,
            pretraining.NUM_WARMUP_STEPS).run,
    }
    print(f"CPU: {common.cpu_model()}; --shape={args.shape}, batch "
          f"{args.batch_size}, seq {args.seq_length}; {args.steps} profiled "
          "steps each")
    for name, run in variants.items():
        seconds, totals = profile(run, args.steps)
        total = sum(totals.values())
        groups = collections.Counter()
        for op_type, value in totals.items():
            groups[group_of(op_type)] += value
        print(f"\n== {name}: {seconds * 1e3:.0f} ms/step wall, op time "
              f"{total / args.steps * 1e3:.0f} ms/step ==")
        print(common.format_table(
            ["group", "ms/step", "share"],
            [[g, f"{v / args.steps * 1e3:.0f}", f"{v / total:.1%}"]
             for g, v in groups.most_common()],
        ))
        print(common.format_table(
            ["op type", "ms/step", "share"],
            [[t, f"{v / args.steps * 1e3:.0f}", f"{v / total:.1%}"]
             for t, v in totals.most_common(args.top)],
        ))
    model_dir.cleanup()


if __name__ == "__main__":
    main()
