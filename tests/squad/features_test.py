"""convert_examples_to_features, FeatureWriter and the tf.data input against
the reference's output on the squad fixtures (max_seq_length 64, doc_stride
16, max_query_length 12, uncased vocab, lower case)."""

import dataclasses
import os

import numpy as np
import pytest

from bert_tf import tokenization
from bert_tf.errors import UserInputError
from bert_tf.squad import features
from tests.conftest import read_int64_tfrecord_dump
from tests.conftest import read_jsonl
from tests.conftest import read_tfrecord
from tests.conftest import testdata
from tests.squad.examples_test import VERSIONS
from tests.squad.examples_test import read_examples

SETTINGS = dict(max_seq_length=64, doc_stride=16, max_query_length=12)


@pytest.fixture(scope="module")
def tokenizer():
    return tokenization.FullTokenizer(
        testdata("vocab", "uncased_vocab.txt"), do_lower_case=True
    )


def convert(tokenizer, version, is_training, output_fn=None):
    collected = []
    count = features.convert_examples_to_features(
        read_examples(version, is_training), tokenizer,
        is_training=is_training, output_fn=output_fn or collected.append,
        **SETTINGS,
    )
    return collected, count


def _as_json(feature):
    record = dataclasses.asdict(feature)
    # JSON object keys are strings.
    for name in ("token_to_orig_map", "token_is_max_context"):
        record[name] = {str(k): v for k, v in record[name].items()}
    return record


@pytest.mark.parametrize("version", sorted(VERSIONS))
@pytest.mark.parametrize("mode", ["train", "predict"])
def test_features_match_reference(tokenizer, version, mode):
    got, count = convert(tokenizer, version, mode == "train")
    expected = read_jsonl(testdata("squad", version, f"features_{mode}.jsonl"))
    assert count == len(got) == len(expected)
    for g, e in zip(got, expected):
        assert _as_json(g) == e, (g.unique_id, g.example_index)
    # Keys are ints in memory, as the reference's dicts.
    assert all(isinstance(k, int) for k in got[0].token_to_orig_map)


@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_train_tfrecord_matches_reference(tokenizer, version, tmp_path):
    path = str(tmp_path / "train.tf_record")
    with features.FeatureWriter(path, is_training=True) as writer:
        convert(tokenizer, version, True, writer.process_feature)
    assert sorted(os.listdir(tmp_path)) == ["train.tf_record"]
    got = read_tfrecord(path)
    assert writer.num_features == len(got)
    assert got == read_tfrecord(testdata("squad", version, "train.tf_record"))
    # The dump's values are int64 ones, so this also checks every kind.
    assert got == read_int64_tfrecord_dump(
        testdata("squad", version, "train.tf_record.jsonl")
    )


def test_improve_answer_span(tokenizer):
    # The original's comment examples: "(1895-1943)." narrows to "1895";
    # "Japan" inside the single piece "japanese" keeps the word span.
    pieces = tokenizer.tokenize("(1895-1943).")
    assert pieces == ["(", "1895", "-", "1943", ")", "."]
    assert features._improve_answer_span(pieces, 0, 5, tokenizer, "1895") == (
        1, 1)
    pieces = tokenizer.tokenize("The Japanese electronics")
    assert pieces[1] == "japanese"
    assert features._improve_answer_span(pieces, 1, 1, tokenizer, "Japan") == (
        1, 1)
    # The longest match wins over a shorter one at the same start.
    pieces = ["a", "b", "a", "b"]
    assert features._improve_answer_span(pieces, 0, 3, tokenizer, "A b") == (
        0, 1)


def test_max_context():
    # Doc "the man went to the store and bought a gallon of milk", spans
    # A = [0, 5), B = [3, 8), C = [6, 11): "bought" (7) has context
    # min(4, 0) in B and min(1, 3) in C, so C is its max-context window.
    spans = [features.DocSpan(0, 5), features.DocSpan(3, 5),
             features.DocSpan(6, 5)]
    assert [features._check_is_max_context(spans, i, 7) for i in range(3)] == [
        False, False, True]
    # "to" (3): min(3, 1) = 1 in A, min(0, 4) = 0 in B -> A.
    assert features._check_is_max_context(spans, 0, 3)
    # A tie on context is broken by 0.01 * length, then by the first span.
    spans = [features.DocSpan(0, 3), features.DocSpan(0, 4)]
    assert features._check_is_max_context(spans, 1, 1)
    spans = [features.DocSpan(0, 3), features.DocSpan(0, 3)]
    assert features._check_is_max_context(spans, 0, 1)


def test_doc_spans():
    DocSpan = features.DocSpan
    assert features._doc_spans(10, 4, 3) == [
        DocSpan(0, 4), DocSpan(3, 4), DocSpan(6, 4)]
    # A stride longer than the window: no overlap, nothing skipped.
    assert features._doc_spans(5, 2, 8) == [
        DocSpan(0, 2), DocSpan(2, 2), DocSpan(4, 1)]
    assert features._doc_spans(0, 4, 3) == []


def test_bad_settings(tokenizer):
    examples = read_examples("v1.1", False)[:1]
    with pytest.raises(UserInputError, match=r"The max_seq_length \(15\) "
                       r"must be greater than max_query_length \(12\) \+ 3"):
        features.convert_examples_to_features(
            examples, tokenizer, 15, 16, 12, False, lambda f: None)
    with pytest.raises(UserInputError, match="doc_stride must be at least 1"):
        features.convert_examples_to_features(
            examples, tokenizer, 64, 0, 12, False, lambda f: None)


def test_feature_writer_leaves_nothing_on_failure(tokenizer, tmp_path):
    path = str(tmp_path / "eval.tf_record")
    with pytest.raises(RuntimeError):
        with features.FeatureWriter(path, is_training=False) as writer:
            convert(tokenizer, "v1.1", False, writer.process_feature)
            raise RuntimeError("interrupted")
    assert os.listdir(tmp_path) == []


def test_input_fn(tokenizer, tmp_path):
    path = str(tmp_path / "eval.tf_record")
    with features.FeatureWriter(path, is_training=False) as writer:
        predict, _ = convert(tokenizer, "v2.0", False)
        for feature in predict:
            writer.process_feature(feature)
    # Prediction: read once, in order, the last batch partial (44 = 5*8+4).
    input_fn = features.input_fn_builder(path, 64, False, False, 8)
    batches = list(input_fn().as_numpy_iterator())
    assert [len(b["unique_ids"]) for b in batches] == [8] * 5 + [4]
    assert sorted(batches[0]) == [
        "input_ids", "input_mask", "segment_ids", "unique_ids"]
    assert batches[0]["input_ids"].dtype == np.int32
    np.testing.assert_array_equal(
        np.concatenate([b["unique_ids"] for b in batches]),
        [f.unique_id for f in predict],
    )
    np.testing.assert_array_equal(
        np.concatenate([b["input_ids"] for b in batches]),
        [f.input_ids for f in predict],
    )

    # Training: start/end positions too, repeating, full batches only.
    path = testdata("squad", "v2.0", "train.tf_record")
    input_fn = features.input_fn_builder(path, 64, True, True, 16, seed=3)
    batches = list(input_fn().take(4).as_numpy_iterator())
    assert [b["start_positions"].shape for b in batches] == [(16,)] * 4
    assert "is_impossible" not in batches[0]
    golden = {r["unique_ids"][0]: r for r in read_jsonl(path + ".jsonl")}
    for batch in batches:
        for uid, start, end in zip(batch["unique_ids"],
                                   batch["start_positions"],
                                   batch["end_positions"]):
            assert [start, end] == (golden[uid]["start_positions"]
                                    + golden[uid]["end_positions"])
