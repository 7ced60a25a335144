"""create_pretraining_data's run: read, sample, shuffle, write TFRecords.

Replaces `main` and the file writing of `write_instance_to_example_files`
in the reference's create_pretraining_data.py. Reading is
`bert_tf.pretraining.corpus`, sampling `bert_tf.pretraining.instances` and
the example bytes `bert_tf.pretraining.tfrecords`; this module checks the
settings, wires those together, logs progress and writes the files.

`run(params)` has two modes:

* `num_workers == 1` (the default) reproduces the reference bit for bit: one
  `random.Random(random_seed)`, the reference's call order and its final
  shuffle of all instances. Instances are streamed through a temporary
  `InstanceStore` file (spans, not token lists), so memory grows only by
  about 4 bytes per corpus token and 4 bytes per instance.
* `num_workers > 1` shards the documents over that many processes (fork):
  document i of the input, empty ones counted, goes to shard
  i % num_workers. Each worker tokenizes its documents, runs the same
  algorithm on them with its own `random.Random(shard_seed(random_seed,
  shard))` and writes its shuffled examples round-robin to local part files,
  one per output file. The parent then builds each output file by
  interleaving the shards' parts at random in blocks of `MERGE_BLOCK`
  records (seeded by `merge_seed(random_seed)`), copying the framed records
  as they are. Output is deterministic for a given seed and worker count
  but is not the reference's: the random streams differ, the B side of a
  random-next pair comes only from documents of the same shard, the shards
  are interleaved in blocks, and the logged examples are the first 20 of
  the first output file.
"""

import array
import dataclasses
import multiprocessing
import os
import random
import shutil
import tempfile
import time

from absl import logging
import tensorflow as tf

from bert_tf import errors
from bert_tf import file_io
from bert_tf import tokenization
from bert_tf.pretraining import corpus as corpus_lib
from bert_tf.pretraining import instances
from bert_tf.pretraining import masking
from bert_tf.pretraining import python_random
from bert_tf.pretraining import tfrecords

# The reference logs the first 20 examples it writes.
NUM_LOGGED_EXAMPLES = 20


@dataclasses.dataclass(frozen=True)
class CreatePretrainingDataParams:
    """Settings of one create_pretraining_data run (the script's flags)."""

    input_file: str
    output_file: str
    vocab_file: str
    do_lower_case: bool = True
    preserve_unused_tokens: bool = False
    do_whole_word_mask: bool = False
    max_seq_length: int = 128
    max_predictions_per_seq: int = 20
    random_seed: int = 12345
    dupe_factor: int = 10
    masked_lm_prob: float = 0.15
    short_seq_prob: float = 0.1
    num_workers: int = 1


def _check_params(params):
    checks = [
        (params.max_seq_length >= 5, "max_seq_length",
         "at least 5 ([CLS] A [SEP] B [SEP])"),
        (0.0 < params.masked_lm_prob < 1.0, "masked_lm_prob",
         "a probability strictly between 0 and 1"),
        (params.max_predictions_per_seq >= 1, "max_predictions_per_seq",
         "at least 1"),
        (0.0 <= params.short_seq_prob <= 1.0, "short_seq_prob",
         "a probability between 0 and 1"),
        (params.dupe_factor >= 1, "dupe_factor", "at least 1"),
        (params.num_workers >= 1, "num_workers", "at least 1"),
    ]
    for ok, name, expected in checks:
        if not ok:
            value = getattr(params, name)
            raise errors.UserInputError(
                f"--{name}={value}: expected {expected}")


def _input_files(pattern):
    files = file_io.expand_patterns(pattern, "--input_file")
    for path in files:
        if tf.io.gfile.isdir(path):
            raise errors.UserInputError(
                f"--input_file={pattern!r} matches {path!r}, a directory")
    return files


def _output_files(value):
    """The output files, each checked to be writable (nothing is created)."""
    files = value.split(",")
    if not all(files):
        raise errors.UserInputError(
            f"--output_file={value!r}: expected comma-separated file names")
    for path in files:
        file_io.require_writable(path, "--output_file")
    return files


def _tokenizer_and_symbols(vocab_file, do_lower_case, preserve_unused_tokens):
    file_io.require_file(vocab_file, "--vocab_file")
    tokenizer = tokenization.FullTokenizer(
        vocab_file, do_lower_case, preserve_unused_tokens
    )
    try:
        symbols = masking.Symbols.for_ids(tokenizer.vocab)
    except KeyError as e:
        raise errors.UserInputError(
            f"--vocab_file={vocab_file!r} has no {e.args[0]} entry") from None
    return tokenizer, symbols


def _lines(path, chunk_bytes=1 << 18):
    """Yields the lines of a file as bytes, as the original's gfile read them.

    Lines end at b"\\n" only, and every b"\\r" is dropped (TensorFlow's
    `ReadLine` skips them), so "a\\rb" is one word, as in the reference.
    """
    with file_io.open_text(path, "rb") as f:
        rest = b""
        while True:
            chunk = f.read(chunk_bytes)
            if not chunk:
                break
            lines = (rest + chunk).replace(b"\r", b"").split(b"\n")
            rest = lines.pop()
            yield from lines
        if rest:
            yield rest


def _read_corpus(input_files, tokenizer, shard_index=0, num_shards=1):
    try:
        return corpus_lib.read_corpus((_lines(f) for f in input_files),
                                     tokenizer, shard_index, num_shards,
                                     file_names=input_files)
    except KeyError as e:
        raise errors.UserInputError(
            f"--vocab_file: the tokenizer produced {e.args[0]!r}, which is "
            "not in the vocab") from None


class _Progress:
    """Logs "Wrote k/n instances (rate/s, ETA)" at most every few seconds."""

    def __init__(self, total, prefix=""):
        self.total = total
        self.prefix = prefix
        self.start = self.last = time.monotonic()

    def update(self, done):
        now = time.monotonic()
        if now - self.last < corpus_lib.PROGRESS_EVERY_S:
            return
        self.last = now
        elapsed = max(now - self.start, 1e-9)
        logging.info("%sWrote %d/%d instances (%.0f/s, ETA %.0f s)",
                     self.prefix, done, self.total, done / elapsed,
                     (self.total - done) * elapsed / done)


def _instance_features(corpus_tokens, record, symbols):
    """Rebuilds (input_ids, len(A), positions, label ids, is_random_next)."""
    a_start, a_end, b_start, b_end, is_random_next, masked = record
    ids = instances.instance_tokens(corpus_tokens, a_start, a_end, b_start,
                                    b_end, symbols)
    positions = [p for p, _ in masked]
    labels = [ids[p] for p in positions]
    for position, replacement in masked:
        ids[position] = replacement
    return ids, a_end - a_start, positions, labels, int(is_random_next)


def _log_example(encoder, id_to_token, ids, num_a_tokens, positions, labels,
                 next_sentence_label):
    """The reference's "*** Example ***" block, from unpadded values."""
    seq = encoder.max_seq_length
    pad = seq - len(ids)
    pad_predictions = encoder.max_predictions_per_seq - len(positions)
    values = {
        "input_ids": ids + [0] * pad,
        "input_mask": [1] * len(ids) + [0] * pad,
        "segment_ids": ([0] * (num_a_tokens + 2) +
                        [1] * (len(ids) - num_a_tokens - 2) + [0] * pad),
        "masked_lm_positions": positions + [0] * pad_predictions,
        "masked_lm_ids": labels + [0] * pad_predictions,
        "masked_lm_weights": [1.0] * len(positions) + [0.0] * pad_predictions,
        "next_sentence_labels": [next_sentence_label],
    }
    logging.info("*** Example ***")
    logging.info("tokens: %s", " ".join(id_to_token[i] for i in ids))
    for name in tfrecords.FEATURE_NAMES:
        logging.info("%s: %s", name, " ".join(str(x) for x in values[name]))


def _sample(corpus, params, symbols, rng, store):
    """Fills `store` with every instance; returns the final permutation."""
    for record in instances.generate(
            corpus, params.dupe_factor, params.max_seq_length,
            params.short_seq_prob, params.masked_lm_prob,
            params.max_predictions_per_seq, symbols, rng,
            params.do_whole_word_mask):
        store.append(*record)
    store.flush()
    logging.info("Sampled %d instances", len(store))
    return instances.shuffled_indices(len(store), rng)


def _encoded_instances(corpus, store, permutation, symbols, encoder,
                       log=None):
    """Yields serialized examples in output order; `log` sees the first 20."""
    tokens = corpus.tokens
    for k, index in enumerate(permutation):
        features = _instance_features(tokens, store[index], symbols)
        if log is not None and k < NUM_LOGGED_EXAMPLES:
            log(*features)
        yield encoder.encode(*features)


def _prepare_outputs(output_files):
    logging.info("*** Writing to output files ***")
    for path in output_files:
        logging.info("  %s", path)
        directory = os.path.dirname(path)
        if directory:
            file_io.makedirs(directory)


def _write_round_robin(paths, examples, total, sizes=None, log_prefix=""):
    """Writes example k to paths[k % len(paths)]; returns the count.

    With `sizes` (one list per path), also appends there the byte size of
    each framed record: length, its CRC, the data and its CRC.
    """
    writers = [tf.io.TFRecordWriter(p) for p in paths]
    progress = _Progress(total, log_prefix)
    written = 0
    try:
        for data in examples:
            writers[written % len(writers)].write(data)
            if sizes is not None:
                sizes[written % len(writers)].append(len(data) + 16)
            written += 1
            progress.update(written)
    finally:
        for writer in writers:
            writer.close()
    return written


def _no_documents(params):
    return errors.UserInputError(
        f"--input_file={params.input_file!r}: no documents (every line is "
        "blank or tokenizes to nothing)")


def run(params):
    """Creates the pre-training TFRecords described by `params`.

    Args:
      params: `CreatePretrainingDataParams`.

    Returns:
      int, the number of instances written.

    Raises:
      bert_tf.errors.UserInputError: bad flags, files or vocab; no output
        file is created then.
    """
    _check_params(params)
    output_files = _output_files(params.output_file)
    input_files = _input_files(params.input_file)
    tokenizer, symbols = _tokenizer_and_symbols(
        params.vocab_file, params.do_lower_case, params.preserve_unused_tokens
    )
    # A killed run left these; this run writes the same names.
    for path in output_files:
        file_io.remove_stale_temporaries(path)
    logging.info("*** Reading from input files ***")
    for path in input_files:
        logging.info("  %s", path)
    encoder = tfrecords.ExampleEncoder(params.max_seq_length,
                             params.max_predictions_per_seq,
                             max(tokenizer.vocab.values()))
    id_to_token = tokenizer.inv_vocab

    def log(*features):
        _log_example(encoder, id_to_token, *features)

    if params.num_workers > 1:
        written = _run_sharded(params, input_files, output_files, tokenizer,
                               symbols, encoder, log)
    else:
        corpus = _read_corpus(input_files, tokenizer)
        if corpus.num_documents == 0:
            raise _no_documents(params)
        rng = random.Random(params.random_seed)
        with tempfile.TemporaryFile(buffering=0) as spill:
            store = corpus_lib.InstanceStore(spill,
                                             params.max_predictions_per_seq)
            permutation = _sample(corpus, params, symbols, rng, store)
            examples = _encoded_instances(corpus, store, permutation, symbols,
                                          encoder, log)
            _prepare_outputs(output_files)
            with file_io.atomic_outputs(output_files) as temporaries:
                written = _write_round_robin(temporaries, examples,
                                             len(permutation))
    logging.info("Wrote %d total instances", written)
    return written


def shard_seed(random_seed, shard_index):
    """The seed of shard `shard_index`'s `random.Random` in sharded mode.

    `random.seed` hashes a str seed with SHA-512, so the streams of
    different (seed, shard) pairs are unrelated and the same everywhere.
    """
    return f"bert_tf pretraining data: seed {random_seed}, shard {shard_index}"


def merge_seed(random_seed):
    """The seed of the `random.Random` that interleaves the shards."""
    return f"bert_tf pretraining data: seed {random_seed}, merge"


# Set by _run_sharded just before the workers fork, so that they inherit the
# tokenizer instead of receiving it pickled.
_SHARD_CONTEXT = None

# Records per block when the shards are interleaved.
MERGE_BLOCK = 64


def _run_shard(shard_index):
    """Worker: samples one shard; writes its shuffled examples as TFRecords.

    Example i of the shard goes to part file i % len(output_files), as the
    reference's round robin.

    Returns:
      (number of documents, per output file: (part file path, `array("q")`
      of the byte size of each framed record in it)).
    """
    (params, input_files, num_outputs, tokenizer, symbols, encoder,
     work_dir) = _SHARD_CONTEXT
    corpus = _read_corpus(input_files, tokenizer, shard_index,
                          params.num_workers)
    if corpus.num_documents == 0:
        return 0, []
    rng = random.Random(shard_seed(params.random_seed, shard_index))
    paths = [os.path.join(work_dir, f"shard-{shard_index}-{f}.tfrecord")
             for f in range(num_outputs)]
    sizes = [array.array("q") for _ in paths]
    with tempfile.TemporaryFile(buffering=0, dir=work_dir) as spill:
        store = corpus_lib.InstanceStore(spill, params.max_predictions_per_seq)
        permutation = _sample(corpus, params, symbols, rng, store)
        examples = _encoded_instances(corpus, store, permutation, symbols,
                                      encoder)
        _write_round_robin(paths, examples, len(permutation), sizes,
                           f"Shard {shard_index}: ")
    return corpus.num_documents, list(zip(paths, sizes))


def _frames(block, sizes):
    """Splits `block` (consecutive framed records) into the records' data."""
    offset = 0
    for size in sizes:
        yield block[offset + 12:offset + size - 4]
        offset += size


def _merge_parts(parts, output, rng, log=None):
    """Interleaves shards' part files into `output` in blocks of records.

    The next block comes from a shard chosen with probability proportional
    to the records it has left, so the interleave is uniformly random at
    block granularity; each shard's records are already shuffled. Blocks of
    `MERGE_BLOCK` records, fewer than the 100-record shuffle buffer of
    run_pretraining's input pipeline, are copied as bytes (TFRecord frames
    carry their own CRCs).

    Args:
      parts: list of (path, record sizes) of the shards' parts of `output`.
      output: writable binary file.
      rng: `random.Random` choosing the shards.
      log: if given, called with the features of the first records.
    """
    getrandbits = rng.getrandbits
    readers = [open(path, "rb") for path, _ in parts]
    positions = [0] * len(parts)
    remaining = [len(sizes) for _, sizes in parts]
    total = sum(remaining)
    logged = 0
    try:
        while total:
            r = python_random.randbelow(getrandbits, total)
            shard = 0
            while r >= remaining[shard]:
                r -= remaining[shard]
                shard += 1
            start = positions[shard]
            count = min(MERGE_BLOCK, remaining[shard])
            sizes = parts[shard][1][start:start + count]
            block = readers[shard].read(sum(sizes))
            output.write(block)
            if log is not None and logged < NUM_LOGGED_EXAMPLES:
                for data in _frames(block, sizes):
                    if logged == NUM_LOGGED_EXAMPLES:
                        break
                    log(*tfrecords.decode_example(data))
                    logged += 1
            positions[shard] += count
            remaining[shard] -= count
            total -= count
    finally:
        for reader in readers:
            reader.close()



def _run_sharded(params, input_files, output_files, tokenizer, symbols,
                 encoder, log):
    global _SHARD_CONTEXT
    if "fork" not in multiprocessing.get_all_start_methods():
        raise errors.UserInputError(
            f"--num_workers={params.num_workers}: more than 1 worker needs "
            "the 'fork' start method, which this platform lacks")
    work_dir = tempfile.mkdtemp(prefix="bert_tf_pretraining_")
    try:
        _SHARD_CONTEXT = (params, input_files, len(output_files), tokenizer,
                          symbols, encoder, work_dir)
        # fork, so that the workers inherit the tokenizer. They use no
        # TensorFlow state besides file reads and TFRecordWriters.
        context = multiprocessing.get_context("fork")
        logging.info("Sharding documents over %d processes",
                     params.num_workers)
        with context.Pool(params.num_workers - 1) as pool:
            others = pool.map_async(_run_shard, range(1, params.num_workers),
                                    chunksize=1)
            # This process samples shard 0 instead of waiting idle.
            results = [_run_shard(0)] + others.get()
        for shard_index, (documents, parts) in enumerate(results):
            logging.info("Shard %d: %d documents, %d instances", shard_index,
                         documents, sum(len(sizes) for _, sizes in parts))
        if not any(documents for documents, _ in results):
            raise _no_documents(params)
        _prepare_outputs(output_files)
        rng = random.Random(merge_seed(params.random_seed))
        written = 0
        with file_io.atomic_outputs(output_files) as temporaries:
            for f, temporary in enumerate(temporaries):
                parts = [shard_parts[f] for _, shard_parts in results
                         if shard_parts]
                with file_io.open_text(temporary, "wb") as output:
                    _merge_parts(parts, output, rng, log if f == 0 else None)
                written += sum(len(sizes) for _, sizes in parts)
        return written
    finally:
        _SHARD_CONTEXT = None
        shutil.rmtree(work_dir, ignore_errors=True)
