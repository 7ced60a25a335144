"""Exports a fine-tuned classifier as a SavedModel that takes raw text.

The serving signature tokenizes inside the graph (`GraphTokenizer`, the
same ids as `FullTokenizer`), builds the features exactly as
`convert_single_example` does (truncation, `[CLS]`/`[SEP]`, segment ids,
zero padding to `max_seq_length`) and returns the class probabilities. The
result loads with TensorFlow and tensorflow-text alone, in TF Serving (see
`bert_tf.serving` for the layout) or in Python:

    import tensorflow as tf
    import tensorflow_text  # registers the tokenizer's ops
    model = tf.saved_model.load(export_dir + "/1")
    model.signatures["serving_default"](
        text_a=tf.constant(["the cat sat."]),
        text_b=tf.constant(["a cat sat."]))["probabilities"]
"""

import tensorflow as tf

from bert_tf import errors
from bert_tf import serving
from bert_tf.graph_tokenizer import GraphTokenizer
from bert_tf.tokenization import load_vocab


def pair_lengths(len_a, len_b, max_length):
    """Lengths after `bert_tf.packing.truncate_seq_pair`, for int tensors.

    That loop pops the last token of the longer list (of `b` on a tie)
    until the pair fits. In closed form: only the longer one shrinks while
    it stays at least as long as the other; past that both end at half of
    `max_length`, `a` taking the odd token.
    """
    excess = tf.maximum(len_a + len_b - max_length, 0)
    a_longer = len_a > len_b
    only_a = tf.logical_and(a_longer, len_a - excess >= len_b)
    only_b = tf.logical_and(tf.logical_not(a_longer), len_b - excess >= len_a)
    half_a = (max_length + 1) // 2
    half_b = max_length // 2
    new_a = tf.where(only_a, len_a - excess, tf.where(only_b, len_a, half_a))
    new_b = tf.where(only_b, len_b - excess, tf.where(only_a, len_b, half_b))
    return new_a, new_b


def _truncate(ids, lengths):
    """The first `lengths[i]` ids of each ragged row."""
    keep = tf.ragged.range(ids.row_lengths()) < tf.expand_dims(
        tf.cast(lengths, tf.int64), 1
    )
    return tf.ragged.boolean_mask(ids, keep)


def constant_rows(value, lengths):
    """A ragged tensor whose row i holds `lengths[i]` copies of `value`."""
    lengths = tf.cast(lengths, tf.int64)
    return tf.RaggedTensor.from_row_lengths(
        tf.fill([tf.reduce_sum(lengths)], tf.constant(value, tf.int32)), lengths
    )


def build_features(ids_a, ids_b, cls_id, sep_id, max_seq_length):
    """`convert_single_example` on ragged word-piece ids, in the graph.

    Args:
      ids_a: int32 RaggedTensor [B, (len_a)].
      ids_b: int32 RaggedTensor [B, (len_b)] or None; a row with no pieces
        makes that example single-sentence, as in the original.
      cls_id, sep_id: the ids of [CLS] and [SEP].
      max_seq_length: int, or an int32 scalar tensor.

    Returns:
      dict of int32 [B, max_seq_length] `input_ids`, `input_mask`,
      `segment_ids`.
    """
    len_a = tf.cast(ids_a.row_lengths(), tf.int32)
    if ids_b is None:
        ids_b = tf.RaggedTensor.from_row_lengths(
            tf.zeros([0], tf.int32), tf.zeros_like(len_a, tf.int64)
        )
    len_b = tf.cast(ids_b.row_lengths(), tf.int32)
    is_pair = len_b > 0
    pair_a, pair_b = pair_lengths(len_a, len_b, max_seq_length - 3)
    keep_a = tf.where(is_pair, pair_a, tf.minimum(len_a, max_seq_length - 2))
    keep_b = tf.where(is_pair, pair_b, 0)
    ones = tf.ones_like(len_a)
    second_sep = tf.cast(is_pair, tf.int32)
    tokens = tf.concat(
        [
            constant_rows(cls_id, ones),
            _truncate(ids_a, keep_a),
            constant_rows(sep_id, ones),
            _truncate(ids_b, keep_b),
            constant_rows(sep_id, second_sep),
        ],
        axis=1,
    )
    segments = tf.concat(
        [
            constant_rows(0, keep_a + 2),
            constant_rows(1, keep_b + second_sep),
        ],
        axis=1,
    )
    if isinstance(max_seq_length, int):
        shape = [None, max_seq_length]
    else:  # a scalar tensor (TF Hub's bert_pack_inputs takes one)
        shape = tf.stack([-1, max_seq_length])
    return {
        "input_ids": tokens.to_tensor(0, shape=shape),
        "input_mask": tf.ones_like(tokens).to_tensor(0, shape=shape),
        "segment_ids": segments.to_tensor(0, shape=shape),
    }


def _signature(tokenizer, model, cls_id, sep_id, max_seq_length, labels,
               is_pair_task):
    """The serving function: raw text in, probabilities (and label) out."""
    labels = tf.constant(labels) if labels else None

    def classify(text_a, text_b=None):
        ids_b = None if text_b is None else tokenizer(text_b)
        features = build_features(
            tokenizer(text_a), ids_b, cls_id, sep_id, max_seq_length
        )
        probabilities = model(features, training=False)["probabilities"]
        outputs = {"probabilities": tf.cast(probabilities, tf.float32)}
        if labels is not None:
            outputs["label"] = tf.gather(labels, tf.argmax(probabilities, -1))
        return outputs

    text = tf.TensorSpec([None], tf.string)
    if is_pair_task:
        return tf.function(
            classify, input_signature=[text, text], autograph=False
        )
    return tf.function(
        lambda text_a: classify(text_a), input_signature=[text],
        autograph=False,
    )


def special_token_ids(vocab_file):
    """The ids of [CLS] and [SEP] (UserInputError if either is missing)."""
    vocab = load_vocab(vocab_file)
    for token in ("[CLS]", "[SEP]"):
        if token not in vocab:
            raise errors.UserInputError(
                f"vocab_file={vocab_file!r} has no {token} line"
            )
    return vocab["[CLS]"], vocab["[SEP]"]


def export_saved_model(
    model, export_dir, vocab_file, do_lower_case, max_seq_length, label_list,
    is_pair_task, preserve_unused_tokens=False, version=None,
    checkpoint=None,
):
    """Writes `export_dir/<version>/`, a SavedModel taking raw text.

    Its `serving_default` signature takes `text_a` (and, for a pair task,
    `text_b`), [batch] strings, and returns `probabilities` [batch,
    num_labels] float32 (the score [batch] for regression) and, for
    classification, the most probable `label` [batch] string. It loads in
    TF Serving and any TF1 session as well as with `tf.saved_model.load`
    (see `bert_tf.serving`).

    Args:
      model: a trained `BertClassifier`, float32 (`BertClassifier(...,
        dtype="float32")`) for outputs equal to --precision=fp32 ones.
      export_dir: the base directory; the model goes to a new numbered
        subdirectory, written under a temporary name first.
      vocab_file, do_lower_case: the tokenizer of the fine-tuning run.
      max_seq_length: the feature length of the fine-tuning run.
      label_list: list of label strings, or None for regression.
      is_pair_task: whether the signature takes `text_b` too.
      preserve_unused_tokens: as in `FullTokenizer`.
      version: the subdirectory number; None for the next free one.
      checkpoint: the checkpoint the weights came from, for export_info.

    Returns:
      the directory written, `export_dir/<version>`.
    """
    cls_id, sep_id = special_token_ids(vocab_file)
    labels = list(label_list) if label_list else None

    def build():
        tokenizer = GraphTokenizer(
            vocab_file, do_lower_case,
            preserve_unused_tokens=preserve_unused_tokens,
        )
        function = _signature(
            tokenizer, model, cls_id, sep_id, max_seq_length, labels,
            is_pair_task,
        )
        root = serving.ExportRoot()
        root.tokenizer = tokenizer
        root.classify = function
        serving.track_variables(root, [function.get_concrete_function()])
        return root, {"serving_default": function.get_concrete_function()}

    info = {
        "kind": "bert_tf raw-text classifier",
        "inputs": ["text_a", "text_b"] if is_pair_task else ["text_a"],
        "labels": labels,
        "max_seq_length": max_seq_length,
        "do_lower_case": do_lower_case,
        "preserve_unused_tokens": preserve_unused_tokens,
        "checkpoint": checkpoint,
    }
    return serving.write_saved_model(export_dir, version, build, info)
