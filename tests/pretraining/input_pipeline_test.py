"""run_pretraining's input: checked reading of bad TFRecord files."""

import os

import pytest
import tensorflow as tf

from bert_tf import records
from bert_tf.errors import UserInputError
from bert_tf.pretraining import input_pipeline
from bert_tf.pretraining import tfrecords

SEQ, PREDICTIONS = 8, 2


def _write(path, rows):
    """A pretraining TFRecord file; each row is (input_ids, masked_lm_ids)."""
    encoder = tfrecords.ExampleEncoder(SEQ, PREDICTIONS, max_id=1000)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for ids, labels in rows:
            writer.write(encoder.encode(ids, 2, [1, 2][:len(labels)], labels, 0))
    return str(path)


def _rows(count, bad_index=None, bad_input_id=None, bad_label=None):
    rows = [([101, 7, 8, 102, 9, 102], [5, 6]) for _ in range(count)]
    if bad_index is not None:
        ids, labels = rows[bad_index]
        if bad_input_id is not None:
            ids = [101, bad_input_id, 8, 102, 9, 102]
        if bad_label is not None:
            labels = [5, bad_label]
        rows[bad_index] = (ids, labels)
    return rows


def _error(input_fn):
    with pytest.raises(tf.errors.InvalidArgumentError) as error:
        for _ in zip(range(100), input_fn()):
            pass
    return str(records.describe_read_error(error.value))


def _builder(files, is_training, vocab_size=500):
    return input_pipeline.input_fn_builder(
        files, SEQ, PREDICTIONS, is_training=is_training, batch_size=2,
        seed=1, vocab_size=vocab_size)


@pytest.mark.parametrize("is_training, field", [
    (True, "bad_input_id"), (False, "bad_label")], ids=["train", "eval"])
def test_token_id_at_or_above_vocab_size(tmp_path, is_training, field):
    good = _write(tmp_path / "good.tfrecord", _rows(6))
    bad = _write(tmp_path / "bad.tfrecord", _rows(6, 4, **{field: 500}))
    assert _error(_builder([good, bad], is_training)) == (
        f"--input_file: {bad}: record 4 holds token id 500, but vocab_size is "
        "500 in bert_config.json (ids must be 0 to 499); were these TFRecords "
        "made with another vocab?")
    # Without vocab_size (a library caller's choice) nothing is checked.
    batch = next(iter(_builder([bad], False, vocab_size=None)()))
    assert batch["input_ids"].shape == (2, SEQ)


@pytest.mark.parametrize("is_training", [True, False], ids=["train", "eval"])
def test_truncated_file_fails_when_its_reading_ends(tmp_path, is_training):
    good = _write(tmp_path / "good.tfrecord", _rows(6))
    cut = _write(tmp_path / "cut.tfrecord", _rows(6))
    size = os.path.getsize(cut)
    record = size // 6
    with open(cut, "r+b") as f:
        f.truncate(size - record + 5)  # 5 bytes into the last header
    assert _error(_builder([good, cut], is_training)) == (
        f"--input_file: {cut} is truncated: it ends 5 bytes into the 12-byte "
        f"header of record 5 at byte {size - record}")


def test_first_file_that_is_not_tfrecord(tmp_path):
    text = tmp_path / "corpus.txt"
    text.write_text("not a TFRecord\n" * 4)
    with pytest.raises(UserInputError, match=(
            rf"^--input_file: {text} is truncated or corrupt: record 0 at byte 0 "
            r"claims \d+ bytes, but the file ends at byte 60 \(is it a TFRecord "
            r"file\?\)$")):
        input_pipeline.check_record_lengths([str(text)], SEQ, PREDICTIONS)
    empty = tmp_path / "empty.tfrecord"
    empty.write_bytes(b"")
    with pytest.raises(UserInputError, match=r"^--input_file: .* holds no examples$"):
        input_pipeline.check_record_lengths([str(empty)], SEQ, PREDICTIONS)
