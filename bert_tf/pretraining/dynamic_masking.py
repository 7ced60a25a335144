"""Dynamic masking: fresh masked-LM targets for every pass over the data.

create_pretraining_data.py fixes the masks of each instance once, with
`bert_tf.pretraining.masking` (the original repeats the corpus
`dupe_factor` times to vary them). With `run_pretraining.py
--dynamic_masking`, each training example is first restored to its
original tokens (the `masked_lm_ids` are put back at `masked_lm_positions`),
then masked again inside `tf.data`, so every epoch sees new masks. The
rules are the original's: `[CLS]`/`[SEP]`/padding are never masked,
`num_to_predict = min(max_predictions_per_seq, max(1, round(num_tokens *
masked_lm_prob)))` (round half to even), 80% `[MASK]`, 10% the original
token, 10% a random vocab entry, and with whole-word masking a word's `##`
pieces are masked together.

One difference from the data generator: words are taken in random order
until the next would pass `num_to_predict`; the generator would skip that
word and try later, shorter ones. Without whole-word masking every word is
one piece, so the counts are the same.

Evaluation keeps the masks stored in the files, so it stays comparable.
"""

import dataclasses

import tensorflow as tf

from bert_tf import errors
from bert_tf.pretraining.masking import CLS
from bert_tf.pretraining.masking import MASK
from bert_tf.pretraining.masking import SEP
from bert_tf.tokenization import load_vocab

# S=seq_length, P=max_predictions_per_seq


@dataclasses.dataclass(frozen=True)
class MaskingVocab:
    """What masking needs from the vocab: special ids and `##` pieces."""

    cls_id: int
    sep_id: int
    mask_id: int
    is_continuation: tuple  # per id: the token starts with "##"

    @classmethod
    def from_file(cls, vocab_file):
        vocab = load_vocab(vocab_file)
        for token in (CLS, SEP, MASK):
            if token not in vocab:
                raise errors.UserInputError(
                    f"--vocab_file={vocab_file!r} has no {token} line; "
                    "dynamic masking needs it"
                )
        size = max(vocab.values()) + 1
        continuation = [False] * size
        for token, index in vocab.items():
            continuation[index] = token.startswith("##")
        return cls(vocab[CLS], vocab[SEP], vocab[MASK], tuple(continuation))

    @property
    def size(self):
        return len(self.is_continuation)


def restore_original_tokens(features):
    """input_ids with `masked_lm_ids` put back at `masked_lm_positions`."""
    real = features["masked_lm_weights"] > 0
    positions = tf.boolean_mask(features["masked_lm_positions"], real)
    originals = tf.boolean_mask(features["masked_lm_ids"], real)
    return tf.tensor_scatter_nd_update(
        features["input_ids"], tf.expand_dims(positions, 1), originals
    )


def stateless_masked_lm_features(input_ids, input_mask, vocab,
                                 max_predictions_per_seq, masked_lm_prob,
                                 do_whole_word_mask, seed):
    """Draws masked-LM targets for one example with stateless random ops.

    The steps: group the maskable positions into words (`_words`), take
    words in random order up to `num_to_predict` positions
    (`_select_words`), and replace each chosen position 80/10/10
    (`_replacements`).

    Args:
      input_ids, input_mask: int32 [S] tensors of one unmasked example.
      vocab: a `MaskingVocab`.
      max_predictions_per_seq: int, P.
      masked_lm_prob: float, the masking rate.
      do_whole_word_mask: mask all `##` pieces of a word together.
      seed: int32/int64 [2] tensor for the stateless random ops.

    Returns:
      dict of `input_ids` [S] (masked), `masked_lm_positions`,
      `masked_lm_ids` [P] int32 and `masked_lm_weights` [P] float32, with
      positions ascending and zero padding, like the generator's records.
    """
    seeds = tf.random.experimental.stateless_split(seed, num=4)
    candidate, word, word_sizes = _words(input_ids, input_mask, vocab,
                                         do_whole_word_mask)
    num_tokens = tf.reduce_sum(tf.cast(input_mask > 0, tf.float32))
    num_to_predict = tf.minimum(
        max_predictions_per_seq,
        tf.maximum(1, tf.cast(tf.round(num_tokens * masked_lm_prob), tf.int32)),
    )
    selected = _select_words(candidate, word, word_sizes, num_to_predict,
                             seeds[0])
    replacement = _replacements(input_ids, vocab, seeds[1], seeds[2],
                                seeds[3])
    masked_ids = tf.where(selected, replacement, input_ids)  # [S]

    positions = tf.cast(tf.where(selected)[:, 0], tf.int32)  # ascending
    num_masked = tf.shape(positions)[0]
    padding = [[0, max_predictions_per_seq - num_masked]]
    return {
        "input_ids": masked_ids,
        "masked_lm_positions": tf.pad(positions, padding),
        "masked_lm_ids": tf.pad(tf.gather(input_ids, positions), padding),
        "masked_lm_weights": tf.pad(tf.ones([num_masked], tf.float32), padding),
    }


def _words(input_ids, input_mask, vocab, do_whole_word_mask):
    """Groups the maskable positions of one example into words.

    Returns:
      candidate: bool [S], True where a token may be masked (not [CLS],
        [SEP] or padding).
      word: int32 [S], each candidate's word number from 0; S elsewhere.
      word_sizes: int32 [S], the number of pieces of word w at index w (0
        past the last word).
    """
    seq_length = tf.shape(input_ids)[0]
    candidate = tf.logical_and(
        input_mask > 0,
        tf.logical_and(input_ids != vocab.cls_id, input_ids != vocab.sep_id),
    )
    starts = candidate
    if do_whole_word_mask:
        continuation = tf.gather(tf.constant(vocab.is_continuation), input_ids)
        # A "##" piece joins the previous candidate's word, if there is one.
        seen_before = (
            tf.cumsum(tf.cast(candidate, tf.int32), exclusive=True) > 0
        )
        joins = tf.logical_and(continuation, seen_before)
        starts = tf.logical_and(candidate, tf.logical_not(joins))
    word = tf.cumsum(tf.cast(starts, tf.int32)) - 1  # [S]
    word = tf.where(candidate, word, seq_length)  # non-candidates: a dump
    word_sizes = tf.math.unsorted_segment_sum(
        tf.cast(candidate, tf.int32), word, seq_length + 1
    )[:-1]  # [S]
    return candidate, word, word_sizes


def _select_words(candidate, word, word_sizes, num_to_predict, seed):
    """bool [S]: the positions of the words taken, in random word order.

    Words are taken while the running total stays within `num_to_predict`;
    the first that would pass it ends the selection.
    """
    seq_length = tf.shape(candidate)[0]
    # Words in random order; empty slots sort last.
    keys = tf.random.stateless_uniform([seq_length], seed)
    keys = tf.where(word_sizes > 0, keys, 2.0)
    order = tf.argsort(keys)  # [S], word numbers
    sizes_in_order = tf.gather(word_sizes, order)  # [S]
    taken_in_order = tf.logical_and(
        tf.cumsum(sizes_in_order) <= num_to_predict, sizes_in_order > 0
    )
    taken = tf.scatter_nd(
        tf.expand_dims(order, 1),
        tf.cast(taken_in_order, tf.int32),
        [seq_length],
    )  # [S], 1 for the words taken
    return tf.logical_and(
        candidate, tf.gather(tf.concat([taken, [0]], 0), word) > 0
    )


def _replacements(input_ids, vocab, replace_seed, keep_seed, random_id_seed):
    """int32 [S]: what each position becomes if it is masked."""
    seq_length = tf.shape(input_ids)[0]
    # 80% [MASK], 10% unchanged, 10% a random vocab entry.
    replace_draw = tf.random.stateless_uniform([seq_length], replace_seed)
    keep_draw = tf.random.stateless_uniform([seq_length], keep_seed)
    random_ids = tf.random.stateless_uniform(
        [seq_length], random_id_seed, maxval=vocab.size, dtype=tf.int32
    )
    return tf.where(
        replace_draw < 0.8,
        vocab.mask_id,
        tf.where(keep_draw < 0.5, input_ids, random_ids),
    )


def apply(dataset, vocab, max_predictions_per_seq, masked_lm_prob,
          do_whole_word_mask, seed=None):
    """Re-masks every example of a dataset of parsed (unbatched) records."""
    seeds = tf.data.Dataset.random(seed=seed).batch(2)

    def remask(features, example_seed):
        masked = stateless_masked_lm_features(
            restore_original_tokens(features),
            features["input_mask"],
            vocab,
            max_predictions_per_seq,
            masked_lm_prob,
            do_whole_word_mask,
            example_seed,
        )
        return dict(features, **masked)

    return tf.data.Dataset.zip((dataset, seeds)).map(
        remask, num_parallel_calls=tf.data.AUTOTUNE, deterministic=seed is not None
    )
