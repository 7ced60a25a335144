"""Word pieces -> BERT's fixed-length inputs: truncate, add [CLS]/[SEP], pad.

The steps that run_classifier.py's `convert_single_example` and
extract_features.py's `convert_examples_to_features` share in
google-research/bert (each had its own copy), and that run_squad.py
repeats for every window:

* `truncate_seq_pair`: the original's deterministic `_truncate_seq_pair`;
* `pack_pair`: `[CLS] a [SEP] b [SEP]` and its segment ids;
* `pad_inputs`: ids, mask and segment ids zero-padded to the sequence
  length;
* `tokenize_pair`: the three together for a text or a pair of texts, before
  padding.

Pure Python: no TensorFlow, no files. The pre-training data generator
truncates at random instead (`bert_tf.pretraining.instances`), and the
exported classifier packs with tensor ops (`bert_tf.classifier.export`).
"""

CLS = "[CLS]"
SEP = "[SEP]"


def truncate_seq_pair(tokens_a, tokens_b, max_length):
    """Truncates a sequence pair in place to at most `max_length` tokens.

    One token at a time is removed from the end of the longer sequence (from
    tokens_b on a tie): a longer sequence likely has less information per
    token than a shorter one, so this keeps more of the shorter text than
    cutting a fixed share from each would.

    Example: `["a1", "a2", "a3", "a4", "a5"], ["b1", "b2"]` cut to 5 become
    `["a1", "a2", "a3"], ["b1", "b2"]`.
    """
    while len(tokens_a) + len(tokens_b) > max_length:
        if len(tokens_a) > len(tokens_b):
            tokens_a.pop()
        else:
            tokens_b.pop()


def pack_pair(tokens_a, tokens_b=None):
    """`[CLS] a [SEP]` (segment 0), then `b [SEP]` (segment 1) if b is given.

    An empty tokens_b counts as none: the result is a single sentence.

    Returns:
      (tokens, segment_ids): two new lists of the same length.
    """
    tokens = [CLS] + tokens_a + [SEP]
    segment_ids = [0] * len(tokens)
    if tokens_b:
        tokens += tokens_b + [SEP]
        segment_ids += [1] * (len(tokens_b) + 1)
    return tokens, segment_ids


def pad_inputs(input_ids, segment_ids, seq_length):
    """The model's three inputs for one sequence, zero-padded to seq_length.

    Example: `pad_inputs([101, 7, 102], [0, 0, 0], 5)` gives
    `([101, 7, 102, 0, 0], [1, 1, 1, 0, 0], [0, 0, 0, 0, 0])`.

    Args:
      input_ids: the token ids, at most seq_length of them.
      segment_ids: one per token id.
      seq_length: int, the length of every returned list.

    Returns:
      (input_ids, input_mask, segment_ids): new lists; input_mask is 1 for
      the real tokens and 0 for the padding.
    """
    padding = [0] * (seq_length - len(input_ids))
    return (list(input_ids) + padding,
            [1] * len(input_ids) + padding,
            list(segment_ids) + padding)


def tokenize_pair(text_a, text_b, max_seq_length, tokenizer):
    """Builds the truncated `[CLS] a [SEP] b [SEP]` tokens of one or two texts.

    An empty text_b, or one that tokenizes to nothing, makes a single
    sentence, as in the original.

    Example: "The cat sat ." and "It slept ." with the uncased vocab give
    tokens `[CLS] the cat sat . [SEP] it slept . [SEP]` and segment ids
    `0 0 0 0 0 0 1 1 1 1`.

    Args:
      text_a: str, the first text.
      text_b: str or None, the second text.
      max_seq_length: the length after truncation, counting the special
        tokens.
      tokenizer: a `FullTokenizer` (anything with `tokenize(text)`).

    Returns:
      (tokens, segment_ids): two lists of the same length, at most
      max_seq_length, not padded.
    """
    tokens_a = tokenizer.tokenize(text_a)
    tokens_b = None
    if text_b:
        tokens_b = tokenizer.tokenize(text_b)
    if tokens_b:
        # Room for [CLS], [SEP], [SEP].
        truncate_seq_pair(tokens_a, tokens_b, max_seq_length - 3)
    else:
        # Room for [CLS] and [SEP].
        tokens_a = tokens_a[: max_seq_length - 2]
    return pack_pair(tokens_a, tokens_b)
