"""Pre-training instances, sampled exactly as the reference does.

Replaces the sampling half of create_pretraining_data.py in
google-research/bert: `create_instances_from_document` and
`truncate_seq_pair`, with one `random.Random` shared by them and by
`bert_tf.pretraining.masking` in the reference's call order (SPEC 5.3).

`document_spans` follows the reference's steps for one document: draw a
target length (`_target_seq_length`), gather segments into a chunk, split
the chunk into A and B (B from another document for a "random next" pair,
`_random_next_span`), and truncate the pair (`truncate_spans`).

How this differs from the original, without changing a single output bit:

* Instances are sampled as spans into a `bert_tf.pretraining.corpus.Corpus`
  (one flat array of token ids) plus masked positions and replacement ids,
  not as lists of strings. Output tokens are rebuilt from the spans when
  written.
* The random draws come from `bert_tf.pretraining.python_random`.

The string-based functions (`create_instances_from_document`,
`truncate_seq_pair`, `TrainingInstance`) keep the reference's arguments for
callers and tests; they run the same code as the id-based path. This module
does not open files or write TFRecords (see
`bert_tf.pretraining.create_data`).
"""

import array
import time

from absl import logging

from bert_tf.pretraining import corpus as corpus_lib
from bert_tf.pretraining.masking import Symbols
from bert_tf.pretraining.masking import choose_masked_lm_replacements
from bert_tf.pretraining.masking import create_masked_lm_predictions
from bert_tf.pretraining.python_random import randbelow
from bert_tf.pretraining.python_random import shuffle


class TrainingInstance:
    """A single training instance (sentence pair), as in the reference."""

    def __init__(self, tokens, segment_ids, masked_lm_positions,
                 masked_lm_labels, is_random_next):
        self.tokens = tokens
        self.segment_ids = segment_ids
        self.is_random_next = is_random_next
        self.masked_lm_positions = masked_lm_positions
        self.masked_lm_labels = masked_lm_labels

    def __str__(self):
        return (
            f"tokens: {' '.join(self.tokens)}\n"
            f"segment_ids: {' '.join(str(x) for x in self.segment_ids)}\n"
            f"is_random_next: {self.is_random_next}\n"
            "masked_lm_positions: "
            f"{' '.join(str(x) for x in self.masked_lm_positions)}\n"
            f"masked_lm_labels: {' '.join(self.masked_lm_labels)}\n\n")

    __repr__ = __str__


def truncate_seq_pair(tokens_a, tokens_b, max_num_tokens, rng):
    """Truncates two lists in place to at most `max_num_tokens` together.

    Example: with seed 12345 the draws are 0.42, 0.01, 0.83, so
    `list("abcdef"), list("xy")` cut to 5 tokens lose "a", "b", then "f":
    `list("cde"), list("xy")`.

    Same cuts and draws as `truncate_spans`, which does the work.
    """
    a_start, a_end, b_start, b_end = truncate_spans(
        0, len(tokens_a), 0, len(tokens_b), max_num_tokens, rng)
    del tokens_a[a_end:], tokens_a[:a_start]
    del tokens_b[b_end:], tokens_b[:b_start]


def truncate_spans(a_start, a_end, b_start, b_end, max_num_tokens, rng):
    """The reference's `truncate_seq_pair` on [start, end) spans.

    The longer span (B on ties) loses one token at a time until both fit in
    `max_num_tokens`: from the front or the back at random, so that neither
    end is always the one cut. One `rng.random()` per removed token.

    Returns:
      (a_start, a_end, b_start, b_end) after truncation.
    """
    random = rng.random
    while (a_end - a_start) + (b_end - b_start) > max_num_tokens:
        if (a_end - a_start) > (b_end - b_start):
            if random() < 0.5:
                a_start += 1
            else:
                a_end -= 1
        elif random() < 0.5:
            b_start += 1
        else:
            b_end -= 1
    return a_start, a_end, b_start, b_end


def document_spans(corpus, order, document_index, max_seq_length,
                   short_seq_prob, rng):
    """Yields the (A, B) pairs the reference builds from one document.

    Args:
      corpus: `corpus_lib.Corpus`.
      order: sequence mapping shuffled document index -> corpus document.
      document_index: index into `order` of the document to split.
      max_seq_length: int, the hard limit including [CLS] and two [SEP]s.
      short_seq_prob: probability of a shorter target length for this
        document and pass.
      rng: the shared `random.Random`.

    Yields:
      (a_start, a_end, b_start, b_end, is_random_next): A is
      `corpus.tokens[a_start:a_end]`, B likewise, after truncation.
    """
    getrandbits = rng.getrandbits
    seg = corpus.segment_starts
    max_num_tokens = max_seq_length - 3
    target_seq_length = _target_seq_length(max_num_tokens, short_seq_prob,
                                           rng)
    first = corpus.document_starts[order[document_index]]
    num_segments = corpus.document_starts[order[document_index] + 1] - first
    # The chunk is the run of segments [chunk_start, chunk_start + chunk_size).
    # A and B follow real sentence boundaries, not an arbitrary split point,
    # which would make next-sentence prediction too easy.
    chunk_start = first
    chunk_size = 0
    current_length = 0
    i = 0
    while i < num_segments:
        if chunk_size == 0:
            chunk_start = first + i
        chunk_size += 1
        current_length += seg[first + i + 1] - seg[first + i]
        if i == num_segments - 1 or current_length >= target_seq_length:
            # How many chunk segments go into A.
            a_segments = 1
            if chunk_size >= 2:
                a_segments = 1 + randbelow(getrandbits, chunk_size - 1)
            a_start = seg[chunk_start]
            a_end = seg[chunk_start + a_segments]
            is_random_next = chunk_size == 1 or rng.random() < 0.5
            if is_random_next:
                b_start, b_end = _random_next_span(
                    corpus, order, document_index,
                    target_seq_length - (a_end - a_start), rng)
                # The chunk's unused B segments are "put back" and read again.
                i -= chunk_size - a_segments
            else:
                b_start = a_end
                b_end = seg[chunk_start + chunk_size]
            yield (*truncate_spans(a_start, a_end, b_start, b_end,
                                   max_num_tokens, rng), is_random_next)
            chunk_size = 0
            current_length = 0
        i += 1


def _target_seq_length(max_num_tokens, short_seq_prob, rng):
    """The length one document's pairs aim for, drawn once per pass."""
    # We *usually* fill the whole sequence, since it is padded to
    # max_seq_length anyway, but *sometimes* use a shorter target so that
    # pre-training sees lengths like fine-tuning. The target is a soft goal;
    # max_seq_length is the hard limit.
    if rng.random() < short_seq_prob:
        return 2 + randbelow(rng.getrandbits, max_num_tokens - 1)
    return max_num_tokens


def _random_next_span(corpus, order, document_index, target_b_length, rng):
    """B for a "random next" pair: segments from a random other document.

    Starts at a random segment and takes at least one, stopping at the first
    that brings B to `target_b_length` tokens or at the document's end.

    Returns:
      (b_start, b_end), a span of `corpus.tokens`.
    """
    getrandbits = rng.getrandbits
    # Avoid taking B from this document; 10 tries (rarely more than one on a
    # large corpus), after which the last draw is used as it is.
    for _ in range(10):
        random_index = randbelow(getrandbits, len(order))
        if random_index != document_index:
            break
    other = order[random_index]
    other_first = corpus.document_starts[other]
    other_end = corpus.document_starts[other + 1]
    seg = corpus.segment_starts
    j = other_first + randbelow(getrandbits, other_end - other_first)
    b_start = b_end = seg[j]
    while j < other_end:
        j += 1
        b_end = seg[j]
        if b_end - b_start >= target_b_length:
            break
    return b_start, b_end


def instance_tokens(corpus_tokens, a_start, a_end, b_start, b_end, symbols):
    """[CLS] A [SEP] B [SEP] as a list."""
    tokens = [symbols.cls]
    tokens += corpus_tokens[a_start:a_end]
    tokens.append(symbols.sep)
    tokens += corpus_tokens[b_start:b_end]
    tokens.append(symbols.sep)
    return tokens


def generate(corpus, dupe_factor, max_seq_length, short_seq_prob,
             masked_lm_prob, max_predictions_per_seq, symbols, rng,
             do_whole_word_mask=False):
    """Yields every instance of every pass, in the reference's order.

    Shuffles the documents first (one `rng.shuffle`), then runs
    `dupe_factor` passes over them. The caller shuffles the instances
    afterwards with `shuffled_indices` to finish the reference's rng stream.

    Yields:
      (a_start, a_end, b_start, b_end, is_random_next, masked), `masked` as
      returned by `choose_masked_lm_replacements`.
    """
    if max_seq_length < 5:
        raise ValueError(f"max_seq_length={max_seq_length} < 5")
    order = list(range(corpus.num_documents))
    shuffle(order, rng)
    tokens = corpus.tokens
    # Text never tokenizes to [CLS] or [SEP] (the brackets are split off),
    # but a Corpus built by hand may hold them.
    boundaries_known = (symbols.cls not in tokens and
                        symbols.sep not in tokens)
    total = dupe_factor * len(order)
    done = sampled = 0
    start = last_log = time.monotonic()
    for _ in range(dupe_factor):
        for document_index in range(len(order)):
            for span in document_spans(corpus, order, document_index,
                                       max_seq_length, short_seq_prob, rng):
                instance = instance_tokens(tokens, *span[:4], symbols)
                masked = choose_masked_lm_replacements(
                    instance, masked_lm_prob, max_predictions_per_seq,
                    symbols, rng, do_whole_word_mask,
                    span[1] - span[0] if boundaries_known else None)
                sampled += 1
                yield (*span, masked)
            done += 1
            now = time.monotonic()
            if now - last_log >= corpus_lib.PROGRESS_EVERY_S:
                last_log = now
                elapsed = max(now - start, 1e-9)
                logging.info(
                    "Sampled %d instances from %d/%d document passes "
                    "(%.0f instances/s, ETA %.0f s)", sampled, done, total,
                    sampled / elapsed, (total - done) * elapsed / done)


def shuffled_indices(num_instances, rng):
    """The reference's final `rng.shuffle(instances)`, as a permutation.

    Returns:
      `array("i")` p: output position k holds instance p[k].
    """
    if num_instances >= 2**31:
        raise ValueError("more than 2**31 instances: shard the input")
    permutation = array.array("i", range(num_instances))
    shuffle(permutation, rng)
    return permutation


def create_training_instances(files_lines, tokenizer, max_seq_length,
                              dupe_factor, short_seq_prob, masked_lm_prob,
                              max_predictions_per_seq, rng,
                              do_whole_word_mask=False):
    """The reference's `create_training_instances`, held in memory.

    For tests and small inputs; `bert_tf.pretraining.create_data.run`
    streams the same instances through a `corpus_lib.InstanceStore` instead.

    Args:
      files_lines: one iterable of lines per input file (see
        `corpus_lib.read_corpus`).
      tokenizer: `FullTokenizer`.
      others: as the reference's flags; rng is `random.Random(random_seed)`.

    Returns:
      list of `TrainingInstance` with str tokens, in output order.
    """
    corpus = corpus_lib.read_corpus(files_lines, tokenizer)
    symbols = Symbols.for_ids(tokenizer.vocab)
    id_to_token = tokenizer.inv_vocab
    instances = []
    for (a_start, a_end, b_start, b_end, is_random_next, masked) in generate(
            corpus, dupe_factor, max_seq_length, short_seq_prob,
            masked_lm_prob, max_predictions_per_seq, symbols, rng,
            do_whole_word_mask):
        ids = instance_tokens(corpus.tokens, a_start, a_end, b_start, b_end,
                              symbols)
        instances.append(_to_training_instance(
            ids, a_end - a_start, is_random_next, masked, id_to_token))
    permutation = shuffled_indices(len(instances), rng)
    return [instances[k] for k in permutation]


def _to_training_instance(ids, len_a, is_random_next, masked, id_to_token):
    labels = [id_to_token[ids[p]] for p, _ in masked]
    for position, replacement in masked:
        ids[position] = replacement
    return TrainingInstance(
        tokens=[id_to_token[i] for i in ids],
        segment_ids=[0] * (len_a + 2) + [1] * (len(ids) - len_a - 2),
        masked_lm_positions=[p for p, _ in masked],
        masked_lm_labels=labels,
        is_random_next=is_random_next)


def create_instances_from_document(all_documents, document_index,
                                   max_seq_length, short_seq_prob,
                                   masked_lm_prob, max_predictions_per_seq,
                                   vocab_words, rng, do_whole_word_mask=False):
    """The reference's per-document sampling, on lists of str tokens.

    Builds a `Corpus` from `all_documents` on every call (O(corpus)); the
    streaming path builds it once.

    Args:
      all_documents: list of documents, each a list of segments, each a
        non-empty list of str tokens; already shuffled.
      document_index: the document to split into instances.
      others: as `generate`; `vocab_words` in vocab order.

    Returns:
      list of `TrainingInstance`.
    """
    corpus = corpus_lib.Corpus.from_documents(all_documents)
    if corpus.num_documents != len(all_documents):
        raise ValueError("all_documents must not hold empty documents")
    symbols = Symbols.for_strings(vocab_words)
    instances = []
    for (a_start, a_end, b_start, b_end, is_random_next) in document_spans(
            corpus, range(corpus.num_documents), document_index,
            max_seq_length, short_seq_prob, rng):
        tokens = instance_tokens(corpus.tokens, a_start, a_end, b_start, b_end,
                                 symbols)
        output, positions, labels = create_masked_lm_predictions(
            tokens, masked_lm_prob, max_predictions_per_seq, vocab_words, rng,
            do_whole_word_mask, symbols)
        len_a = a_end - a_start
        instances.append(TrainingInstance(
            tokens=output,
            segment_ids=[0] * (len_a + 2) + [1] * (len(tokens) - len_a - 2),
            masked_lm_positions=positions,
            masked_lm_labels=labels,
            is_random_next=is_random_next))
    return instances
