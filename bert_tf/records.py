"""The scripts' TFRecord files: the int64 feature they write, parsing, and
the one-file tf.data input.

Every script's records are parsed the same way: a fixed-length spec, then
int64 features cast to int32 (the original did so because TPUs only take
int32; the models here take int32 ids as well).
"""

import tensorflow as tf


def int64_feature(values):
    """A `tf.train.Feature` holding the ints `values`."""
    return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))


def decode_record(record, name_to_features):
    """Parses one serialized tf.train.Example; int64 features become int32.

    Args:
      record: scalar string Tensor.
      name_to_features: dict of feature name -> `tf.io.FixedLenFeature`.

    Returns:
      dict of feature name -> Tensor.
    """
    example = tf.io.parse_single_example(record, name_to_features)
    return {
        name: tf.cast(t, tf.int32) if t.dtype == tf.int64 else t
        for name, t in example.items()
    }


def single_file_input_fn(
    input_file, name_to_features, is_training, drop_remainder, batch_size,
    seed=None,
):
    """run_classifier's and run_squad's input: one TFRecord file.

    Training repeats the file and shuffles through a 100-example buffer, as
    the originals; otherwise the file is read once, in order. `seed` seeds
    the shuffle, so that a restarted run sees the same batches.

    Returns:
      a callable with no arguments returning a Dataset of dicts of
      [batch_size, ...] tensors.
    """

    def input_fn():
        d = tf.data.TFRecordDataset(input_file)
        if is_training:
            d = d.repeat()
            d = d.shuffle(buffer_size=100, seed=seed)
        d = d.map(
            lambda record: decode_record(record, name_to_features),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
        d = d.batch(batch_size, drop_remainder=drop_remainder)
        return d.prefetch(tf.data.AUTOTUNE)

    return input_fn
