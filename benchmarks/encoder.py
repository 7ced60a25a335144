"""Encoder inference throughput: bert_tf's BertModel against KerasHub's.

For each shape (default: BERT-Base, L=12 H=768 A=12 I=3072, batch 8, and a
small L=4 H=256 A=4 I=1024, batch 32; both seq 128, vocab 30522) it times
one forward pass (training=False, sequence and pooled outputs) of:

* bert_tf `BertModel` in fp32, mixed bf16 (float32 variables, as in
  training) and bf16w (bfloat16 variables: what the runners' evaluate and
  predict build under --precision=bf16), each inside a `tf.function` with
  `jit_compile` off and on (XLA);
* KerasHub `BertBackbone` (the peer, same shape) in the same three
  precisions (bf16w is `dtype="bfloat16"`), XLA off and on.

All models share one set of random weights (copied into the peer tensor by
tensor; the last column checks the outputs agree), the same int32 inputs
(random ids, a random number of padded positions per row) and the same
wrapping. All variants of a shape run interleaved
(round-robin, see `common.interleave`): the first call (trace/compile) and
`--warmup` calls are excluded, and the table shows the median of
`--repeats` calls, sequences/s and the ratio to the fastest KerasHub
variant. "CPU ms" is this process's CPU time per call, which other
processes on a shared machine disturb less than wall time. "(default)"
marks what bert_tf users get with the runners' flags (`--precision=auto`,
`--use_xla=False`) on this machine.

Usage: python benchmarks/encoder.py [--shapes=base,small] [--repeats=7]
  A shape is a preset name or "L/H/A/I/batch/seq", e.g. 2/128/2/512/16/64.
"""

import argparse
import functools
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, _ROOT)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks import common  # noqa: E402
from bert_tf import distribution  # noqa: E402
from bert_tf.config import BertConfig  # noqa: E402
from bert_tf.modeling import BertModel  # noqa: E402

VOCAB_SIZE = 30522
# name: (layers, hidden, heads, intermediate, batch, seq)
PRESETS = {
    "base": (12, 768, 12, 3072, 8, 128),
    "small": (4, 256, 4, 1024, 32, 128),
}
POLICIES = {"fp32": "float32", "bf16": "mixed_bfloat16", "bf16w": "bfloat16"}


def parse_shape(text):
    if text in PRESETS:
        return text, PRESETS[text]
    try:
        values = tuple(int(v) for v in text.split("/"))
    except ValueError:
        values = ()
    if len(values) != 6:
        raise SystemExit(
            f"--shapes: {text!r} is neither a preset ({', '.join(PRESETS)}) "
            "nor L/H/A/I/batch/seq"
        )
    return text, values


def make_inputs(batch, seq, seed=0):
    """int32 ids, mask and segments; each row has 1..seq//2 padded slots."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(seq // 2, seq, size=batch)
    mask = (np.arange(seq)[None, :] < lengths[:, None]).astype("int32")
    ids = rng.integers(1000, VOCAB_SIZE, size=(batch, seq)).astype("int32")
    segments = (np.arange(seq)[None, :] >= lengths[:, None] // 2).astype("int32")
    return (
        tf.constant(ids * mask),
        tf.constant(mask),
        tf.constant(segments * mask),
    )


def hub_weights_from_bert_tf(model):
    """bert_tf weights in BertBackbone's variable order and layout."""
    emb = model.embeddings
    heads = model.config.num_attention_heads
    hidden = model.config.hidden_size

    def qkv(dense):  # [H, H] -> [H, N, D], [H] -> [N, D]
        kernel = np.asarray(dense.kernel).reshape(hidden, heads, -1)
        return [kernel, np.asarray(dense.bias).reshape(heads, -1)]

    weights = [
        np.asarray(emb.word_embeddings),
        np.asarray(emb.position_embeddings),
        np.asarray(emb.token_type_embeddings),
        np.asarray(emb.layer_norm.gamma),
        np.asarray(emb.layer_norm.beta),
    ]
    for layer in model.transformer_layers:
        att = layer.attention
        out = layer.attention_output_dense
        weights += qkv(att.query) + qkv(att.key) + qkv(att.value)
        weights += [
            np.asarray(out.kernel).reshape(heads, -1, hidden),
            np.asarray(out.bias),
        ]
        for sub in (  # BertBackbone's order: both norms first
            layer.attention_layer_norm,
            layer.output_layer_norm,
            layer.intermediate_dense,
            layer.output_dense,
        ):
            weights += [np.asarray(w) for w in sub.weights]
    weights += [np.asarray(w) for w in model.pooler.weights]
    return weights


def run_bert_tf(model, ids, mask, segments):
    outputs = model(
        {"input_ids": ids, "input_mask": mask, "segment_ids": segments},
        training=False,
    )
    return outputs["sequence_output"], outputs["pooled_output"]


def run_keras_hub(model, ids, mask, segments):
    outputs = model(
        {"token_ids": ids, "padding_mask": mask, "segment_ids": segments},
        training=False,
    )
    return outputs["sequence_output"], outputs["pooled_output"]


def build_variants(shape, args):
    """{name: (callable, family, precision, xla)} for one shape."""
    layers, hidden, heads, intermediate, batch, seq = shape
    config = BertConfig(
        vocab_size=VOCAB_SIZE,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate,
        type_vocab_size=2,  # as BERT-Base's bert_config.json
    )
    ids, mask, segments = make_inputs(batch, seq)
    reference = None
    variants = {}
    for precision, policy in POLICIES.items():
        ours = BertModel(config, dtype=policy)
        theirs = common.keras_hub_backbone(config, dtype=policy)
        if reference is None:
            reference = ours
        else:
            ours.set_weights(reference.get_weights())
        theirs.set_weights(hub_weights_from_bert_tf(reference))

        for family, fn, model in (
            ("bert_tf", run_bert_tf, ours),
            ("keras_hub", run_keras_hub, theirs),
        ):
            for xla in (False, True):
                name = f"{family} {precision}" + (" XLA" if xla else "")
                if args.variants and not any(v in name for v in args.variants):
                    continue
                # A partial, not a closure: TensorFlow counts traces per code
                # object and would warn about retracing across variants.
                compiled = tf.function(
                    functools.partial(fn, model), jit_compile=xla
                )

                def call(compiled=compiled):
                    outputs = compiled(ids, mask, segments)
                    return [np.asarray(tf.cast(t, tf.float32)) for t in outputs]

                variants[name] = (call, family, precision, xla)
    return variants


def check_agreement(variants):
    """Max |difference| of each variant's sequence output to bert_tf fp32."""
    if "bert_tf fp32" not in variants:
        return {}
    expected = variants["bert_tf fp32"][0]()[0]
    return {
        name: float(np.max(np.abs(call()[0] - expected)))
        for name, (call, _, _, _) in variants.items()
    }


def run_shape(label, shape, args, default_name):
    layers, hidden, heads, intermediate, batch, seq = shape
    print(
        f"\n== {label}: L={layers} H={hidden} A={heads} I={intermediate} "
        f"vocab={VOCAB_SIZE}, batch {batch}, seq {seq}; median of "
        f"{args.repeats} interleaved calls after {args.warmup} warmup =="
    )
    start = time.perf_counter()
    variants = build_variants(shape, args)
    print(f"built {len(variants)} variants in {time.perf_counter() - start:.1f} s")
    first, times, cpu = common.interleave(
        {name: v[0] for name, v in variants.items()}, args.repeats, args.warmup
    )
    differences = check_agreement(variants)
    best_hub, rows = common.rows_against_peer(times, cpu, batch, default_name)
    for name, row in rows.items():
        row.append(f"{first[name]:.1f}")
        row.append(f"{differences[name]:.1e}" if name in differences else "-")
    print(common.format_table(
        ["variant", "ms/batch", "min-max", "seq/s",
         f"vs {best_hub}", "CPU ms", "first call s", "max|diff| vs fp32"],
        list(rows.values()),
    ))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shapes", default="base,small",
                        help="comma list of presets or L/H/A/I/batch/seq")
    common.add_timing_arguments(parser)
    args = parser.parse_args()
    shapes = [parse_shape(s) for s in args.shapes.split(",") if s]

    default_precision = distribution.resolve_precision("auto")
    # Inference builds bfloat16 weights under bf16; --use_xla defaults off.
    default_name = f"bert_tf {'bf16w' if default_precision == 'bf16' else default_precision}"
    print("\n".join(common.machine_lines(default_precision)))
    for label, shape in shapes:
        run_shape(label, shape, args, default_name)
        keras.backend.clear_session()


if __name__ == "__main__":
    main()
