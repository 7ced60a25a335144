"""tf.data input for run_classifier: the original `file_based_input_fn_builder`.

Training reads `train.tf_record` repeatedly through a 100-example shuffle
buffer and batches with `drop_remainder=True`. Evaluation and prediction
read their file once, in order. The runner pads the eval and predict example
lists with `PaddingInputExample`s to a whole number of batches (the
original's TPU path), so every batch is full and every real example is
covered; `drop_remainder` then removes nothing.

The parse spec (`name_to_features`) lives in `bert_tf.classifier.features`,
next to the writer; the reading itself is `bert_tf.records`.
"""

from bert_tf import records
from bert_tf.classifier import features


def file_based_input_fn_builder(
    input_file,
    seq_length,
    is_training,
    drop_remainder,
    batch_size,
    is_regression=False,
    seed=None,
    vocab_size=None,
):
    """Returns `input_fn()` -> Dataset of dicts of [batch_size, ...] tensors.

    Args:
      input_file: a TFRecord file written by
        `features.file_based_convert_examples_to_features`.
      seq_length: int, the max_seq_length the file was written with.
      is_training: repeat forever and shuffle (buffer 100), as the original.
      drop_remainder: drop a last partial batch.
      batch_size: int, the global batch size.
      is_regression: whether `label_ids` is a float feature (STS-B).
      seed: optional int seeding the shuffle, so that a restarted run sees
        the same batches (the original was never deterministic).
      vocab_size: optional int, bert_config.json's; `input_ids` at or above
        it fail with an error that `records.describe_read_error` explains.

    Returns:
      a callable with no arguments returning a `tf.data.Dataset` of dicts
      with `input_ids`, `input_mask`, `segment_ids` int32 [batch_size,
      seq_length], `label_ids` [batch_size] (int32, or float32 for
      regression) and `is_real_example` int32 [batch_size].
    """
    return records.single_file_input_fn(
        input_file,
        features.name_to_features(seq_length, is_regression),
        is_training,
        drop_remainder,
        batch_size,
        seed,
        vocab_size,
    )
