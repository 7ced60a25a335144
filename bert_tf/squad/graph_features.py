"""run_squad.py's windows, built in the graph from raw question and context.

What `bert_tf.squad.features.convert_examples_to_features` does in Python,
as TensorFlow ops for the raw-text SavedModel (`bert_tf.squad.export`): the
context split into words on the SQuAD whitespace (`doc_words`), each word
into word pieces (`doc_pieces`), the pieces into windows `doc_stride`
apart, each `[CLS] question [SEP] pieces [SEP]` (`doc_windows`), and the
"max context" window of each piece (`is_max_context`). Batched: B
questions give Wt windows in all, question by question, as eval.tf_record.

Not here: training labels (the export only predicts).
"""

import tensorflow as tf

from bert_tf.classifier import export as classifier_export

# The original's SQuAD whitespace (`examples.is_whitespace`).
_SQUAD_WHITESPACE = "[ \t\r\n\u202f]"


def _positions_in_rows(ragged):
    """For each value of a 2-D ragged tensor, its index within its row."""
    return tf.ragged.range(ragged.row_lengths()).flat_values


def doc_words(context):
    """Splits contexts into words on the SQuAD whitespace.

    As `examples.split_paragraph`: a word is a maximal run of characters
    that are not " ", "\\t", "\\r", "\\n" or U+202F (a no-break space stays
    inside a word).

    Returns:
      (words, starts): string RaggedTensor [B, (W)] and int64 RaggedTensor
      [B, (W)] of each word's first character in its context.
    """
    chars = tf.strings.unicode_split(context, "UTF-8")  # [B, (C)]
    flat = chars.flat_values
    is_space = tf.strings.regex_full_match(flat, _SQUAD_WHITESPACE)
    position = _positions_in_rows(chars)
    previous_space = tf.concat([[True], is_space[:-1]], 0) | (position == 0)
    is_start = ~is_space & previous_space
    word_of_char = tf.cumsum(tf.cast(is_start, tf.int64)) - 1
    kept = ~is_space
    words = tf.strings.reduce_join(
        tf.RaggedTensor.from_value_rowids(
            flat[kept], word_of_char[kept],
            nrows=tf.reduce_sum(tf.cast(is_start, tf.int64)),
        ),
        axis=1,
    )
    words_per_row = tf.math.unsorted_segment_sum(
        tf.cast(is_start, tf.int64), chars.value_rowids(), chars.nrows()
    )
    return (
        tf.RaggedTensor.from_row_lengths(words, words_per_row),
        tf.RaggedTensor.from_row_lengths(position[is_start], words_per_row),
    )


def doc_pieces(tokenizer, words):
    """Word pieces of each word, joined per context.

    Each word is tokenized on its own, as `_tokenize_document` does.

    Returns:
      (pieces, piece_word): int32 RaggedTensors [B, (N)]: the piece ids and
      the index (in its context's words) of the word each came from.
    """
    by_word = tokenizer(words.flat_values)  # [total words, (pieces)]
    pieces = tf.RaggedTensor.from_row_lengths(by_word, words.row_lengths())
    pieces = pieces.merge_dims(1, 2)  # [B, (N)]
    word_index = by_word.value_rowids() - tf.gather(
        words.row_starts(), pieces.value_rowids()
    )
    return pieces, pieces.with_flat_values(tf.cast(word_index, tf.int32))


def _window_spans(num_pieces, query_length, settings):
    """The windows of `_doc_spans`, flat over the batch.

    Returns:
      (num_windows [B], question [Wt], start [Wt], length [Wt]), int32; a
      question whose document has no piece has no window.
    """
    max_tokens = settings.max_seq_length - query_length - 3  # [B]
    # Each window holds max_tokens pieces and the next starts doc_stride
    # later, or right after it when doc_stride is larger.
    step = tf.minimum(max_tokens, settings.doc_stride)
    beyond_first = tf.maximum(num_pieces - max_tokens, 0)
    num_windows = tf.where(
        num_pieces > 0, 1 + (beyond_first + step - 1) // step, 0
    )
    question = tf.repeat(tf.range(tf.size(num_pieces)), num_windows)
    index = tf.ragged.range(num_windows).flat_values
    start = index * tf.gather(step, question)
    length = tf.minimum(
        tf.gather(num_pieces, question) - start,
        tf.gather(max_tokens, question),
    )
    return num_windows, question, start, length


def doc_windows(tokenizer, question, context, cls_id, sep_id, settings):
    """`convert_examples_to_features` on raw text: every window's features.

    Args:
      tokenizer: a `GraphTokenizer`.
      question, context: string Tensors [B].
      cls_id, sep_id: the ids of [CLS] and [SEP].
      settings: a `SpanSettings`.

    Returns:
      dict: `input_ids`, `input_mask`, `segment_ids` int32 [Wt, S] of the
      Wt windows, question by question, window by window (the order of
      eval.tf_record); `num_windows` [B]; per window `question`, `start`
      (first document piece), `length`, `doc_offset` (position of that
      piece in the window); and the documents' `words`, `word_starts`,
      `pieces`, `piece_word` (see `doc_words`, `doc_pieces`).
    """
    words, word_starts = doc_words(context)
    pieces, piece_word = doc_pieces(tokenizer, words)
    query = tokenizer(question)[:, : settings.max_query_length]
    query_length = tf.cast(query.row_lengths(), tf.int32)
    num_windows, window_question, start, length = _window_spans(
        tf.cast(pieces.row_lengths(), tf.int32), query_length, settings
    )
    first = tf.gather(tf.cast(pieces.row_starts(), tf.int32), window_question)
    window_pieces = tf.ragged.range(first + start, first + start + length)
    window_pieces = window_pieces.with_flat_values(
        tf.gather(pieces.flat_values, window_pieces.flat_values)
    )
    ones = tf.ones_like(start)
    window_query_length = tf.gather(query_length, window_question)
    tokens = tf.concat([
        classifier_export.constant_rows(cls_id, ones),
        tf.gather(query, window_question),
        classifier_export.constant_rows(sep_id, ones),
        window_pieces,
        classifier_export.constant_rows(sep_id, ones),
    ], axis=1)
    segments = tf.concat([
        classifier_export.constant_rows(0, window_query_length + 2),
        classifier_export.constant_rows(1, length + 1),
    ], axis=1)
    shape = [None, settings.max_seq_length]
    return {
        "input_ids": tokens.to_tensor(0, shape=shape),
        "input_mask": tf.ones_like(tokens).to_tensor(0, shape=shape),
        "segment_ids": segments.to_tensor(0, shape=shape),
        "num_windows": num_windows,
        "question": window_question,
        "start": start,
        "length": length,
        "doc_offset": window_query_length + 2,
        "words": words,
        "word_starts": word_starts,
        "pieces": pieces,
        "piece_word": piece_word,
    }


def first_max(values, axis):
    """(max, index of its first occurrence) along `axis`.

    The original breaks ties by order (strict >, stable sorts); argmax
    does not promise which of equal values it returns.
    """
    best = tf.reduce_max(values, axis=axis, keepdims=True)
    size = tf.shape(values)[axis]
    shape = [1] * len(values.shape)
    shape[axis] = -1
    index = tf.reshape(tf.range(size), shape) + tf.zeros_like(
        values, dtype=tf.int32
    )
    first = tf.reduce_min(
        tf.where(values == best, index, size), axis=axis
    )
    return tf.squeeze(best, axis), first


def per_question(window_values, windows, fill):
    """[Wt, ...] window values as [B, Wmax, ...], padded with `fill`."""
    return tf.RaggedTensor.from_row_lengths(
        window_values, windows["num_windows"]
    ).to_tensor(fill)


def is_max_context(windows, position):
    """`_check_is_max_context` for document pieces of each window.

    Args:
      windows: as returned by `doc_windows`.
      position: int32 [Wt, K] document piece indexes, one row per window.

    Returns:
      bool [Wt, K]: whether that window is the one where the piece has the
      most context (min of left and right, +0.01 * window length; the
      first such window on a tie), among the windows holding it.
    """
    question = windows["question"]
    starts = tf.gather(per_question(windows["start"], windows, 0), question)
    lengths = tf.gather(per_question(windows["length"], windows, 0), question)
    starts, lengths = starts[:, None, :], lengths[:, None, :]  # [Wt, 1, Wq]
    position = position[:, :, None]  # [Wt, K, 1]
    end = starts + lengths - 1
    score = tf.cast(
        tf.minimum(position - starts, end - position), tf.float64
    ) + 0.01 * tf.cast(lengths, tf.float64)  # [Wt, K, Wq]
    holds = (lengths > 0) & (position >= starts) & (position <= end)
    score = tf.where(holds, score, tf.constant(-float("inf"), tf.float64))
    _, best = first_max(score, axis=2)
    own_index = tf.ragged.range(windows["num_windows"]).flat_values
    return best == own_index[:, None]
