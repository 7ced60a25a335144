"""Serving speed: the exported raw-text classifier against the Keras model.

A BERT-Base shaped classifier (L=12 H=768 A=12 I=3072, vocab 30522, random
weights, 2 labels, max_seq_length 128) is exported as
`run_classifier.py --export_dir` does, then timed on the same raw texts
(lines of sample_text.txt) as:

* keras fp32 (the baseline): in process, the way the runners predict:
  `FullTokenizer` and `convert_single_example` in Python, then the model
  in a `tf.function` (fused kernels, float32, no XLA);
* keras bf16: the same with the runners' default precision on this
  machine (`--precision=auto`: bfloat16 weights for prediction), shown
  for reference only: exports compute in float32;
* exported, TF2: `tf.saved_model.load(...).signatures["serving_default"]`
  on the strings (tokenization in the graph);
* exported, TF1 session: the session loader and `session.run` by the
  SignatureDef's tensor names, TF Serving's path.

Each variant answers one request (batch 1: latency p50 and p99 over
--latency_repeats calls) and batches of 32 (median of --repeats calls,
examples/s). Variants run interleaved (`common.interleave`); the first call
(tracing, graph optimisation) is not counted. The ratio columns are the
baseline's time over the variant's (above 1.00x: faster than the Keras
model); "CPU ms" is this process's CPU time per batch, which other
processes on a shared machine disturb less than wall time.

Usage: python benchmarks/serving.py [--repeats=5] [--latency_repeats=40]
"""

import argparse
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, _ROOT)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_text  # noqa: E402,F401  (the export's tokenizer ops)

from benchmarks import common  # noqa: E402
from bert_tf import distribution  # noqa: E402
from bert_tf import packing  # noqa: E402
from bert_tf.classifier import export  # noqa: E402
from bert_tf.classifier.model import BertClassifier  # noqa: E402
from bert_tf.config import BertConfig  # noqa: E402
from bert_tf.tokenization import FullTokenizer  # noqa: E402

VOCAB = os.path.join(_ROOT, "tests", "testdata", "vocab", "uncased_vocab.txt")
SEQ_LENGTH = 128
BASE = BertConfig(
    vocab_size=30522, hidden_size=768, num_hidden_layers=12,
    num_attention_heads=12, intermediate_size=3072,
)


def texts(count):
    """`count` texts of about 100 words from sample_text.txt."""
    with open(os.path.join(_ROOT, "sample_text.txt"), encoding="utf-8") as f:
        words = f.read().split()
    return [" ".join(words[i * 37: i * 37 + 100]) for i in range(count)]


def keras_predictor(dtype):
    """Raw texts -> probabilities, in process, as the runners predict."""
    keras.utils.set_random_seed(0)
    model = BertClassifier(BASE, num_labels=2, dtype=dtype)
    tokenizer = FullTokenizer(VOCAB)
    spec = tf.TensorSpec([None, SEQ_LENGTH], tf.int32)

    @tf.function(input_signature=[spec] * 3)
    def run(input_ids, input_mask, segment_ids):
        features = {"input_ids": input_ids, "input_mask": input_mask,
                    "segment_ids": segment_ids}
        return model(features, training=False)["probabilities"]

    def predict(batch):
        rows = []
        for text in batch:
            tokens, segments = packing.tokenize_pair(
                text, None, SEQ_LENGTH, tokenizer)
            rows.append(packing.pad_inputs(
                tokenizer.convert_tokens_to_ids(tokens), segments, SEQ_LENGTH))
        columns = [np.array(column, np.int32) for column in zip(*rows)]
        return run(*columns).numpy()

    return model, predict


def session_predictor(export_dir):
    """The TF1 session loader's serving_default, fed by tensor names."""
    graph = tf.Graph()
    session = tf.compat.v1.Session(graph=graph)
    with graph.as_default():
        meta_graph = tf.compat.v1.saved_model.loader.load(
            session, ["serve"], export_dir)
    signature = meta_graph.signature_def["serving_default"]
    text = signature.inputs["text_a"].name
    probabilities = signature.outputs["probabilities"].name
    return lambda batch: session.run(probabilities, {text: batch})


def variants(export_dir, predict_fp32, predict_bf16):
    served = tf.saved_model.load(export_dir).signatures["serving_default"]
    predictors = {
        "keras fp32 (baseline)": predict_fp32,
        "keras bf16 (runner default here)": predict_bf16,
        "exported, TF2 load": lambda batch: served(
            text_a=tf.constant(batch))["probabilities"].numpy(),
        "exported, TF1 session (TF Serving's path)": session_predictor(
            export_dir),
    }
    if not distribution.resolve_precision("auto") == "bf16":
        del predictors["keras bf16 (runner default here)"]
    batch = texts(32)
    reference = predict_fp32(batch)
    for name, predict in predictors.items():
        if "fp32" in name or "exported" in name:
            np.testing.assert_allclose(predict(batch), reference, atol=1e-4,
                                       err_msg=name)
    return predictors


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--latency_repeats", type=int, default=40)
    args = parser.parse_args()

    model, predict_fp32 = keras_predictor("float32")
    # bfloat16 weights: what the runners predict with under bf16.
    _, predict_bf16 = keras_predictor("bfloat16")
    with tempfile.TemporaryDirectory() as tmp:
        export_dir = export.export_saved_model(
            model, os.path.join(tmp, "export"), VOCAB, True, SEQ_LENGTH,
            ["0", "1"], is_pair_task=False)
        predictors = variants(export_dir, predict_fp32, predict_bf16)
        one, thirty_two = texts(1), texts(32)
        _, latency, _ = common.interleave(
            {n: (lambda p=p: p(one)) for n, p in predictors.items()},
            args.latency_repeats)
        _, throughput, cpu = common.interleave(
            {n: (lambda p=p: p(thirty_two)) for n, p in predictors.items()},
            args.repeats)
    baseline = "keras fp32 (baseline)"
    rows = []
    for name in predictors:
        p50, p99 = np.percentile(latency[name], [50, 99]) * 1e3
        batch_s = common.median(throughput[name])
        rows.append([
            name, f"{p50:.0f}", f"{p99:.0f}", f"{batch_s * 1e3:.0f}",
            f"{32 / batch_s:.1f}",
            f"{common.median(latency[baseline]) * 1e3 / p50:.2f}x",
            f"{common.median(throughput[baseline]) / batch_s:.2f}x",
            f"{common.median(cpu[name]) * 1e3:.0f}",
            f"{common.median(cpu[baseline]) / common.median(cpu[name]):.2f}x",
        ])
    load = os.getloadavg()[0]
    print(f"CPU: {common.cpu_model()} "
          f"({', '.join(common.cpu_flags()) or 'no bf16 flags'}); "
          f"{os.cpu_count()} cores; load average {load:.2f}")
    print(f"TensorFlow {tf.__version__}; BERT-Base, seq {SEQ_LENGTH}, "
          f"raw text in, probabilities out")
    print(common.format_table(
        ["variant", "1 request p50 ms", "p99 ms", "batch 32 ms",
         "examples/s", "p50 ratio", "batch 32 ratio", "batch 32 CPU ms",
         "CPU ratio"], rows))


if __name__ == "__main__":
    main()
