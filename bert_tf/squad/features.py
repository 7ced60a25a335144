"""SquadExamples -> fixed-length windows, their TFRecords and tf.data input.

Replaces `InputFeatures`, `convert_examples_to_features`,
`_improve_answer_span`, `_check_is_max_context`, `FeatureWriter` and
`input_fn_builder` of google-research/bert's run_squad.py. A document
longer than the sequence is cut into overlapping windows `doc_stride`
word pieces apart; each window is `[CLS] question [SEP] doc piece [SEP]`,
and every word piece records which window gives it the most context on
both sides, so that prediction takes each answer start from one window
only.

`convert_examples_to_features` takes the original's steps for each
example: tokenize the question and each document word
(`_tokenize_document`), find the answer's word pieces (`_answer_piece_span`,
training only), cut the windows (`_doc_spans`), then per window pack and
pad the tokens (`bert_tf.packing`), map them back to words
(`_window_maps`) and place the answer (`_window_answer_positions`).

The TFRecords hold the original's features (`unique_ids`, `input_ids`,
`input_mask`, `segment_ids`, and in training `start_positions`,
`end_positions`, `is_impossible`), so files written by either
implementation can be read by the other. Files appear under their final
name only once complete.
"""

import collections
import dataclasses
from typing import Dict, List, Optional

import tensorflow as tf
from absl import logging

from bert_tf import errors
from bert_tf import file_io
from bert_tf import packing
from bert_tf import records

# The first unique_id; the original's constant, so ids match its files.
FIRST_UNIQUE_ID = 1000000000
# Features of the first examples are logged in full, as the original did.
_NUM_LOGGED_EXAMPLES = 20

DocSpan = collections.namedtuple("DocSpan", ["start", "length"])


@dataclasses.dataclass
class InputFeatures:
    """One window of one example, ready for the model.

    Attributes:
      unique_id: int, FIRST_UNIQUE_ID + running feature number.
      example_index: int, position of the example in the list converted.
      doc_span_index: int, which window of the example this is.
      tokens: the max_seq_length-or-fewer tokens, `[CLS]` ... `[SEP]`.
      token_to_orig_map: {token position: doc_tokens index} for the
        document tokens of this window.
      token_is_max_context: {token position: bool} for the same positions,
        True where this window is the one with the most context.
      input_ids, input_mask, segment_ids: lists of max_seq_length ints,
        zero-padded.
      start_position, end_position: token positions of the answer in this
        window (training); 0 and 0 when the answer is not fully inside it
        or the question is impossible; None in prediction mode.
      is_impossible: the example's is_impossible.
    """

    unique_id: int
    example_index: int
    doc_span_index: int
    tokens: List[str]
    token_to_orig_map: Dict[int, int]
    token_is_max_context: Dict[int, bool]
    input_ids: List[int]
    input_mask: List[int]
    segment_ids: List[int]
    start_position: Optional[int] = None
    end_position: Optional[int] = None
    is_impossible: Optional[bool] = None


def _improve_answer_span(doc_tokens, input_start, input_end, tokenizer,
                         orig_answer_text):
    """Narrows a word-level answer span to the word pieces of the answer.

    Annotations are character spans, first mapped to whole words. Word
    pieces often allow a closer match: for the answer "1895" in the word
    "(1895-1943).", the pieces are `( 1895 - 1943 ) .` and the span can
    shrink to `1895`. If no sub-span spells the tokenized answer exactly
    (e.g. "Japan" annotated inside the single piece "japanese"), the word
    span is kept.

    Args:
      doc_tokens: the document's word pieces.
      input_start, input_end: inclusive piece indexes of the word span.
      tokenizer: a `FullTokenizer`.
      orig_answer_text: the annotated answer.

    Returns:
      (start, end): inclusive piece indexes; the longest matching sub-span
      with the earliest start, else (input_start, input_end).
    """
    tok_answer_text = " ".join(tokenizer.tokenize(orig_answer_text))
    for new_start in range(input_start, input_end + 1):
        for new_end in range(input_end, new_start - 1, -1):
            text_span = " ".join(doc_tokens[new_start:new_end + 1])
            if text_span == tok_answer_text:
                return new_start, new_end
    return input_start, input_end


def _check_is_max_context(doc_spans, cur_span_index, position):
    """Whether window `cur_span_index` gives piece `position` most context.

    With overlapping windows a piece appears in several of them. Its
    context in a window is the smaller of its left and right context (the
    pieces before and after it there); the window with the largest such
    minimum wins. For "the man went to the store and bought a gallon of
    milk" with windows B = "to the store and bought" and C = "and bought a
    gallon of", "bought" has context min(4, 0) in B and min(1, 3) in C, so
    C wins. A hundredth of the window length breaks ties in favour of
    longer windows; on an exact tie the first window wins.

    Args:
      doc_spans: list of `DocSpan`.
      cur_span_index: the window asked about.
      position: index into the document's word pieces.
    """
    best_score = None
    best_span_index = None
    for span_index, doc_span in enumerate(doc_spans):
        end = doc_span.start + doc_span.length - 1
        if position < doc_span.start or position > end:
            continue
        num_left_context = position - doc_span.start
        num_right_context = end - position
        score = (
            min(num_left_context, num_right_context) + 0.01 * doc_span.length
        )
        if best_score is None or score > best_score:
            best_score = score
            best_span_index = span_index
    return cur_span_index == best_span_index


def _doc_spans(num_doc_tokens, max_tokens_for_doc, doc_stride):
    """Sliding windows over the document: (start, length), in order.

    Each window holds up to max_tokens_for_doc pieces; the next starts
    doc_stride pieces later (or right after a shorter window), and the last
    one reaches the end of the document. An empty document has no window.
    """
    doc_spans = []
    start_offset = 0
    while start_offset < num_doc_tokens:
        length = min(num_doc_tokens - start_offset, max_tokens_for_doc)
        doc_spans.append(DocSpan(start=start_offset, length=length))
        if start_offset + length == num_doc_tokens:
            break
        start_offset += min(length, doc_stride)
    return doc_spans


def _tokenize_document(doc_tokens, tokenizer):
    """Word pieces of every word, with the maps both ways."""
    tok_to_orig_index = []
    orig_to_tok_index = []
    all_doc_tokens = []
    for i, token in enumerate(doc_tokens):
        orig_to_tok_index.append(len(all_doc_tokens))
        for sub_token in tokenizer.tokenize(token):
            tok_to_orig_index.append(i)
            all_doc_tokens.append(sub_token)
    return all_doc_tokens, tok_to_orig_index, orig_to_tok_index


def _answer_piece_span(example, all_doc_tokens, orig_to_tok_index, tokenizer):
    """The (start, end) word-piece span of a training example's answer."""
    if example.is_impossible:
        return -1, -1
    tok_start_position = orig_to_tok_index[example.start_position]
    if example.end_position < len(example.doc_tokens) - 1:
        tok_end_position = orig_to_tok_index[example.end_position + 1] - 1
    else:
        tok_end_position = len(all_doc_tokens) - 1
    return _improve_answer_span(
        all_doc_tokens, tok_start_position, tok_end_position, tokenizer,
        example.orig_answer_text,
    )


def _log_feature(feature, is_training):
    logging.info("*** Example ***")
    logging.info("unique_id: %s", feature.unique_id)
    logging.info("example_index: %s", feature.example_index)
    logging.info("doc_span_index: %s", feature.doc_span_index)
    logging.info("tokens: %s", " ".join(feature.tokens))
    logging.info("token_to_orig_map: %s", " ".join(
        f"{x}:{y}" for x, y in feature.token_to_orig_map.items()))
    logging.info("token_is_max_context: %s", " ".join(
        f"{x}:{y}" for x, y in feature.token_is_max_context.items()))
    logging.info("input_ids: %s", " ".join(map(str, feature.input_ids)))
    logging.info("input_mask: %s", " ".join(map(str, feature.input_mask)))
    logging.info("segment_ids: %s", " ".join(map(str, feature.segment_ids)))
    if is_training and feature.is_impossible:
        logging.info("impossible example")
    if is_training and not feature.is_impossible:
        start, end = feature.start_position, feature.end_position
        logging.info("start_position: %d", start)
        logging.info("end_position: %d", end)
        logging.info("answer: %s", " ".join(feature.tokens[start:end + 1]))


def convert_examples_to_features(examples, tokenizer, max_seq_length,
                                 doc_stride, max_query_length, is_training,
                                 output_fn):
    """Turns examples into windows and passes each to `output_fn`.

    Args:
      examples: list of `SquadExample`.
      tokenizer: a `FullTokenizer`.
      max_seq_length: int, length of every id list.
      doc_stride: int >= 1, word pieces between window starts.
      max_query_length: int; longer questions keep their first pieces.
      is_training: compute start/end positions from the examples' answers.
      output_fn: called with each `InputFeatures`, in order.

    Returns:
      the number of features produced.

    Raises:
      UserInputError: if max_seq_length <= max_query_length + 3 (no room for
        the document) or doc_stride < 1 (the windows would never advance).
    """
    if max_seq_length <= max_query_length + 3:
        raise errors.UserInputError(
            f"The max_seq_length ({max_seq_length}) must be greater than "
            f"max_query_length ({max_query_length}) + 3"
        )
    if doc_stride < 1:
        raise errors.UserInputError(
            f"doc_stride must be at least 1, got {doc_stride}"
        )
    unique_id = FIRST_UNIQUE_ID
    for example_index, example in enumerate(examples):
        for feature in _example_features(
            example, example_index, unique_id, tokenizer, max_seq_length,
            doc_stride, max_query_length, is_training,
        ):
            if example_index < _NUM_LOGGED_EXAMPLES:
                _log_feature(feature, is_training)
            output_fn(feature)
            unique_id += 1
    return unique_id - FIRST_UNIQUE_ID


def _example_features(example, example_index, first_unique_id, tokenizer,
                      max_seq_length, doc_stride, max_query_length,
                      is_training):
    """Yields the `InputFeatures` of every window of one example, in order.

    The windows get unique ids from `first_unique_id` on.
    """
    query_tokens = tokenizer.tokenize(example.question_text)
    query_tokens = query_tokens[:max_query_length]
    all_doc_tokens, tok_to_orig_index, orig_to_tok_index = (
        _tokenize_document(example.doc_tokens, tokenizer)
    )
    if is_training:
        answer_span = _answer_piece_span(
            example, all_doc_tokens, orig_to_tok_index, tokenizer
        )
    # Room for [CLS] and two [SEP].
    max_tokens_for_doc = max_seq_length - len(query_tokens) - 3
    doc_spans = _doc_spans(len(all_doc_tokens), max_tokens_for_doc, doc_stride)
    # Where the document's pieces start in a window: after [CLS] query [SEP].
    doc_offset = len(query_tokens) + 2
    for doc_span_index, doc_span in enumerate(doc_spans):
        tokens, segment_ids = packing.pack_pair(
            query_tokens,
            all_doc_tokens[doc_span.start:doc_span.start + doc_span.length],
        )
        token_to_orig_map, token_is_max_context = _window_maps(
            doc_spans, doc_span_index, doc_offset, tok_to_orig_index
        )
        input_ids, input_mask, segment_ids = packing.pad_inputs(
            tokenizer.convert_tokens_to_ids(tokens), segment_ids,
            max_seq_length,
        )
        start_position = end_position = None
        if is_training:
            start_position, end_position = _window_answer_positions(
                example.is_impossible, answer_span, doc_span, doc_offset
            )
        yield InputFeatures(
            unique_id=first_unique_id + doc_span_index,
            example_index=example_index,
            doc_span_index=doc_span_index,
            tokens=tokens,
            token_to_orig_map=token_to_orig_map,
            token_is_max_context=token_is_max_context,
            input_ids=input_ids,
            input_mask=input_mask,
            segment_ids=segment_ids,
            start_position=start_position,
            end_position=end_position,
            is_impossible=example.is_impossible,
        )


def _window_maps(doc_spans, doc_span_index, doc_offset, tok_to_orig_index):
    """What prediction needs to know of each document token of a window.

    Returns:
      (token_to_orig_map, token_is_max_context): dicts keyed by the token
      positions of the window's document pieces, in order, giving the word
      each piece comes from and whether this window gives it the most
      context (`_check_is_max_context`).
    """
    doc_span = doc_spans[doc_span_index]
    token_to_orig_map = {}
    token_is_max_context = {}
    for i in range(doc_span.length):
        split_token_index = doc_span.start + i
        token_to_orig_map[doc_offset + i] = tok_to_orig_index[split_token_index]
        token_is_max_context[doc_offset + i] = _check_is_max_context(
            doc_spans, doc_span_index, split_token_index
        )
    return token_to_orig_map, token_is_max_context


def _window_answer_positions(is_impossible, answer_span, doc_span,
                             doc_offset):
    """The answer's (start, end) token positions in one training window.

    A window that does not hold the whole answer is kept, pointing at
    [CLS] (position 0) like an impossible question.
    """
    tok_start_position, tok_end_position = answer_span
    doc_start = doc_span.start
    doc_end = doc_span.start + doc_span.length - 1
    if is_impossible or not (
        tok_start_position >= doc_start and tok_end_position <= doc_end
    ):
        return 0, 0
    return (tok_start_position - doc_start + doc_offset,
            tok_end_position - doc_start + doc_offset)


class FeatureWriter:
    """Writes `InputFeatures` to a TFRecord file as tf.train.Examples.

    The records go to a temporary file that `close()` renames to
    `filename`; `discard()` (or leaving a `with` block by an exception)
    removes it instead. Usable as `output_fn` of
    `convert_examples_to_features` through `process_feature`.

    Args:
      filename: path of the TFRecord file (gs:// works).
      is_training: also write `start_positions`, `end_positions` and
        `is_impossible`.
    """

    def __init__(self, filename, is_training):
        self.filename = filename
        self.is_training = is_training
        self.num_features = 0
        self._temporary = file_io.temporary_name(filename)
        self._writer = tf.io.TFRecordWriter(self._temporary)

    def process_feature(self, feature):
        """Appends one `InputFeatures` record."""
        self.num_features += 1
        features = collections.OrderedDict()
        features["unique_ids"] = records.int64_feature([feature.unique_id])
        features["input_ids"] = records.int64_feature(feature.input_ids)
        features["input_mask"] = records.int64_feature(feature.input_mask)
        features["segment_ids"] = records.int64_feature(feature.segment_ids)
        if self.is_training:
            features["start_positions"] = records.int64_feature(
                [feature.start_position]
            )
            features["end_positions"] = records.int64_feature([feature.end_position])
            features["is_impossible"] = records.int64_feature(
                [int(bool(feature.is_impossible))]
            )
        tf_example = tf.train.Example(
            features=tf.train.Features(feature=features)
        )
        self._writer.write(tf_example.SerializeToString())

    def close(self):
        """Finishes the file and moves it to its final name."""
        self._writer.close()
        file_io.commit(self._temporary, self.filename)

    def discard(self):
        """Closes and deletes the unfinished file."""
        self._writer.close()
        file_io.discard(self._temporary)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        if exc_type is None:
            self.close()
        else:
            self.discard()
        return False


def name_to_features(seq_length, is_training):
    """The parse spec of the SQuAD TFRecords.

    `is_impossible` is written in training files but, as in the original,
    not read back: the model does not need it.

    Returns:
      dict of feature name -> `tf.io.FixedLenFeature`.
    """
    spec = {
        "unique_ids": tf.io.FixedLenFeature([], tf.int64),
        "input_ids": tf.io.FixedLenFeature([seq_length], tf.int64),
        "input_mask": tf.io.FixedLenFeature([seq_length], tf.int64),
        "segment_ids": tf.io.FixedLenFeature([seq_length], tf.int64),
    }
    if is_training:
        spec["start_positions"] = tf.io.FixedLenFeature([], tf.int64)
        spec["end_positions"] = tf.io.FixedLenFeature([], tf.int64)
    return spec


def input_fn_builder(input_file, seq_length, is_training, drop_remainder,
                     batch_size, seed=None, vocab_size=None):
    """Returns `input_fn()` -> Dataset of dicts of [batch_size, ...] tensors.

    Args:
      input_file: a TFRecord file written by `FeatureWriter`.
      seq_length: int, the max_seq_length the file was written with.
      is_training: repeat forever and shuffle (buffer 100), as the original;
        also parse the start/end positions.
      drop_remainder: drop a last partial batch (training).
      batch_size: int, the global batch size.
      seed, vocab_size: as `records.single_file_input_fn` (a seeded
        shuffle; ids at or above bert_config.json's vocab_size fail).

    Returns:
      a callable with no arguments returning a `tf.data.Dataset` of dicts
      with `unique_ids` int32 [batch_size], `input_ids`, `input_mask`,
      `segment_ids` int32 [batch_size, seq_length], and in training
      `start_positions`, `end_positions` int32 [batch_size].
    """
    return records.single_file_input_fn(
        input_file,
        name_to_features(seq_length, is_training),
        is_training,
        drop_remainder,
        batch_size,
        seed,
        vocab_size,
    )
