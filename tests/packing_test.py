"""Tests for bert_tf.packing: the docstrings' worked examples and edge cases.

The golden-file tests of its users (tests/classifier/features_test.py,
tests/feature_extraction_test.py, tests/squad/features_test.py) pin it
against the reference as well.
"""

import pytest

from bert_tf import packing
from bert_tf import tokenization
from tests.conftest import testdata


@pytest.fixture(scope="module")
def tokenizer():
    return tokenization.FullTokenizer(
        testdata("vocab", "uncased_vocab.txt"), do_lower_case=True
    )


def test_truncate_seq_pair_pops_from_the_longer_list_b_on_ties():
    a = ["a1", "a2", "a3", "a4", "a5"]
    b = ["b1", "b2"]
    packing.truncate_seq_pair(a, b, 5)
    assert (a, b) == (["a1", "a2", "a3"], ["b1", "b2"])
    a = ["a1", "a2", "a3"]
    b = ["b1", "b2", "b3"]
    packing.truncate_seq_pair(a, b, 3)
    assert (a, b) == (["a1", "a2"], ["b1"])


def test_pack_pair_with_and_without_b():
    assert packing.pack_pair(["a"], ["b", "c"]) == (
        ["[CLS]", "a", "[SEP]", "b", "c", "[SEP]"], [0, 0, 0, 1, 1, 1]
    )
    assert packing.pack_pair(["a"], []) == (["[CLS]", "a", "[SEP]"], [0, 0, 0])
    assert packing.pack_pair([], ["b"]) == (
        ["[CLS]", "[SEP]", "b", "[SEP]"], [0, 0, 1, 1]
    )


def test_pad_inputs_worked_example():
    assert packing.pad_inputs([101, 7, 102], [0, 0, 0], 5) == (
        [101, 7, 102, 0, 0], [1, 1, 1, 0, 0], [0, 0, 0, 0, 0]
    )


def test_tokenize_pair_worked_example(tokenizer):
    tokens, segment_ids = packing.tokenize_pair(
        "The cat sat .", "It slept .", 16, tokenizer
    )
    assert tokens == [
        "[CLS]", "the", "cat", "sat", ".", "[SEP]", "it", "slept", ".", "[SEP]"
    ]
    assert segment_ids == [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]


def test_tokenize_pair_single_text_keeps_its_first_tokens(tokenizer):
    tokens, segment_ids = packing.tokenize_pair(
        "the cat sat on the mat", None, 5, tokenizer
    )
    assert tokens == ["[CLS]", "the", "cat", "sat", "[SEP]"]
    assert segment_ids == [0] * 5
