"""The corpus and the sampled instances, held compactly.

Replaces the reference's reading loop in create_pretraining_data.py (its
`all_documents` list of lists of str tokens) and its list of
`TrainingInstance`s, without changing what is sampled from them:

* `Corpus` keeps the documents as one flat `array("i")` of token ids plus
  segment and document offsets, about 4 bytes per token instead of about 60.
  `read_corpus` fills it as the reference's reading loop does.
* `InstanceStore` keeps each instance as spans into that array plus its
  masked positions and replacement ids, in fixed-size records in a
  temporary file, so that the final shuffle can stream.

What stays in memory grows by 4 bytes per corpus token and 4 bytes per
instance (the final permutation), which cannot be avoided: the reference
picks B segments from any document and shuffles all instances at the end.

This module does not open files (callers pass the lines) or import
TensorFlow; the sampling itself is in `bert_tf.pretraining.instances`.
"""

import array
import os
import struct
import time

from absl import logging

from bert_tf import tokenization

# How often every stage of create_pretraining_data logs a progress line.
PROGRESS_EVERY_S = 10.0


class Corpus:
    """Documents as one flat token array with segment and document offsets.

    Attributes:
      tokens: flat sequence of all tokens (ids in an `array("i")`, or str).
      segment_starts: `array("q")`; segment s is
        `tokens[segment_starts[s]:segment_starts[s + 1]]`.
      document_starts: `array("q")`; document d is segments
        `document_starts[d]` to `document_starts[d + 1] - 1`.
    Empty documents are never stored (the reference removes them).
    """

    def __init__(self, tokens=None):
        self.tokens = array.array("i") if tokens is None else tokens
        self.segment_starts = array.array("q", [0])
        self.document_starts = array.array("q", [0])

    @property
    def num_documents(self):
        return len(self.document_starts) - 1

    @property
    def num_tokens(self):
        return len(self.tokens)

    def add_segment(self, tokens):
        self.tokens.extend(tokens)
        self.segment_starts.append(len(self.tokens))

    def end_document(self):
        """Closes the current document; an empty one is dropped."""
        num_segments = len(self.segment_starts) - 1
        if num_segments > self.document_starts[-1]:
            self.document_starts.append(num_segments)

    @classmethod
    def from_documents(cls, all_documents):
        """A str corpus from the reference's list of documents of segments."""
        corpus = cls(tokens=[])
        for document in all_documents:
            for segment in document:
                if segment:
                    corpus.add_segment(segment)
            corpus.end_document()
        return corpus


def _decoded_lines(lines, name, warn):
    """Yields `lines` as str: UTF-8, undecodable bytes dropped.

    The reference crashed on such bytes; they are dropped as
    `convert_to_unicode` does, and with `warn` the number of lines that had
    any is logged once, after the last line of the file `name`.
    """
    num_undecodable = 0
    for line in lines:
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError:
                num_undecodable += 1
        yield tokenization.convert_to_unicode(line)
    if warn and num_undecodable:
        logging.warning(
            "%s: %d line(s) hold bytes that are not UTF-8; those bytes were "
            "dropped", name, num_undecodable)


def read_corpus(files_lines, tokenizer, shard_index=0, num_shards=1,
                file_names=None):
    """Reads and tokenizes documents, as the reference's reading loop.

    Each line is decoded (`convert_to_unicode`: UTF-8, undecodable bytes
    dropped, with a warning per file that has any) and stripped; an empty
    line starts a new document, any other line that tokenizes to something
    is one segment of the current document. Documents continue across file
    boundaries. Empty documents are dropped.

    Args:
      files_lines: iterable with one iterable of lines (bytes or str) per
        input file, in input order.
      tokenizer: `FullTokenizer`.
      shard_index, num_shards: keep only the documents whose index in the
        input (empty ones counted) is `shard_index` modulo `num_shards`.
      file_names: optional names of the files, for the warnings (shard 0
        only warns: every shard reads every line).

    Returns:
      `Corpus` of token ids.
    """
    corpus = Corpus()
    tokenize_to_ids = tokenizer.tokenize_to_ids
    document_index = 0
    keep = num_shards == 1 or shard_index == 0
    num_lines = 0
    start = last_log = time.monotonic()
    for file_index, lines in enumerate(files_lines):
        name = file_names[file_index] if file_names else f"input {file_index}"
        for line in _decoded_lines(lines, name, shard_index == 0):
            num_lines += 1
            if not num_lines % 4096:
                now = time.monotonic()
                if now - last_log >= PROGRESS_EVERY_S:
                    last_log = now
                    logging.info(
                        "Read %d lines, %d documents, %d tokens (%.0f lines/s)",
                        num_lines, corpus.num_documents, corpus.num_tokens,
                        num_lines / max(now - start, 1e-9))
            line = line.strip()
            if not line:
                corpus.end_document()
                document_index += 1
                keep = document_index % num_shards == shard_index
            elif keep:
                ids = tokenize_to_ids(line)
                if ids:
                    corpus.add_segment(ids)
    corpus.end_document()
    logging.info("Read %d lines, %d documents, %d tokens in %.1f s",
                 num_lines, corpus.num_documents, corpus.num_tokens,
                 time.monotonic() - start)
    return corpus


class InstanceStore:
    """Compact instances as fixed-size binary records in a file.

    A record holds the A and B spans into the corpus, the next-sentence
    label and up to `max_predictions_per_seq` (position, replacement id)
    pairs: 35 + 8 * max_predictions_per_seq bytes, whatever the sequence
    length. Records are appended in generation order and read back in any
    order, so the final shuffle can stream.

    Args:
      file: a binary file opened for reading and writing (e.g.
        `tempfile.TemporaryFile(buffering=0)`); the caller closes it.
      max_predictions_per_seq: int.
    """

    _BUFFER_BYTES = 1 << 20

    def __init__(self, file, max_predictions_per_seq):
        self._file = file
        self._max_predictions = max_predictions_per_seq
        self._struct = struct.Struct(
            f"<4qBH{max_predictions_per_seq}i{max_predictions_per_seq}i")
        self._buffer = bytearray()
        self._count = 0
        self._pread = getattr(os, "pread", None)

    def __len__(self):
        return self._count

    def append(self, a_start, a_end, b_start, b_end, is_random_next, masked):
        padding = (0,) * (self._max_predictions - len(masked))
        self._buffer += self._struct.pack(
            a_start, a_end, b_start, b_end, is_random_next, len(masked),
            *[p for p, _ in masked], *padding,
            *[r for _, r in masked], *padding)
        self._count += 1
        if len(self._buffer) >= self._BUFFER_BYTES:
            self.flush()

    def flush(self):
        self._file.write(self._buffer)
        self._file.flush()
        self._buffer = bytearray()

    def __getitem__(self, k):
        """Returns (a_start, a_end, b_start, b_end, is_random_next, masked)."""
        if self._buffer:
            self.flush()
        size = self._struct.size
        if self._pread is not None:
            record = self._pread(self._file.fileno(), size, k * size)
        else:
            self._file.seek(k * size)
            record = self._file.read(size)
        values = self._struct.unpack(record)
        n = values[5]
        p = self._max_predictions
        masked = list(zip(values[6:6 + n], values[6 + p:6 + p + n]))
        return (*values[:4], bool(values[4]), masked)
