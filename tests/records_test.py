"""bert_tf.records: checked TFRecord reading and its one-line errors."""

import os
import struct
import uuid

import pytest
import tensorflow as tf

from bert_tf import records
from bert_tf.classifier import input_pipeline as classifier_input
from bert_tf.errors import UserInputError
from bert_tf.squad import features as squad_features

SPEC = {"input_ids": tf.io.FixedLenFeature([3], tf.int64)}


def _example(ids):
    return tf.train.Example(features=tf.train.Features(
        feature={"input_ids": records.int64_feature(ids)})).SerializeToString()


def _write_records(path, rows):
    with tf.io.TFRecordWriter(str(path)) as writer:
        for ids in rows:
            writer.write(_example(ids))
    return str(path)


def _offsets(path):
    """The byte offset of each record, from the lengths in the framing."""
    data = open(path, "rb").read()
    offsets, offset = [], 0
    while offset < len(data):
        offsets.append(offset)
        offset += records.FRAME_BYTES + struct.unpack_from("<Q", data, offset)[0]
    return offsets


ROWS = [[i, i + 1, i + 2] for i in range(10)]


@pytest.fixture
def good(tmp_path):
    return _write_records(tmp_path / "data.tfrecord", ROWS)


def _read(input_files, what="--input_file"):
    """All ids read through read_files and parse_function; or the error."""
    dataset = records.read_files(input_files, what).map(
        records.parse_function(SPEC, located=True)).batch(4).map(
            records.id_check(100, what=what))
    try:
        return [ids for x in dataset for ids in x["input_ids"].numpy().tolist()]
    except tf.errors.OpError as e:
        described = records.describe_read_error(e)
        assert described is not None, e.message
        return str(described)


def _damage(path, damage):
    data = bytes(damage(bytearray(open(path, "rb").read())))
    with open(path, "wb") as f:
        f.write(data)


def test_good_files_read_as_tfrecord_dataset(good):
    assert _read([good, good]) == ROWS + ROWS


def test_overwritten_data_byte(good):
    third = _offsets(good)[3]
    _damage(good, lambda d: d[:third + 14] + bytes([d[third + 14] ^ 1]) + d[third + 15:])
    assert _read([good]) == (
        f"--input_file: {good} is corrupt: record 3 at byte {third} fails its "
        "checksum (overwritten bytes)")


def test_overwritten_length(good):
    third = _offsets(good)[3]
    size = os.path.getsize(good)
    _damage(good, lambda d: d[:third + 2] + b"\x40" + d[third + 3:])
    length = len(_example(ROWS[3])) + (0x40 << 16)
    assert _read([good]) == (
        f"--input_file: {good} is truncated or corrupt: record 3 at byte "
        f"{third} claims {length} bytes, but the file ends at byte {size}")


def test_cut_inside_the_last_record(good):
    last = _offsets(good)[-1]
    _damage(good, lambda d: d[:last + 20])
    assert _read([good]) == (
        f"--input_file: {good} is truncated or corrupt: record 9 at byte "
        f"{last} claims {len(_example(ROWS[9]))} bytes, but the file ends at "
        f"byte {last + 20}")


@pytest.mark.parametrize("kept", [1, 11])
def test_cut_inside_a_header_reads_silently_in_tensorflow(good, kept):
    last = _offsets(good)[-1]
    _damage(good, lambda d: d[:last + kept])
    # What TensorFlow alone does: 9 records, no error.
    assert len(list(tf.data.TFRecordDataset(good))) == 9
    assert _read([good]) == (
        f"--input_file: {good} is truncated: it ends {kept} bytes into the "
        f"12-byte header of record 9 at byte {last}")


def test_trailing_bytes(good):
    size = os.path.getsize(good)
    _damage(good, lambda d: d + b"xyz")
    assert _read([good]) == (
        f"--input_file: {good} is truncated: it ends 3 bytes into the 12-byte "
        f"header of record 10 at byte {size}")


def test_cut_between_two_records_cannot_be_seen(good):
    # TFRecord files hold no count: the limitation the module docs state.
    last = _offsets(good)[-1]
    _damage(good, lambda d: d[:last])
    assert _read([good]) == ROWS[:9]


def test_not_a_tfrecord_file(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("This is plain text, not TFRecords.\n" * 3)
    (length,) = struct.unpack("<Q", b"This is ")
    assert _read([str(path)], what="") == (
        f"TFRecord file {path} is truncated or corrupt: record 0 at byte 0 "
        f"claims {length} bytes, but the file ends at byte 105 (is it a "
        "TFRecord file?)")


def test_file_changed_or_removed_after_listing(good, tmp_path):
    dataset = records.read_files([good], "--input_file")
    _damage(good, lambda d: d[:10])
    with pytest.raises(tf.errors.InvalidArgumentError) as error:
        list(dataset)
    size = len(_example(ROWS[0])) * 10 + 160
    assert str(records.describe_read_error(error.value)) == (
        f"--input_file: {good} changed while it was read ({size} bytes when "
        "listed, 10 now)")
    os.remove(good)
    with pytest.raises(UserInputError, match=r"^--input_file: .*data.tfrecord: "
                       r"cannot read the file \("):
        records.read_files([good], "--input_file")


def test_token_ids_outside_the_vocab(tmp_path):
    path = _write_records(tmp_path / "ids.tfrecord", [[1, 2, 3], [4, 100, 5]])
    assert _read([path]) == (
        f"--input_file: {path}: record 1 holds token id 100, but vocab_size is "
        "100 in bert_config.json (ids must be 0 to 99); were these TFRecords "
        "made with another vocab?")
    negative = _write_records(tmp_path / "negative.tfrecord", [[1, -2, 3]])
    assert "record 0 holds token id -2, but vocab_size is 100" in _read([negative])


def test_the_bad_file_among_interleaved_files(tmp_path):
    paths = [_write_records(tmp_path / f"{i}.tfrecord", ROWS) for i in range(4)]
    third = _offsets(paths[2])[3]
    _damage(paths[2], lambda d: d[:third + 14] + b"\0" + d[third + 15:])
    files = records.files_dataset(paths, "--input_file")
    dataset = files.interleave(
        lambda path, size: records.read_records(path, size, "--input_file"),
        cycle_length=4, num_parallel_calls=2)
    with pytest.raises(tf.errors.InvalidArgumentError) as error:
        list(dataset)
    assert str(records.describe_read_error(error.value)) == (
        f"--input_file: {paths[2]} is corrupt: record 3 at byte {third} fails "
        "its checksum (overwritten bytes)")


def test_error_from_a_compiled_training_loop(good):
    # As the Estimator sees it: the iterator fails inside a tf.function.
    _damage(good, lambda d: d[:-5])
    iterator = iter(records.single_file_input_fn(good, SPEC, True, True, 4)())

    @tf.function
    def loop(iterator):
        total = tf.constant(0)
        for _ in tf.range(10):
            total += tf.reduce_sum(next(iterator)["input_ids"])
        return total

    with pytest.raises(tf.errors.InvalidArgumentError) as error:
        loop(iterator)
    assert str(records.describe_read_error(error.value)).startswith(
        f"TFRecord file {good} is truncated or corrupt: record 9 at byte ")
    assert records.describe_read_error(tf.errors.InvalidArgumentError(
        None, None, "Incompatible shapes")) is None


def test_data_loss_of_a_plain_tfrecord_dataset_is_located(tmp_path, good):
    paths = [_write_records(tmp_path / "first.tfrecord", ROWS), good]
    third = _offsets(good)[3]
    _damage(good, lambda d: d[:third + 14] + b"\0" + d[third + 15:])
    with pytest.raises(tf.errors.DataLossError) as error:
        list(tf.data.TFRecordDataset(paths))
    expected = (f"{good} is corrupt: record 3 at byte {third} fails its "
                "checksum (overwritten bytes)")
    assert str(records.describe_read_error(error.value, paths)) == (
        f"TFRecord file {expected}")
    assert records.describe_read_error(error.value) is None
    assert str(records.verify_files(paths, "--input_file")) == (
        f"--input_file: {expected}")
    assert records.verify_files(paths[:1]) is None


def test_corrupt_file_on_ram_filesystem(good):
    path = f"ram://{uuid.uuid4().hex}/data.tfrecord"
    data = bytearray(open(good, "rb").read())
    third = _offsets(good)[3]
    data[third + 20] ^= 1
    with tf.io.gfile.GFile(path, "wb") as f:
        f.write(bytes(data))
    assert _read([path]) == (
        f"--input_file: {path} is corrupt: record 3 at byte {third} fails its "
        "checksum (overwritten bytes)")


def test_classifier_and_squad_inputs_check_ids(tmp_path):
    seq = 3
    row = {"input_ids": [1, 2, 7], "input_mask": [1, 1, 1],
           "segment_ids": [0, 0, 0], "label_ids": [0], "is_real_example": [1],
           "unique_ids": [5]}
    path = str(tmp_path / "train.tf_record")
    with tf.io.TFRecordWriter(path) as writer:
        example = tf.train.Example(features=tf.train.Features(feature={
            k: records.int64_feature(v) for k, v in row.items()}))
        writer.write(example.SerializeToString())
    for builder in (classifier_input.file_based_input_fn_builder,
                    squad_features.input_fn_builder):
        ok = builder(path, seq, False, False, 1, vocab_size=8)()
        assert next(iter(ok))["input_ids"].numpy().tolist() == [[1, 2, 7]]
        with pytest.raises(tf.errors.InvalidArgumentError) as error:
            list(builder(path, seq, False, False, 1, vocab_size=7)())
        assert str(records.describe_read_error(error.value)) == (
            f"TFRecord file {path}: record 0 holds token id 7, but vocab_size "
            "is 7 in bert_config.json (ids must be 0 to 6); were these "
            "TFRecords made with another vocab?")
