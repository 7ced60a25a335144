"""run_squad.py's write_predictions, in the graph, for one answer a question.

What `bert_tf.squad.postprocess` does in Python from the windows' logits,
as TensorFlow ops for the raw-text SavedModel (`bert_tf.squad.export`),
up to the one answer each question gets (the first n-best entry, or the
null answer for SQuAD 2.0): the top `n_best_size` starts and ends of each
window, spans inside the document part that start where the window has
the "max context", at most `max_answer_length` pieces, best start+end
logit (summed in float64 as the original adds Python floats, ties to the
first, as its stable sort), then `get_final_text`'s projection of the
pieces back onto the words (`final_text`).

Not here: the n-best lists and their probabilities.
"""

import tensorflow as tf

from bert_tf.squad import graph_features
from bert_tf.tokenization import load_vocab

# The null answer's score where a question has no window, as the original.
_NO_NULL_SCORE = 1000000.0


def _safe_gather(values, index):
    """tf.gather that reads zeros for index -1 or past the end (and on an
    empty `values`): questions without an answer index nothing real."""
    zero_row = tf.zeros(
        tf.concat([[1], tf.shape(values)[1:]], 0), values.dtype
    )
    padded = tf.concat([values, zero_row], 0)
    size = tf.shape(values, out_type=index.dtype)[0]
    index = tf.where((index < 0) | (index >= size), size, index)
    return tf.gather(padded, index)


def _span_candidates(windows, start_logits, end_logits, settings):
    """`_span_candidates` of postprocess, for every window at once.

    Returns:
      (scores, start_top, end_top, start_values, end_values): scores
      float64 [Wt, K, K] of start rank x end rank, -inf where the pair is
      not a valid answer; the top K token positions and logits of starts
      and ends [Wt, K], K = n_best_size.
    """
    k = min(settings.n_best_size, settings.max_seq_length)
    # top_k puts the lower index first among equal logits, as the
    # original's stable sort.
    start_values, start_top = tf.math.top_k(start_logits, k)
    end_values, end_top = tf.math.top_k(end_logits, k)
    offset = windows["doc_offset"][:, None]
    limit = offset + windows["length"][:, None]
    start_doc = windows["start"][:, None] + start_top - offset
    start_ok = (
        (start_top >= offset) & (start_top < limit)
        & graph_features.is_max_context(windows, start_doc)
    )
    end_ok = (end_top >= offset) & (end_top < limit)
    span_length = end_top[:, None, :] - start_top[:, :, None] + 1
    valid = (
        start_ok[:, :, None] & end_ok[:, None, :] & (span_length >= 1)
        & (span_length <= settings.max_answer_length)
    )
    # float64, as the original adds Python floats: the same order.
    scores = (
        tf.cast(start_values, tf.float64)[:, :, None]
        + tf.cast(end_values, tf.float64)[:, None, :]
    )
    scores = tf.where(valid, scores, tf.constant(-float("inf"), tf.float64))
    return scores, start_top, end_top, start_values, end_values


def _best_spans(windows, start_logits, end_logits, settings):
    """The best valid span of each question, as write_predictions' first.

    Returns:
      dict of [B] tensors: `has_span`, `score` (float64), `start_logit`,
      `end_logit` (float64), and `start`, `end` (document piece indexes).
    """
    scores, start_top, end_top, start_values, end_values = _span_candidates(
        windows, start_logits, end_logits, settings
    )
    k = scores.shape[-1]
    per_question = graph_features.per_question(
        tf.reshape(scores, [-1, k * k]), windows, -float("inf")
    )
    batch = tf.shape(per_question)[0]
    # Flattened (window, start rank, end rank): the original's insertion
    # order, which its stable sort keeps among equal scores.
    best_score, best = graph_features.first_max(
        tf.reshape(per_question, [batch, -1]), 1
    )
    has_span = best_score > -float("inf")
    window = tf.cast(
        tf.RaggedTensor.from_row_lengths(
            windows["question"], windows["num_windows"]
        ).row_starts(), tf.int32
    ) + best // (k * k)
    window = tf.where(has_span, window, -1)
    start_rank = best % (k * k) // k
    end_rank = best % k
    picked = {}
    for name, top, rank in (("start", start_top, start_rank),
                            ("end", end_top, end_rank)):
        token = tf.gather(_safe_gather(top, window), rank, batch_dims=1)
        picked[name] = token - _safe_gather(windows["doc_offset"], window) + (
            _safe_gather(windows["start"], window)
        )
    for name, values, rank in (("start_logit", start_values, start_rank),
                               ("end_logit", end_values, end_rank)):
        picked[name] = tf.cast(tf.gather(
            _safe_gather(values, window), rank, batch_dims=1), tf.float64)
    return dict(picked, has_span=has_span, score=best_score)


def _null_scores(windows, start_logits, end_logits):
    """SQuAD 2.0: each question's lowest [CLS] score over its windows.

    The original keeps the minimum (strict <) of start_logits[0] +
    end_logits[0]; a question without windows keeps its initial 1000000.
    """
    null = tf.cast(start_logits[:, 0], tf.float64) + tf.cast(
        end_logits[:, 0], tf.float64
    )
    per_question = graph_features.per_question(null, windows, float("inf"))
    lowest = -tf.reduce_max(-per_question, axis=1)
    return tf.where(windows["num_windows"] > 0, lowest, _NO_NULL_SCORE)


def _project(pred_text, orig_text, basic_tokenize):
    """`get_final_text` on scalars: where pred_text sits in orig_text.

    orig_text is tokenized again, pred_text found in that (first
    occurrence), and with the spaces of both removed the characters are
    taken to correspond one to one. Where that fails (not found, or
    different lengths without spaces) the whole orig_text is the answer.

    Returns:
      (first, last): inclusive character positions in orig_text.
    """
    tok_text = tf.strings.reduce_join(
        basic_tokenize(orig_text[None])[0], separator=" "
    )
    # An empty separator would split on whitespace; NUL never occurs in
    # tok_text (the tokenizer drops it), so nothing is found instead.
    separator = tf.where(pred_text == "", "\0", pred_text)
    parts = tf.strings.split(tok_text, sep=separator, maxsplit=1)
    start = tf.strings.length(parts[0], unit="UTF8_CHAR")
    end = start + tf.strings.length(pred_text, unit="UTF8_CHAR") - 1
    tok_chars = tf.strings.unicode_decode(tok_text, "UTF-8")
    orig_chars = tf.strings.unicode_decode(orig_text, "UTF-8")
    tok_non_space = tf.cast(tok_chars != ord(" "), tf.int32)
    orig_non_space = tf.cast(tf.where(orig_chars != ord(" "))[:, 0], tf.int32)
    found = (
        (tf.size(parts) == 2) & (pred_text != "")
        & (tf.reduce_sum(tok_non_space) == tf.size(orig_non_space))
    )
    whole = tf.strings.length(orig_text, unit="UTF8_CHAR") - 1
    first = _safe_gather(orig_non_space, tf.reduce_sum(tok_non_space[:start]))
    last = _safe_gather(orig_non_space, tf.reduce_sum(tok_non_space[:end]))
    return tf.where(found, first, 0), tf.where(found, last, whole)


def _span_pieces(windows, spans, vocab_tokens):
    """The best span's pieces, de-tokenized, and its words, per question.

    Returns:
      (pred_text [B], words [B, (w)], word_starts [B, (w)]); empty where a
      question has no span.
    """
    pieces, piece_word = windows["pieces"], windows["piece_word"]
    first = tf.cast(pieces.row_starts(), tf.int32)
    count = tf.where(spans["has_span"], spans["end"] - spans["start"] + 1, 0)
    start = first + spans["start"]
    index = tf.ragged.range(start, start + count)
    tokens = index.with_flat_values(tf.gather(
        vocab_tokens, tf.gather(pieces.flat_values, index.flat_values)
    ))
    # The original glues "##" pieces back and normalises whitespace.
    pred_text = tf.strings.reduce_join(tokens, axis=1, separator=" ")
    pred_text = tf.strings.regex_replace(pred_text, " ##", "")
    pred_text = tf.strings.regex_replace(pred_text, "##", "")
    pred_text = tf.strings.regex_replace(
        tf.strings.strip(pred_text), r"\s+", " "
    )
    first_word = tf.cast(windows["words"].row_starts(), tf.int32)
    word_first = first_word + _safe_gather(piece_word.flat_values, start)
    word_last = first_word + _safe_gather(
        piece_word.flat_values, first + spans["end"]
    )
    word_index = tf.ragged.range(
        word_first, tf.where(spans["has_span"], word_last + 1, word_first)
    )
    words = word_index.with_flat_values(tf.gather(
        windows["words"].flat_values, word_index.flat_values
    ))
    starts = word_index.with_flat_values(tf.gather(
        windows["word_starts"].flat_values, word_index.flat_values
    ))
    return pred_text, words, tf.cast(starts, tf.int32)


def _in_context(words, word_starts, position):
    """Maps a character position of the space-joined `words` to the context.

    Args:
      words, word_starts: [B, (w)] span words and where they start.
      position: int32 [B], a position on a word's character (not a space).
    """
    length = tf.strings.length(words.flat_values, unit="UTF8_CHAR") + 1
    offset = tf.cumsum(length, exclusive=True)  # in the joined text
    row = words.value_rowids()
    row_first = tf.cast(words.row_starts(), tf.int32)
    offset -= _safe_gather(offset, tf.gather(row_first, row))
    before = tf.math.unsorted_segment_sum(
        tf.cast(offset <= tf.gather(position, row), tf.int32), row,
        words.nrows(),
    )
    word = row_first + before - 1
    return _safe_gather(word_starts.flat_values, word) + position - (
        _safe_gather(offset, word)
    )


def final_text(windows, spans, vocab_tokens, basic_tokenize):
    """The answer text and its character span in the context, per question.

    `get_final_text(tok_text, orig_text)` of the original, vectorised
    except for the search of the predicted text in the re-tokenized words,
    which runs once per question (`_project`).

    Returns:
      (answer [B] string, start_char [B], end_char [B] exclusive); "" and
      -1 where a question has no span.
    """
    pred_text, words, word_starts = _span_pieces(windows, spans, vocab_tokens)
    orig_text = tf.strings.reduce_join(words, axis=1, separator=" ")
    first, last = tf.map_fn(
        lambda texts: _project(texts[0], texts[1], basic_tokenize),
        (pred_text, orig_text),
        fn_output_signature=(tf.int32, tf.int32),
    )
    answer = tf.strings.substr(
        orig_text, first, last - first + 1, unit="UTF8_CHAR"
    )
    has_span = spans["has_span"]
    start_char = _in_context(words, word_starts, first)
    end_char = _in_context(words, word_starts, last) + 1
    return (
        tf.where(has_span, answer, ""),
        tf.where(has_span, start_char, -1),
        tf.where(has_span, end_char, -1),
    )


def choose_answers(windows, start_logits, end_logits, vocab_tokens,
                   basic_tokenize, settings):
    """write_predictions' answer for each question, from window logits.

    Args:
      windows: as returned by `graph_features.doc_windows`.
      start_logits, end_logits: float32 [Wt, S], one row per window.
      vocab_tokens: string Tensor, the vocab's tokens by id.
      basic_tokenize: `GraphTokenizer.basic_tokenize`.
      settings: a `SpanSettings`.

    Returns:
      dict of [B] tensors: `answer`, `start_char`, `end_char`, `score`
      and, for SQuAD 2.0, `null_score_diff`.
    """
    spans = _best_spans(windows, start_logits, end_logits, settings)
    answer, start_char, end_char = final_text(
        windows, spans, vocab_tokens, basic_tokenize
    )
    score = tf.where(spans["has_span"], spans["score"], 0.0)
    outputs = {"score": tf.cast(score, tf.float32)}
    if settings.version_2_with_negative:
        null_diff, predict_null = _null_decision(
            windows, spans, start_logits, end_logits, settings
        )
        outputs["null_score_diff"] = tf.cast(null_diff, tf.float32)
        answer = tf.where(predict_null, "", answer)
        start_char = tf.where(predict_null, -1, start_char)
        end_char = tf.where(predict_null, -1, end_char)
    outputs.update(answer=answer, start_char=start_char, end_char=end_char)
    return outputs


def _null_decision(windows, spans, start_logits, end_logits, settings):
    """SQuAD 2.0: (null_score_diff, whether to answer "") per question.

    As `_answer_or_null`: score_null minus the best non-null n-best entry's
    two logits, "" when that exceeds the threshold. The best span is in
    the n-best list unless there is none, or n_best_size is 1 and the null
    answer sorts first (the null entry comes after spans of equal score);
    then, as here for the original's crash, the diff is threshold + 1.
    """
    score_null = _null_scores(windows, start_logits, end_logits)
    null_first = score_null > spans["score"]
    no_span = ~spans["has_span"] | (null_first & (settings.n_best_size == 1))
    diff = score_null - spans["start_logit"] - spans["end_logit"]
    fallback = tf.constant(
        settings.null_score_diff_threshold + 1.0, tf.float64
    )
    diff = tf.where(no_span, fallback, diff)
    return diff, diff > settings.null_score_diff_threshold


def vocab_tokens(vocab_file):
    """The vocab's tokens by id ("" where load_vocab leaves a hole)."""
    vocab = load_vocab(vocab_file)
    tokens = [""] * (max(vocab.values()) + 1)
    for token, index in vocab.items():
        tokens[index] = token
    return tokens
