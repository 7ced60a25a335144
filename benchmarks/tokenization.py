"""Tokenization throughput: reference-style Python, fast path, in-graph.

Builds a few MB of text from the repo's test data, deterministically:
the pre-training corpus (tests/testdata/pretraining_data/corpus.txt) and the
tokenizer conformance corpus, repeated to the requested size. Two texts:

* "repeated": those lines as they are. Realistic for the word
  distribution of English prose, but every chunk repeats many times, which
  flatters the fast path's per-chunk cache.
* "scrambled": each repetition shuffles the letters inside every word with
  a seeded RNG, so most chunks are new and the cache rarely helps (the
  fast path's worst case).

Paths timed on each text (uncased vocab, do_lower_case=True by default):

* reference: `BasicTokenizer.tokenize` + `WordpieceTokenizer.tokenize` per
  basic token, then `convert_tokens_to_ids`, as the original does.
* fast (cold): a new `FullTokenizer.tokenize_to_ids` per run, so the cache
  is filled during the timed run.
* fast (warm): the same tokenizer again, cache already filled.
* graph: `GraphTokenizer` on batches of lines (eager calls of its
  tf.function; ids stay tensors).

All paths must give identical ids; the script checks this and fails if
not. Run: `.venv/bin/python benchmarks/tokenization.py [--mb 3]`.
"""

import argparse
import gc
import json
import os
import pathlib
import platform
import random
import statistics
import sys
import time

_ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(_ROOT))

from benchmarks import common  # noqa: E402
from bert_tf import graph_tokenizer  # noqa: E402
from bert_tf import tokenization  # noqa: E402

_TESTDATA = _ROOT / "tests" / "testdata"


def source_lines():
    """The repo's text lines, in a fixed order."""
    lines = []
    path = _TESTDATA / "pretraining_data" / "corpus.txt"
    with open(path, encoding="utf-8") as f:
        lines.extend(line for line in f.read().split("\n") if line.strip())
    path = _TESTDATA / "tokenization" / "corpus.jsonl"
    with open(path, encoding="utf-8") as f:
        for record in f.read().split("\n"):
            if record:
                lines.append(json.loads(record)["text"])
    return lines


def build_texts(megabytes):
    """Returns {"repeated": lines, "scrambled": lines} of ~megabytes each."""
    lines = source_lines()
    target = int(megabytes * 1e6)
    rng = random.Random(12345)
    texts = {"repeated": [], "scrambled": []}
    size = 0
    while size < target:
        for line in lines:
            texts["repeated"].append(line)
            words = []
            for word in line.split(" "):
                letters = list(word)
                rng.shuffle(letters)
                words.append("".join(letters))
            texts["scrambled"].append(" ".join(words))
            size += len(line.encode("utf-8")) + 1
    return texts


def machine_description():
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{common.cpu_model()}, {os.cpu_count()} logical cores visible, "
        f"load average {load} at start"
    )


def time_runs(function, repeats):
    """Median wall time of `repeats` calls; also returns the last result.

    The garbage collector is off while timing, as in timeit: otherwise its
    full passes over the (large) earlier results land in random runs.
    """
    times = []
    result = None
    for _ in range(repeats):
        result = None
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            result = function()
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return statistics.median(times), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=3.0, help="text size, MB")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument(
        "--vocab", default=str(_TESTDATA / "vocab" / "uncased_vocab.txt")
    )
    parser.add_argument("--cased", action="store_true")
    args = parser.parse_args()
    do_lower_case = not args.cased

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    import tensorflow_text

    texts = build_texts(args.mb)
    reference = tokenization.FullTokenizer(args.vocab, do_lower_case)
    graph = graph_tokenizer.GraphTokenizer(args.vocab, do_lower_case)

    def run_reference(lines):
        basic = reference.basic_tokenizer
        wordpiece = reference.wordpiece_tokenizer
        out = []
        for line in lines:
            tokens = []
            for word in basic.tokenize(line):
                tokens.extend(wordpiece.tokenize(word))
            out.append(reference.convert_tokens_to_ids(tokens))
        return out

    def run_fast(tokenizer, lines):
        return [tokenizer.tokenize_to_ids(line) for line in lines]

    def run_graph(batches):
        return [graph(batch) for batch in batches]

    print(f"machine: {machine_description()}")
    print(
        f"python {platform.python_version()}, tensorflow {tf.__version__}, "
        f"tensorflow-text {tensorflow_text.__version__}"
    )
    print(
        f"settings: vocab={pathlib.Path(args.vocab).name}, "
        f"do_lower_case={do_lower_case}, repeats={args.repeats} (median), "
        f"graph batch_size={args.batch_size}"
    )
    header = (
        f"{'text':<10} {'path':<13} {'median s':>9} {'lines/s':>10} "
        f"{'tokens/s':>11} {'MB/s':>6} {'vs ref':>7}"
    )
    for name, lines in texts.items():
        megabytes = sum(len(line.encode("utf-8")) + 1 for line in lines) / 1e6
        batches = [
            tf.constant(lines[i:i + args.batch_size])
            for i in range(0, len(lines), args.batch_size)
        ]
        graph(batches[0])  # Trace once, outside the timing.
        results = {}
        ref_time, ref_ids = time_runs(
            lambda: run_reference(lines), args.repeats
        )
        results["reference"] = ref_time
        fast_time, cold_ids = time_runs(
            lambda: run_fast(
                tokenization.FullTokenizer(args.vocab, do_lower_case), lines
            ),
            args.repeats,
        )
        # Includes loading the vocab (~0.05 s for 30k lines), as a user pays.
        results["fast (cold)"] = fast_time
        warm = tokenization.FullTokenizer(args.vocab, do_lower_case)
        run_fast(warm, lines)
        results["fast (warm)"], warm_ids = time_runs(
            lambda: run_fast(warm, lines), args.repeats
        )
        results["graph"], graph_out = time_runs(
            lambda: run_graph(batches), args.repeats
        )
        graph_ids = [row for batch in graph_out for row in batch.to_list()]
        for label, ids in [
            ("fast (cold)", cold_ids),
            ("fast (warm)", warm_ids),
            ("graph", graph_ids),
        ]:
            if ids != ref_ids:
                raise SystemExit(f"{label}: ids differ from reference, {name}")
        num_tokens = sum(len(ids) for ids in ref_ids)
        print(
            f"\n{name}: {len(lines)} lines, {megabytes:.2f} MB, "
            f"{num_tokens} word pieces"
        )
        print(header)
        for label, seconds in results.items():
            print(
                f"{name:<10} {label:<13} {seconds:9.3f} "
                f"{len(lines) / seconds:10.0f} {num_tokens / seconds:11.0f} "
                f"{megabytes / seconds:6.2f} {ref_time / seconds:6.1f}x"
            )


if __name__ == "__main__":
    main()
