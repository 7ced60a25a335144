"""Benchmark: create_pretraining_data throughput and peak memory.

Compares, on a few MB of text built deterministically from
tests/testdata/pretraining_data/corpus.txt (each copy rotates the words of
every line and adds a copy marker, so lines do not repeat):

* baseline: a naive pure-Python version of the reference algorithm written
  below (reference-style tokenizer without caches, with bert_tf's plain port
  of the original's WordpieceTokenizer; lists of str, one
  `tf.train.Example` per instance, everything held in memory);
* default: `bert_tf.pretraining.create_data.run` with num_workers=1 (output
  identical to the reference; checked against the baseline here);
* sharded: the same with num_workers=2.

Every run is a fresh subprocess. Importing TensorFlow alone peaks at about
650 MB, which hides what the run itself adds from `ru_maxrss`; so a thread
samples the resident set (/proc/self/statm) every 5 ms during the run, and
"growth" is its peak minus its value when the run starts. Growth is shown for
the baseline and the default mode at two corpus sizes.

Times are wall-clock seconds of `run` (TensorFlow import excluded), the
fastest of --repeats interleaved runs; CPU seconds include worker processes.

Usage: python benchmarks/pretraining_data.py [--megabytes=3] [--dupe_factor=10]
"""

import argparse
import collections
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks import common  # noqa: E402

SOURCE = os.path.join(ROOT, "tests", "testdata", "pretraining_data",
                      "corpus.txt")
VOCAB = os.path.join(ROOT, "tests", "testdata", "vocab", "uncased_vocab.txt")


def make_corpus(path, megabytes):
    """Writes about `megabytes` MB of text: rotated copies of corpus.txt."""
    with open(SOURCE, encoding="utf-8") as f:
        lines = f.read().split("\n")
    size = 0
    copy = 0
    with open(path, "w", encoding="utf-8") as out:
        while size < megabytes * 1e6:
            for line in lines:
                words = line.split()
                if words:
                    shift = copy % len(words)
                    words = words[shift:] + words[:shift]
                    if copy:
                        words.append(f"c{copy}")
                text = " ".join(words) + "\n"
                out.write(text)
                size += len(text.encode())
            out.write("\n")
            copy += 1


# ---------------------------------------------------------------------------
# Naive baseline: the reference algorithm, written plainly.
# ---------------------------------------------------------------------------


class NaiveTokenizer:
    """Reference-style BasicTokenizer + WordPiece, no caches, lower case."""

    def __init__(self, vocab_file):
        # bert_tf imports TensorFlow, which only the child processes load.
        from bert_tf import tokenization  # pylint: disable=g-import-not-at-top

        self.vocab = collections.OrderedDict()
        with open(vocab_file, encoding="utf-8") as f:
            for index, line in enumerate(f):
                self.vocab[line.strip()] = index
        # The original's greedy longest-match-first WordPiece, which bert_tf
        # keeps as a straight port without caches.
        self._wordpiece = tokenization.WordpieceTokenizer(self.vocab).tokenize

    @staticmethod
    def _is_punctuation(char):
        cp = ord(char)
        if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or \
                123 <= cp <= 126:
            return True
        return unicodedata.category(char).startswith("P")

    @staticmethod
    def _is_chinese(cp):
        return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or
                0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F or
                0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or
                0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)

    def _basic(self, text):
        cleaned = []
        for char in text:
            cp = ord(char)
            if cp == 0 or cp == 0xFFFD:
                continue
            category = unicodedata.category(char)
            if char in "\t\n\r" or char == " " or category == "Zs":
                cleaned.append(" ")
            elif category in ("Cc", "Cf"):
                continue
            elif self._is_chinese(cp):
                cleaned.append(f" {char} ")
            else:
                cleaned.append(char)
        words = []
        for token in "".join(cleaned).split():
            token = unicodedata.normalize("NFD", token.lower())
            token = "".join(
                c for c in token if unicodedata.category(c) != "Mn")
            current = []
            for char in token:
                if self._is_punctuation(char):
                    if current:
                        words.append("".join(current))
                        current = []
                    words.append(char)
                else:
                    current.append(char)
            if current:
                words.append("".join(current))
        return words

    def tokenize(self, text):
        return [p for w in self._basic(text) for p in self._wordpiece(w)]


def naive_run(input_file, output_file, max_seq_length, max_predictions_per_seq,
              dupe_factor, masked_lm_prob, short_seq_prob, seed):
    import tensorflow as tf  # pylint: disable=g-import-not-at-top

    tokenizer = NaiveTokenizer(VOCAB)
    documents = _naive_documents(input_file, tokenizer)
    rng = random.Random(seed)
    rng.shuffle(documents)
    vocab_words = list(tokenizer.vocab.keys())
    instances = []
    for _ in range(dupe_factor):
        for index in range(len(documents)):
            instances.extend(_naive_document(
                documents, index, max_seq_length, short_seq_prob,
                masked_lm_prob, max_predictions_per_seq, vocab_words, rng))
    rng.shuffle(instances)

    def int_feature(values):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=values))

    with tf.io.TFRecordWriter(output_file) as writer:
        for tokens, segment_ids, is_random, positions, labels in instances:
            input_ids = [tokenizer.vocab[t] for t in tokens]
            pad = max_seq_length - len(input_ids)
            label_ids = [tokenizer.vocab[t] for t in labels]
            pad_p = max_predictions_per_seq - len(label_ids)
            features = collections.OrderedDict()
            features["input_ids"] = int_feature(input_ids + [0] * pad)
            features["input_mask"] = int_feature(
                [1] * len(input_ids) + [0] * pad)
            features["segment_ids"] = int_feature(segment_ids + [0] * pad)
            features["masked_lm_positions"] = int_feature(
                positions + [0] * pad_p)
            features["masked_lm_ids"] = int_feature(label_ids + [0] * pad_p)
            features["masked_lm_weights"] = tf.train.Feature(
                float_list=tf.train.FloatList(
                    value=[1.0] * len(label_ids) + [0.0] * pad_p))
            features["next_sentence_labels"] = int_feature([int(is_random)])
            example = tf.train.Example(
                features=tf.train.Features(feature=features))
            writer.write(example.SerializeToString())
    return len(instances)


def _naive_documents(input_file, tokenizer):
    """The reference's reading loop: a blank line ends a document."""
    documents = [[]]
    with open(input_file, "rb") as f:
        for line in f:
            line = line.decode("utf-8", "ignore").strip()
            if not line:
                documents.append([])
            elif tokens := tokenizer.tokenize(line):
                documents[-1].append(tokens)
    return [d for d in documents if d]


def _naive_document(documents, document_index, max_seq_length, short_seq_prob,
                    masked_lm_prob, max_predictions_per_seq, vocab_words, rng):
    document = documents[document_index]
    max_num_tokens = max_seq_length - 3
    target = max_num_tokens
    if rng.random() < short_seq_prob:
        target = rng.randint(2, max_num_tokens)
    instances = []
    chunk = []
    length = 0
    i = 0
    while i < len(document):
        chunk.append(document[i])
        length += len(document[i])
        if i == len(document) - 1 or length >= target:
            a_end = 1
            if len(chunk) >= 2:
                a_end = rng.randint(1, len(chunk) - 1)
            tokens_a = [t for segment in chunk[:a_end] for t in segment]
            tokens_b = []
            if len(chunk) == 1 or rng.random() < 0.5:
                is_random = True
                for _ in range(10):
                    other = rng.randint(0, len(documents) - 1)
                    if other != document_index:
                        break
                other = documents[other]
                for j in range(rng.randint(0, len(other) - 1), len(other)):
                    tokens_b.extend(other[j])
                    if len(tokens_b) >= target - len(tokens_a):
                        break
                i -= len(chunk) - a_end
            else:
                is_random = False
                tokens_b = [t for segment in chunk[a_end:] for t in segment]
            while len(tokens_a) + len(tokens_b) > max_num_tokens:
                longer = tokens_a if len(tokens_a) > len(tokens_b) else tokens_b
                if rng.random() < 0.5:
                    del longer[0]
                else:
                    longer.pop()
            tokens = ["[CLS]"] + tokens_a + ["[SEP]"] + tokens_b + ["[SEP]"]
            segment_ids = [0] * (len(tokens_a) + 2) + [1] * (len(tokens_b) + 1)
            output, masked = _naive_masking(
                tokens, masked_lm_prob, max_predictions_per_seq, vocab_words,
                rng)
            instances.append((output, segment_ids, is_random,
                              [p for p, _ in masked], [t for _, t in masked]))
            chunk = []
            length = 0
        i += 1
    return instances


def _naive_masking(tokens, masked_lm_prob, max_predictions_per_seq,
                   vocab_words, rng):
    """The reference's 80/10/10 masking: (output tokens, [(index, token)])."""
    candidates = [k for k, t in enumerate(tokens)
                  if t not in ("[CLS]", "[SEP]")]
    rng.shuffle(candidates)
    budget = min(max_predictions_per_seq,
                 max(1, int(round(len(tokens) * masked_lm_prob))))
    output = list(tokens)
    masked = []
    for index in candidates:
        if len(masked) >= budget:
            break
        if rng.random() < 0.8:
            output[index] = "[MASK]"
        elif rng.random() >= 0.5:
            output[index] = vocab_words[rng.randint(0, len(vocab_words) - 1)]
        masked.append((index, tokens[index]))
    masked.sort()
    return output, masked


# ---------------------------------------------------------------------------
# Driver.
# ---------------------------------------------------------------------------


class _RssSampler:
    """Peak resident set size of this process while it runs, in MB."""

    def __init__(self, interval_s=0.005):
        self.interval_s = interval_s
        self.start_mb = self.peak_mb = self._rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    @staticmethod
    def _rss_mb():
        try:
            with open("/proc/self/statm") as f:
                pages = int(f.read().split()[1])
            return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
        except OSError:  # Not Linux: fall back to the high-water mark.
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def _loop(self):
        while not self._stop.wait(self.interval_s):
            self.peak_mb = max(self.peak_mb, self._rss_mb())

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._rss_mb())


def _child(args):
    """Runs one configuration in this process and prints a JSON line."""
    import tensorflow as tf  # pylint: disable=g-import-not-at-top,unused-import
    from absl import logging  # pylint: disable=g-import-not-at-top

    # pylint: disable-next=g-import-not-at-top
    from bert_tf.pretraining import create_data

    logging.set_verbosity(logging.WARNING)
    settings = dict(max_seq_length=128, max_predictions_per_seq=20,
                    dupe_factor=args.dupe_factor, masked_lm_prob=0.15,
                    short_seq_prob=0.1)
    with _RssSampler() as rss:
        times_start = os.times()
        start = time.perf_counter()
        if args.mode == "baseline":
            count = naive_run(args.input, args.output, seed=12345, **settings)
        else:
            params = create_data.CreatePretrainingDataParams(
                input_file=args.input, output_file=args.output,
                vocab_file=VOCAB, random_seed=12345,
                num_workers=2 if args.mode == "sharded" else 1, **settings)
            count = create_data.run(params)
        seconds = time.perf_counter() - start
    times = os.times()
    own_cpu = sum(times[:2]) - sum(times_start[:2])
    workers_cpu = sum(times[2:4]) - sum(times_start[2:4])
    # ru_maxrss includes the TensorFlow import; children are the workers.
    maxrss = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                 resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(json.dumps(dict(instances=count, seconds=seconds,
                          cpu_seconds=own_cpu + workers_cpu,
                          own_cpu_seconds=own_cpu,
                          workers_cpu_seconds=workers_cpu,
                          maxrss_mb=maxrss / 1024, start_mb=rss.start_mb,
                          peak_mb=rss.peak_mb)))


def _run_child(mode, corpus, output, dupe_factor):
    command = [sys.executable, os.path.abspath(__file__), "--child", mode,
               "--input", corpus, "--output", output,
               f"--dupe_factor={dupe_factor}"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(command, capture_output=True, text=True, env=env,
                            check=False)
    if result.returncode:
        sys.exit(f"{mode} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _same_examples(path_a, path_b, limit):
    """True if the first `limit` records of both files parse identically."""
    import tensorflow as tf  # pylint: disable=g-import-not-at-top

    def parsed(path):
        records = tf.data.TFRecordDataset(path).take(limit)
        return [tf.train.Example.FromString(r) for r in
                records.as_numpy_iterator()]

    a, b = parsed(path_a), parsed(path_b)
    return len(a) == len(b) and all(x == y for x, y in zip(a, b))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--megabytes", type=float, default=3.0)
    parser.add_argument("--dupe_factor", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rss_megabytes", type=float, nargs=2,
                        default=(1.0, 4.0))
    parser.add_argument("--rss_dupe_factor", type=int, default=2)
    parser.add_argument("--child", choices=("baseline", "default", "sharded"))
    parser.add_argument("--input")
    parser.add_argument("--output")
    args = parser.parse_args()
    if args.child:
        args.mode = args.child
        _child(args)
        return

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    work = tempfile.mkdtemp(prefix="bench_pretraining_data_")
    corpus = os.path.join(work, "corpus.txt")
    make_corpus(corpus, args.megabytes)
    print(f"machine: {common.cpu_model()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}")
    print(f"corpus: {os.path.getsize(corpus) / 1e6:.1f} MB; settings: "
          f"max_seq_length=128 max_predictions_per_seq=20 "
          f"dupe_factor={args.dupe_factor} masked_lm_prob=0.15 "
          "short_seq_prob=0.1 random_seed=12345, uncased vocab")
    print(f"load average before: {os.getloadavg()[0]:.1f}; each mode runs "
          f"{args.repeats} times, interleaved; the fastest run is shown")
    results = {}
    for _ in range(args.repeats):
        for mode in ("baseline", "default", "sharded"):
            output = os.path.join(work, f"{mode}.tfrecord")
            r = _run_child(mode, corpus, output, args.dupe_factor)
            if mode not in results or r["seconds"] < results[mode]["seconds"]:
                results[mode] = r
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    same = _same_examples(os.path.join(work, "baseline.tfrecord"),
                          os.path.join(work, "default.tfrecord"), 2000)
    print(f"default output == baseline output (first 2000 records parsed): "
          f"{same}")
    base = results["baseline"]["instances"] / results["baseline"]["seconds"]
    print()
    print("| mode | instances | wall s | CPU s | instances/s | vs baseline | "
          "ru_maxrss MB |")
    print("|---|---|---|---|---|---|---|")
    for mode, r in results.items():
        rate = r["instances"] / r["seconds"]
        print(f"| {mode} | {r['instances']} | {r['seconds']:.2f} | "
              f"{r['cpu_seconds']:.2f} | {rate:.0f} | {rate / base:.2f}x | "
              f"{r['maxrss_mb']:.0f} |")
    default_rate = (results["default"]["instances"] /
                    results["default"]["seconds"])
    sharded_rate = (results["sharded"]["instances"] /
                    results["sharded"]["seconds"])
    print(f"\nsharded (2 workers) vs default, wall clock: "
          f"{sharded_rate / default_rate:.2f}x")
    _print_sharded_cpu(results)
    _print_rss_table(work, args)


def _print_sharded_cpu(results):
    """Sharded vs default throughput from CPU time, on the critical path."""
    # With 2 workers the parent samples shard 0 and merges, the child samples
    # shard 1: on 2 idle cores the run takes about the larger CPU time.
    sharded = results["sharded"]
    critical = max(sharded["own_cpu_seconds"], sharded["workers_cpu_seconds"])
    default_cpu = results["default"]["cpu_seconds"]
    ratio = ((sharded["instances"] / critical) /
             (results["default"]["instances"] / default_cpu))
    print(f"sharded vs default, from CPU time (critical path "
          f"max(parent {sharded['own_cpu_seconds']:.2f} s, worker "
          f"{sharded['workers_cpu_seconds']:.2f} s) vs default "
          f"{default_cpu:.2f} s, per instance): {ratio:.2f}x")


def _print_rss_table(work, args):
    """Baseline and default RSS growth at each of --rss_megabytes."""
    print(f"\nRSS during the run vs corpus size "
          f"(dupe_factor={args.rss_dupe_factor}):")
    print("| mode | corpus MB | instances | RSS at start MB | peak RSS MB | "
          "growth MB |")
    print("|---|---|---|---|---|---|")
    for megabytes in args.rss_megabytes:
        path = os.path.join(work, f"corpus_{megabytes}.txt")
        make_corpus(path, megabytes)
        for mode in ("baseline", "default"):
            r = _run_child(mode, path, os.path.join(work, "rss.tfrecord"),
                           args.rss_dupe_factor)
            print(f"| {mode} | {os.path.getsize(path) / 1e6:.1f} | "
                  f"{r['instances']} | {r['start_mb']:.0f} | "
                  f"{r['peak_mb']:.0f} | {r['peak_mb'] - r['start_mb']:.0f} |")


if __name__ == "__main__":
    main()
