"""The scripts' TFRecord files: the int64 feature they write, checked
reading, parsing, and the one-file tf.data input.

Every script's records are parsed the same way: a fixed-length spec, then
int64 features cast to int32 (the original did so because TPUs only take
int32; the models here take int32 ids as well).

Reading is checked, because TensorFlow's TFRecord reader fails badly on bad
files: a corrupted record raises a `DataLossError` that does not name the
file, and a file cut within the 12-byte header of a record, or between two
records, reads as a shorter file without any error (as do up to 11 stray
bytes at the end). `read_records` counts
the bytes of the framing as it reads and fails when a file's records do not
end exactly at the size the file had when it was listed; `id_check`
checks token ids against `vocab_size`. Both fail with an
`InvalidArgumentError` whose message carries a marker, which
`describe_read_error` turns into a one-line `UserInputError` naming the
file, the record and the byte offset. A file cut exactly between two records
cannot be told from a complete one: TFRecord files carry no record count.
"""

import codecs
import concurrent.futures
import re
import struct

import tensorflow as tf

from bert_tf import errors

# Bytes around each record's data: its uint64 length, a CRC of the length,
# and a CRC of the data.
FRAME_BYTES = 16
_HEADER_BYTES = 12
# Records whose bytes are counted together (one step of the framing check):
# reading then costs about 2 us more per record (3.7 instead of 1.5 us), where
# a function call per record would cost 150 us.
_CHUNK_RECORDS = 1024
# Markers in the messages of the pipeline's own checks.
_SHORT_READ = "bert_tf.records: short read"
_BAD_ID = "bert_tf.records: token id outside the vocab"
# Where `parse_function` puts a record's file and index for `id_check`.
_PATH = "bert_tf/record_file"
_INDEX = "bert_tf/record_index"


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


def _where(what, path):
    return f"{what}: {path}" if what else f"TFRecord file {path}"


def _size(path):
    try:
        return tf.io.gfile.stat(path).length
    except tf.errors.OpError as e:
        return e


def file_sizes(input_files, what=""):
    """The byte size of each file, for `read_records`.

    One stat per file, 16 at a time: on gs:// each is a request, and
    pretraining data often comes in hundreds of files.

    Raises:
      UserInputError: naming `what` and a file that cannot be read.
    """
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        sizes = list(pool.map(_size, input_files))
    for path, size in zip(input_files, sizes):
        if isinstance(size, tf.errors.OpError):
            raise errors.UserInputError(
                f"{_where(what, path)}: cannot read the file ({size.message})")
    return sizes


def read_records(path, size, what=""):
    """The records of one TFRecord file, checked to end at byte `size`.

    Args:
      path: scalar string Tensor (or str), the file.
      size: scalar int64, the file's size when it was listed.
      what: the flag the file came from, for messages (e.g. "--input_file").

    Returns:
      a Dataset of (record, path, index): the serialized record, its file
      and its 0-based position there (int32), in file order. Reading a
      corrupted, truncated or unreadable file fails with an
      `InvalidArgumentError` that `describe_read_error` explains.
    """
    # A read error ends this file's records early (ignore_errors moves on to
    # the next file, of which there is none); the byte count then tells.
    chunks = tf.data.TFRecordDataset(path).ignore_errors().batch(_CHUNK_RECORDS)
    end = tf.data.Dataset.from_tensors(tf.zeros([0], tf.string))

    def count_bytes(state, chunk):
        offset, index = state
        count = tf.size(chunk, out_type=tf.int64)
        ended_early = tf.logical_and(tf.equal(count, 0), tf.not_equal(offset, size))
        check = tf.debugging.Assert(tf.logical_not(ended_early), [
            _SHORT_READ, what, path, tf.as_string(offset), tf.as_string(index),
            tf.as_string(size),
        ])
        with tf.control_dependencies([check]):
            lengths = tf.cast(tf.strings.length(chunk), tf.int64)
            offset += tf.reduce_sum(lengths) + FRAME_BYTES * count
        indices = tf.cast(tf.range(index, index + count), tf.int32)
        located = (chunk, tf.fill([count], path), indices)
        return (offset, index + count), located

    zero = tf.constant(0, tf.int64)
    return chunks.concatenate(end).scan((zero, zero), count_bytes).unbatch()


def files_dataset(input_files, what=""):
    """A Dataset of (path, size) for `input_files`, sizes read now."""
    sizes = file_sizes(input_files, what)
    return tf.data.Dataset.from_tensor_slices(
        (tf.constant(input_files, tf.string), tf.constant(sizes, tf.int64))
    )


def read_files(input_files, what=""):
    """`read_records` of each file in turn: `TFRecordDataset(input_files)`
    with checks, the same records in the same order."""
    return files_dataset(input_files, what).flat_map(
        lambda path, size: read_records(path, size, what)
    )


def parse_function(name_to_features, located=False):
    """A function (record, path, index) -> dict of Tensors, for `Dataset.map`.

    With `located`, the dict also holds the record's file and index, which
    `id_check` reads (and removes) after batching.
    """

    def parse(record, path, index):
        example = decode_record(record, name_to_features)
        if located:
            example[_PATH] = path
            example[_INDEX] = index
        return example

    return parse


def id_check(vocab_size, id_features=("input_ids",), what=""):
    """A function batch -> batch, for `Dataset.map` after batching.

    Every id of `id_features` must be in [0, vocab_size): an embedding lookup
    of an id outside the table fails on CPU with an unclear error and reads
    zeros on GPU. The batch comes from `parse_function(..., located=True)`;
    the location is removed. Checked per batch, the ids and the location
    cost about 3 us per example on the CI machine's CPU; the same check per
    example would cost 20 us.
    """

    def check(batch):
        batch = dict(batch)
        paths = batch.pop(_PATH)
        indices = batch.pop(_INDEX)
        rows = tf.shape(paths)[0]
        ids = tf.concat([tf.reshape(batch[n], [rows, -1]) for n in id_features], 1)
        low = tf.reduce_min(ids, axis=1)
        high = tf.reduce_max(ids, axis=1)
        bad = tf.logical_or(low < 0, high >= vocab_size)
        row = tf.argmax(tf.cast(bad, tf.int32))
        # String and int32 data only: the assert then needs no tf.cond.
        check = tf.debugging.Assert(tf.logical_not(tf.reduce_any(bad)), [
            _BAD_ID, what, paths[row], indices[row], low[row], high[row],
            tf.constant(vocab_size, tf.int32),
        ])
        with tf.control_dependencies([check]):
            batch[id_features[0]] = tf.identity(batch[id_features[0]])
        return batch

    return check


def _assert_data(message, marker, count):
    """The data of the pipeline's assert `marker` in `message`, or None.

    TensorFlow prints each datum in brackets, strings C-escaped; the path
    is found between the fixed fields, so brackets in it do no harm.
    """
    numbers = r"\] \[(-?\d+)" * count
    match = re.search(
        re.escape(f"[{marker}] [") + r"(.*?)\] \[(.*)" + numbers + r"\]", message
    )
    if match is None:
        return None
    what, path = (
        codecs.escape_decode(g.encode("utf-8"))[0].decode("utf-8", "replace")
        for g in match.groups()[:2]
    )
    return what, path, [int(g) for g in match.groups()[2:]]


def _short_read_reason(path, offset, index, size):
    """Why reading `path` stopped at `offset`: one read of 12 bytes there."""
    try:
        current = tf.io.gfile.stat(path).length
        if current != size:
            return (f"changed while it was read ({size} bytes when listed, "
                    f"{current} now)")
        if size - offset < _HEADER_BYTES:
            return (f"is truncated: it ends {size - offset} bytes into the "
                    f"{_HEADER_BYTES}-byte header of record {index} at byte "
                    f"{offset}")
        with tf.io.gfile.GFile(path, "rb") as f:
            f.seek(offset)
            (length,) = struct.unpack("<Q", f.read(8))
    except tf.errors.OpError as e:
        return f"cannot be read ({e.message})"
    # A file that fails at its first byte is most likely not a TFRecord.
    hint = " (is it a TFRecord file?)" if offset == 0 else ""
    if offset + FRAME_BYTES + length > size:
        return (f"is truncated or corrupt: record {index} at byte {offset} "
                f"claims {length} bytes, but the file ends at byte {size}{hint}")
    return (f"is corrupt: record {index} at byte {offset} fails its checksum "
            f"(overwritten bytes){hint}")


def describe_read_error(error, input_files=None):
    """The one-line `UserInputError` for an input pipeline's error, or None.

    Call it on a `tf.errors.OpError` raised while iterating a Dataset of
    `read_records`/`id_check` (an `InvalidArgumentError`), or on a
    `DataLossError` from a plain `TFRecordDataset` of `input_files`; other
    errors give None and should be re-raised as they are.

    Args:
      error: the `tf.errors.OpError`.
      input_files: optional list of the files read; only needed to locate a
        `DataLossError` that names no file (they are read again, in order).
    """
    message = error.message if isinstance(error, tf.errors.OpError) else str(error)
    found = _assert_data(message, _SHORT_READ, 3)
    if found:
        what, path, (offset, index, size) = found
        return errors.UserInputError(
            f"{_where(what, path)} {_short_read_reason(path, offset, index, size)}"
        )
    found = _assert_data(message, _BAD_ID, 4)
    if found:
        what, path, (index, low, high, vocab_size) = found
        bad = high if high >= vocab_size else low
        return errors.UserInputError(
            f"{_where(what, path)}: record {index} holds token id {bad}, but "
            f"vocab_size is {vocab_size} in bert_config.json (ids must be 0 to "
            f"{vocab_size - 1}); were these TFRecords made with another vocab?"
        )
    if isinstance(error, tf.errors.DataLossError) and input_files:
        return verify_files(input_files)
    return None


def verify_files(input_files, what=""):
    """Reads every record of `input_files`; the error for the first bad one.

    For the error path (about 0.5 s of CPU per 100 MB): training checks
    as it reads, through `read_records`.

    Returns:
      a `UserInputError` naming the file, record and byte offset, or None
      when every file reads to its end.
    """
    for path in input_files:
        try:
            dataset = read_files([path], what).batch(4096)
            for _ in dataset:
                pass
        except errors.UserInputError as e:
            return e
        except tf.errors.InvalidArgumentError as e:
            described = describe_read_error(e)
            if described is not None:
                return described
            raise
    return None


def single_file_input_fn(
    input_file, name_to_features, is_training, drop_remainder, batch_size,
    seed=None, vocab_size=None,
):
    """run_classifier's and run_squad's input: one TFRecord file.

    Training repeats the file and shuffles through a 100-example buffer, as
    the originals; otherwise the file is read once, in order. `seed` seeds
    the shuffle, so that a restarted run sees the same batches. With
    `vocab_size`, `input_ids` are checked against it (`id_check`).

    Returns:
      a callable with no arguments returning a Dataset of dicts of
      [batch_size, ...] tensors.
    """

    def input_fn():
        d = read_files([input_file])
        if is_training:
            d = d.repeat()
            d = d.shuffle(buffer_size=100, seed=seed)
        d = d.map(
            parse_function(name_to_features, located=vocab_size is not None),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
        d = d.batch(batch_size, drop_remainder=drop_remainder)
        if vocab_size is not None:
            d = d.map(id_check(vocab_size))
        return d.prefetch(tf.data.AUTOTUNE)

    return input_fn
