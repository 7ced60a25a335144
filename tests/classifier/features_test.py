"""Tests for bert_tf.classifier.features against the reference's output."""

import json
import logging
import os
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from bert_tf import errors
from bert_tf import packing
from bert_tf import tokenization
from bert_tf import records as records_lib
from bert_tf.classifier import features
from bert_tf.classifier import processors
from bert_tf.classifier.examples import InputExample
from bert_tf.classifier.examples import PaddingInputExample
from tests.conftest import read_int64_tfrecord_dump
from tests.conftest import read_jsonl
from tests.conftest import read_tfrecord

TESTDATA = pathlib.Path(__file__).resolve().parent.parent / "testdata"
CLASSIFIER = TESTDATA / "classifier"
DATA_DIRS = {"mrpc": "MRPC", "cola": "CoLA", "mnli": "MNLI", "xnli": "XNLI"}
MAX_SEQ_LENGTH = 32  # what the golden files were built with


@pytest.fixture(scope="module")
def tokenizer():
    return tokenization.FullTokenizer(
        str(TESTDATA / "vocab" / "uncased_vocab.txt"), do_lower_case=True
    )


def _examples(task, split):
    processor = processors.get_processor(task)
    data_dir = str(CLASSIFIER / DATA_DIRS[task])
    return {
        "train": processor.get_train_examples,
        "dev": processor.get_dev_examples,
        "test": processor.get_test_examples,
    }[split](data_dir)


# --- convert_single_example: every golden line, id for id. ---


@pytest.mark.parametrize("task", sorted(DATA_DIRS))
def test_features_match_reference(task, tokenizer):
    golden = read_jsonl(CLASSIFIER / f"{task}_features.jsonl")
    label_list = processors.get_processor(task).get_labels()
    examples = {}
    for g in golden:
        if g["split"] not in examples:
            examples[g["split"]] = _examples(task, g["split"])
        example = examples[g["split"]][g["ex_index"]]
        got = (example.guid, example.text_a, example.text_b, example.label)
        assert got == (g["guid"], g["text_a"], g["text_b"], g["label"])

        tokens, segment_ids = packing.tokenize_pair(
            example.text_a, example.text_b, MAX_SEQ_LENGTH, tokenizer
        )
        assert tokens == g["tokens"], g["guid"]
        assert segment_ids == g["segment_ids"][: len(tokens)], g["guid"]

        feature = features.convert_single_example(
            g["ex_index"], example, label_list, MAX_SEQ_LENGTH, tokenizer
        )
        assert feature.input_ids == g["input_ids"], g["guid"]
        assert feature.input_mask == g["input_mask"], g["guid"]
        assert feature.segment_ids == g["segment_ids"], g["guid"]
        assert feature.label_id == g["label_id"], g["guid"]
        assert feature.is_real_example is g["is_real_example"], g["guid"]
    assert sum(len(v) for v in examples.values()) == len(golden)


def test_golden_covers_truncation_and_empty_text_b(tokenizer):
    golden = {
        g["guid"]: g for g in read_jsonl(CLASSIFIER / "mrpc_features.jsonl")
    }
    # train-5 is a pair cut to exactly 32 ids; train-7 has an empty #2 String
    # and so is a single sentence with segment ids all 0.
    assert sum(golden["train-5"]["input_mask"]) == 32
    assert 1 in golden["train-5"]["segment_ids"]
    assert golden["train-7"]["text_b"] == ""
    assert set(golden["train-7"]["segment_ids"]) == {0}
    assert golden["train-7"]["tokens"][-1] == "[SEP]"
    assert golden["train-7"]["tokens"].count("[SEP]") == 1


def test_text_b_that_tokenizes_to_nothing_is_a_single_sentence(tokenizer):
    example = InputExample("x-0", "Hello there", " \t ", "0")
    feature = features.convert_single_example(
        0, example, ["0", "1"], 8, tokenizer
    )
    # [CLS] hello there [SEP], no second [SEP].
    assert feature.input_ids == [101, 7592, 2045, 102, 0, 0, 0, 0]
    assert feature.segment_ids == [0] * 8
    assert feature.input_mask == [1, 1, 1, 1, 0, 0, 0, 0]


def test_padding_example_gives_zeros(tokenizer):
    feature = features.convert_single_example(
        0, PaddingInputExample(), ["0", "1"], 4, tokenizer
    )
    assert feature == features.InputFeatures(
        [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], 0, False
    )


def test_example_log_lines(tokenizer, caplog):
    examples = _examples("mrpc", "dev")
    with caplog.at_level(logging.INFO, logger="absl"):
        features.convert_examples_to_features(
            examples + examples, ["0", "1"], MAX_SEQ_LENGTH, tokenizer
        )
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "Writing example 0 of 8"
    assert messages[1:8] == [
        "*** Example ***",
        "guid: dev-1",
        "tokens: [CLS] the senator voted against the bill . [SEP] the bill "
        "was opposed by the senator . [SEP]",
        "input_ids: 101 1996 5205 5444 2114 1996 3021 1012 102 1996 3021 "
        "2001 4941 2011 1996 5205 1012 102" + " 0" * 14,
        "input_mask: " + " ".join(["1"] * 18 + ["0"] * 14),
        "segment_ids: " + " ".join(["0"] * 9 + ["1"] * 9 + ["0"] * 14),
        "label: 1 (id = 1)",
    ]
    # Examples 0..4 are logged, example 5 onwards are not.
    assert messages.count("*** Example ***") == 5
    assert [m for m in messages if m.startswith("guid:")] == [
        "guid: dev-1", "guid: dev-2", "guid: dev-3", "guid: dev-4",
        "guid: dev-1",
    ]


def test_convert_examples_to_features_matches_single_conversion(tokenizer):
    golden = [
        g for g in read_jsonl(CLASSIFIER / "cola_features.jsonl")
        if g["split"] == "dev"
    ]
    got = features.convert_examples_to_features(
        _examples("cola", "dev"), ["0", "1"], MAX_SEQ_LENGTH, tokenizer
    )
    assert [f.input_ids for f in got] == [g["input_ids"] for g in golden]
    assert [f.label_id for f in got] == [g["label_id"] for g in golden]


def test_unknown_label_in_conversion_names_the_guid(tokenizer):
    example = InputExample("dev-7", "a", "b", "maybe")
    with pytest.raises(errors.UserInputError) as e:
        features.convert_single_example(0, example, ["0", "1"], 8, tokenizer)
    assert str(e.value) == (
        "Example dev-7: label 'maybe' is not one of ['0', '1']"
    )


# --- TFRecords. ---


def test_mrpc_train_tfrecord_matches_reference(tokenizer, tmp_path):
    output = tmp_path / "train.tf_record"
    features.file_based_convert_examples_to_features(
        _examples("mrpc", "train"), ["0", "1"], MAX_SEQ_LENGTH, tokenizer,
        str(output),
    )
    ours = read_tfrecord(output)
    golden = read_tfrecord(CLASSIFIER / "mrpc_train.tf_record")
    assert len(ours) == 8
    assert ours == golden
    assert ours == read_int64_tfrecord_dump(
        CLASSIFIER / "mrpc_train.tf_record.jsonl"
    )
    assert os.listdir(tmp_path) == ["train.tf_record"]


def test_mrpc_eval_tfrecord_with_padding_matches_reference(tokenizer, tmp_path):
    examples = features.pad_examples_to_batch(_examples("mrpc", "dev"), 8)
    assert len(examples) == 8
    assert all(
        isinstance(e, PaddingInputExample) for e in examples[4:]
    )
    output = tmp_path / "eval.tf_record"
    features.file_based_convert_examples_to_features(
        examples, ["0", "1"], MAX_SEQ_LENGTH, tokenizer, str(output)
    )
    ours = read_tfrecord(output)
    assert ours == read_tfrecord(CLASSIFIER / "mrpc_eval.tf_record")
    assert ours == read_int64_tfrecord_dump(
        CLASSIFIER / "mrpc_eval.tf_record.jsonl"
    )
    assert [r["is_real_example"][1] for r in ours] == [[1]] * 4 + [[0]] * 4


def test_summary_feature_kinds_match_what_we_write(tokenizer, tmp_path):
    summary = json.loads((CLASSIFIER / "summary.json").read_text("utf-8"))
    output = tmp_path / "train.tf_record"
    features.file_based_convert_examples_to_features(
        _examples("mrpc", "train"), ["0", "1"], MAX_SEQ_LENGTH, tokenizer,
        str(output),
    )
    records = read_tfrecord(output)
    want = summary["tfrecords"]["mrpc_train.tf_record"]
    assert len(records) == want["records"]
    assert {k: v[0] for k, v in records[0].items()} == want["feature_kinds"]


def test_decode_record_parses_golden_file_as_int32():
    spec = features.name_to_features(MAX_SEQ_LENGTH)
    dataset = tf.data.TFRecordDataset(str(CLASSIFIER / "mrpc_eval.tf_record"))
    parsed = [
        records_lib.decode_record(r, spec) for r in dataset
    ]
    dump = read_jsonl(CLASSIFIER / "mrpc_eval.tf_record.jsonl")
    assert len(parsed) == len(dump) == 8
    for record, want in zip(parsed, dump):
        assert sorted(record) == sorted(want)
        for name, tensor in record.items():
            assert tensor.dtype == tf.int32, name
        for name in ("input_ids", "input_mask", "segment_ids"):
            assert record[name].shape == (MAX_SEQ_LENGTH,)
            assert record[name].numpy().tolist() == want[name]
        assert record["label_ids"].shape == ()
        assert record["label_ids"].numpy() == want["label_ids"][0]
        assert record["is_real_example"].numpy() == want["is_real_example"][0]


def test_failed_write_leaves_no_file(tokenizer, tmp_path):
    examples = _examples("mrpc", "dev")
    examples[2] = InputExample("dev-3", "a", "b", "2")
    output = tmp_path / "eval.tf_record"
    with pytest.raises(errors.UserInputError):
        features.file_based_convert_examples_to_features(
            examples, ["0", "1"], MAX_SEQ_LENGTH, tokenizer, str(output)
        )
    assert os.listdir(tmp_path) == []


# --- Regression (STS-B): float labels end to end. ---


def test_regression_features_and_tfrecord(tokenizer, tmp_path):
    examples = [
        InputExample("dev-0", "A plane is taking off.",
                     "An air plane is taking off.", 3.8),
        PaddingInputExample(),
    ]
    got = features.convert_examples_to_features(examples, None, 16, tokenizer)
    assert got[0].label_id == 3.8 and type(got[0].label_id) is float
    assert got[1].label_id == 0.0 and type(got[1].label_id) is float
    assert got[0].input_ids[:4] == [101, 1037, 4946, 2003]

    output = tmp_path / "eval.tf_record"
    features.file_based_convert_examples_to_features(
        examples, None, 16, tokenizer, str(output)
    )
    records = read_tfrecord(output)
    assert records[0]["label_ids"] == ("float_list", [np.float32(3.8)])
    assert records[1]["label_ids"] == ("float_list", [0.0])
    assert records[0]["input_ids"] == ("int64_list", got[0].input_ids)

    spec = features.name_to_features(16, is_regression=True)
    parsed = [
        records_lib.decode_record(r, spec)
        for r in tf.data.TFRecordDataset(str(output))
    ]
    assert parsed[0]["label_ids"].dtype == tf.float32
    assert parsed[0]["label_ids"].numpy() == np.float32(3.8)
    assert parsed[1]["is_real_example"].numpy() == 0
    assert parsed[0]["input_ids"].dtype == tf.int32


def test_name_to_features_spec():
    spec = features.name_to_features(7)
    assert spec == {
        "input_ids": tf.io.FixedLenFeature([7], tf.int64),
        "input_mask": tf.io.FixedLenFeature([7], tf.int64),
        "segment_ids": tf.io.FixedLenFeature([7], tf.int64),
        "label_ids": tf.io.FixedLenFeature([], tf.int64),
        "is_real_example": tf.io.FixedLenFeature([], tf.int64),
    }
    assert features.name_to_features(7, True)["label_ids"] == (
        tf.io.FixedLenFeature([], tf.float32)
    )


# --- pad_examples_to_batch. ---


@pytest.mark.parametrize(
    "num_examples, batch_size, padded", [(0, 8, 0), (4, 8, 8), (8, 8, 8),
                                         (9, 8, 16), (5, 1, 5), (3, 2, 4)]
)
def test_pad_examples_to_batch(num_examples, batch_size, padded):
    examples = [InputExample(f"dev-{i}", "x") for i in range(num_examples)]
    got = features.pad_examples_to_batch(examples, batch_size)
    assert len(got) == padded
    assert got[:num_examples] == examples
    assert all(
        isinstance(e, PaddingInputExample)
        for e in got[num_examples:]
    )
    assert len(examples) == num_examples  # the input list is left alone


def test_pad_examples_to_batch_rejects_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size must be positive, got 0"):
        features.pad_examples_to_batch([], 0)
