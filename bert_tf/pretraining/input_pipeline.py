"""tf.data input for run_pretraining, as the original `input_fn_builder`.

Training: the file list repeats and is shuffled, up to 4 files are read
interleaved, examples pass a 100-element shuffle buffer and are batched with
`drop_remainder=True`. Evaluation reads the files in order, repeating.
int64 features are cast to int32 after parsing.

With `seed` set, the shuffles are seeded and the interleave is
deterministic, so a restarted run sees the same batches (the original was
never deterministic).

Files are read through `bert_tf.records.read_records`, so a corrupted or
truncated file, or (with `vocab_size`) a token id outside the vocab, fails
with an error that `records.describe_read_error` explains in one line.
"""

import tensorflow as tf

from bert_tf import errors
from bert_tf import records
from bert_tf.pretraining import dynamic_masking
from bert_tf.pretraining import tfrecords

# Named in the messages of the pipeline's checks.
_WHAT = "--input_file"
# The features that hold token ids, checked against vocab_size.
_ID_FEATURES = ("input_ids", "masked_lm_ids")


def check_record_lengths(input_files, max_seq_length, max_predictions_per_seq):
    """Fails clearly when the TFRecords were made with other lengths.

    Raises:
      UserInputError: naming the flag, its value and the file's value.
    """
    first = input_files[0]
    try:
        located = next(iter(records.read_files([first], _WHAT).take(1)), None)
    except tf.errors.InvalidArgumentError as e:
        raise records.describe_read_error(e) or e from None
    if located is None:
        raise errors.UserInputError(f"--input_file: {first} holds no examples")
    example = tf.train.Example.FromString(located[0].numpy())
    feature = example.features.feature
    for flag, value, name in (
        ("max_seq_length", max_seq_length, "input_ids"),
        ("max_predictions_per_seq", max_predictions_per_seq, "masked_lm_positions"),
    ):
        if name not in feature:
            raise errors.UserInputError(
                f"--input_file: {first} has no feature {name!r}; is it "
                "create_pretraining_data.py output?"
            )
        found = len(feature[name].int64_list.value)
        if found != value:
            raise errors.UserInputError(
                f"--{flag}={value} but {first} was written with {flag}={found} "
                f"({name} has {found} values); pass --{flag}={found}"
            )


def input_fn_builder(
    input_files,
    max_seq_length,
    max_predictions_per_seq,
    is_training,
    batch_size,
    num_cpu_threads=4,
    seed=None,
    masking_vocab=None,
    masked_lm_prob=0.15,
    do_whole_word_mask=False,
    vocab_size=None,
):
    """Returns `input_fn()` -> Dataset of dicts of [batch_size, ...] tensors.

    With `masking_vocab` (a `dynamic_masking.MaskingVocab`), training
    examples get new masks on every pass (see `dynamic_masking`). With
    `vocab_size` (bert_config.json's), `input_ids` and `masked_lm_ids` are
    checked to be below it.
    """
    name_to_features = tfrecords.feature_spec(max_seq_length, max_predictions_per_seq)
    deterministic = seed is not None
    check_ids = vocab_size is not None

    def read(path, size):
        return records.read_records(path, size, _WHAT)

    def input_fn():
        files = records.files_dataset(input_files, _WHAT)
        if is_training:
            files = files.repeat().shuffle(buffer_size=len(input_files), seed=seed)
            # The cycle length decides the order of the records, so it stays
            # the original's num_cpu_threads rather than the machine's core
            # count: a seeded run resumed on another machine must see the
            # same batches. How many threads read is AUTOTUNE's choice.
            d = files.interleave(
                read,
                cycle_length=min(num_cpu_threads, len(input_files)),
                num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=deterministic,
            )
            d = d.shuffle(buffer_size=100, seed=seed)
        else:
            d = files.flat_map(read).repeat()
        d = d.map(
            records.parse_function(name_to_features, located=check_ids),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=deterministic or not is_training,
        )
        if is_training and masking_vocab is not None:
            d = dynamic_masking.apply(
                d, masking_vocab, max_predictions_per_seq, masked_lm_prob,
                do_whole_word_mask, seed,
            )
        d = d.batch(batch_size, drop_remainder=True)
        if check_ids:
            d = d.map(records.id_check(vocab_size, _ID_FEATURES, _WHAT))
        return d.prefetch(tf.data.AUTOTUNE)

    return input_fn
