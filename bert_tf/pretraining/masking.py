"""Masked-LM targets, chosen exactly as the reference chooses them.

Replaces `create_masked_lm_predictions` of create_pretraining_data.py in
google-research/bert. `choose_masked_lm_replacements` works on str tokens
or on int ids alike (see `Symbols`) and draws from the shared
`random.Random` in the reference's order; `create_masked_lm_predictions`
keeps the reference's arguments and results.

This is the data generator's masking, fixed once per instance. The masks
drawn afresh on every pass of run_pretraining.py --dynamic_masking are
`bert_tf.pretraining.dynamic_masking`'s, in tf.data ops.
"""

from bert_tf.pretraining.python_random import randbelow
from bert_tf.pretraining.python_random import shuffle

CLS = "[CLS]"
SEP = "[SEP]"
MASK = "[MASK]"


class _WordPieceContinuations:
    """`token in this` is True for "##" word pieces (string tokens)."""

    def __contains__(self, token):
        return token.startswith("##")


class Symbols:
    """What masking needs to know about tokens, for str or for id tokens.

    Attributes:
      cls, sep, mask: the [CLS], [SEP] and [MASK] tokens.
      vocab_words: sequence a random replacement is drawn from, in vocab file
        order (the reference's `list(tokenizer.vocab.keys())`).
      continuations: container of the "##" tokens that whole-word masking
        joins to the word before.
    """

    def __init__(self, cls, sep, mask, vocab_words, continuations):
        self.cls = cls
        self.sep = sep
        self.mask = mask
        self.vocab_words = vocab_words
        self.continuations = continuations

    @classmethod
    def for_strings(cls, vocab_words):
        return cls(CLS, SEP, MASK, vocab_words, _WordPieceContinuations())

    @classmethod
    def for_ids(cls, vocab):
        """Id symbols from an OrderedDict token -> id (`FullTokenizer.vocab`).

        Raises:
          KeyError: naming the first of [CLS], [SEP], [MASK] missing in vocab.
        """
        for token in (CLS, SEP, MASK):
            if token not in vocab:
                raise KeyError(token)
        # Same draw as vocab_words[k] followed by convert_tokens_to_ids.
        vocab_ids = [vocab[w] for w in vocab]
        continuations = frozenset(
            i for w, i in vocab.items() if w.startswith("##"))
        return cls(vocab[CLS], vocab[SEP], vocab[MASK], vocab_ids,
                   continuations)


def num_to_predict(num_tokens, masked_lm_prob, max_predictions_per_seq):
    """Masked positions for `num_tokens` tokens ([CLS]/[SEP] included).

    Python 3 `round` is half-to-even: 30 tokens * 0.15 = 4.5 gives 4.
    """
    return min(max_predictions_per_seq,
               max(1, int(round(num_tokens * masked_lm_prob))))


def choose_masked_lm_replacements(tokens, masked_lm_prob,
                                  max_predictions_per_seq, symbols, rng,
                                  do_whole_word_mask=False, num_a_tokens=None):
    """Chooses the masked positions of one instance and what replaces each.

    The reference's steps: gather the candidate positions (grouped into
    words for whole-word masking), shuffle them, take them in that order
    until `num_to_predict` positions are chosen, then draw each one's
    replacement.

    Args:
      tokens: list of tokens (str or int, matching `symbols`), [CLS] first.
      masked_lm_prob: float, the masking rate.
      max_predictions_per_seq: int, cap on the number of masked positions.
      symbols: `Symbols` for the token type of `tokens`.
      rng: the shared `random.Random`.
      do_whole_word_mask: mask all pieces of a word together.
      num_a_tokens: optional len(A); passing it promises that [CLS] and [SEP]
        occur only at 0, num_a_tokens + 1 and the end, so they are not
        searched for.

    Returns:
      list of (position, replacement) pairs sorted by position; the label of
      each position is `tokens[position]`.
    """
    budget = num_to_predict(len(tokens), masked_lm_prob,
                            max_predictions_per_seq)
    if do_whole_word_mask:
        words = _whole_word_groups(tokens, symbols)
        # Shuffling n groups draws the same numbers as shuffling n ints.
        shuffle(words, rng)
        positions = _take_whole_words(words, budget)
    else:
        if num_a_tokens is not None:
            positions = list(range(1, len(tokens) - 1))
            del positions[num_a_tokens]  # The [SEP] after A.
        else:
            positions = [i for i, t in enumerate(tokens)
                         if t != symbols.cls and t != symbols.sep]
        shuffle(positions, rng)
        # Every candidate is one piece, so the first `budget` are taken.
        del positions[budget:]
    masked = _draw_replacements(tokens, positions, symbols, rng)
    masked.sort()
    return masked


def _whole_word_groups(tokens, symbols):
    """Candidate positions grouped by word: a "##" piece joins the word before.

    Example: `[CLS] the cat ##s [SEP] sat [SEP]` gives `[[1], [2, 3], [5]]`.
    """
    cls, sep = symbols.cls, symbols.sep
    continuations = symbols.continuations
    groups = []
    for i, token in enumerate(tokens):
        if token == cls or token == sep:
            continue
        # A "##" piece right after [SEP] joins the word before the [SEP], as
        # in the reference.
        if groups and token in continuations:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _take_whole_words(words, budget):
    """Positions of the words, in order, that fit in `budget` positions.

    A word that would pass the budget is skipped and later, shorter words
    still get their chance. Words never overlap, so the reference's
    covered-index check never fires and is left out.
    """
    positions = []
    for word in words:
        if len(positions) >= budget:
            break
        if len(positions) + len(word) <= budget:
            positions += word
    return positions


def _draw_replacements(tokens, positions, symbols, rng):
    """(position, replacement) for each position, drawn in the given order."""
    random = rng.random
    getrandbits = rng.getrandbits
    mask = symbols.mask
    vocab_words = symbols.vocab_words
    num_words = len(vocab_words)
    masked = []
    for index in positions:
        # 80% [MASK], 10% the original token, 10% a random vocab entry.
        if random() < 0.8:
            replacement = mask
        elif random() < 0.5:
            replacement = tokens[index]
        else:
            replacement = vocab_words[randbelow(getrandbits, num_words)]
        masked.append((index, replacement))
    return masked


def create_masked_lm_predictions(tokens, masked_lm_prob,
                                 max_predictions_per_seq, vocab_words, rng,
                                 do_whole_word_mask=False, symbols=None):
    """The reference's masking, on one instance's tokens.

    Example: with tokens `["[CLS]", "the", "cat", "##s", "[SEP]", "sat",
    "[SEP]"]` and whole-word masking, "cat" and "##s" are masked together or
    not at all.

    Args:
      tokens: list of str tokens, [CLS] first.
      masked_lm_prob: float, masking rate (15% in BERT).
      max_predictions_per_seq: int, cap on masked positions.
      vocab_words: list of vocab entries, in vocab order.
      rng: `random.Random`, shared with the rest of the sampling.
      do_whole_word_mask: mask whole words instead of word pieces.
      symbols: `Symbols`; default: str tokens over `vocab_words`.

    Returns:
      (output_tokens, masked_lm_positions, masked_lm_labels).
    """
    if symbols is None:
        symbols = Symbols.for_strings(vocab_words)
    masked = choose_masked_lm_replacements(
        tokens, masked_lm_prob, max_predictions_per_seq, symbols, rng,
        do_whole_word_mask)
    output_tokens = list(tokens)
    for index, replacement in masked:
        output_tokens[index] = replacement
    positions = [index for index, _ in masked]
    return output_tokens, positions, [tokens[p] for p in positions]
