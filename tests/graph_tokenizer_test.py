"""bert_tf.graph_tokenizer: in-graph ids equal the reference's, line by line."""

import json
import random

import pytest
import tensorflow as tf

from bert_tf import errors
from bert_tf import graph_tokenizer
from bert_tf import tokenization
from tests.conftest import read_jsonl
from tests.tokenization_helpers import CONFIGS
from tests.tokenization_helpers import TOKENIZATION
from tests.tokenization_helpers import VOCABS

CORPUS = read_jsonl(TOKENIZATION / "corpus.jsonl")
EXPECTED = {e["id"]: e for e in read_jsonl(TOKENIZATION / "expected.jsonl")}
TEXTS = [c["text"] for c in CORPUS]


def expected_ids(key):
    return [EXPECTED[c["id"]][key]["ids"] for c in CORPUS]


def mismatches(actual, expected):
    """Corpus ids of the lines that differ (readable failures)."""
    assert len(actual) == len(expected) == 351
    return [c["id"] for c, a, e in zip(CORPUS, actual, expected) if a != e]


def write_vocab(tmp_path, tokens):
    path = tmp_path / "vocab.txt"
    path.write_text("".join(t + "\n" for t in tokens), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def graph_tokenizers():
    return {
        key: graph_tokenizer.GraphTokenizer(
            str(VOCABS[vocab]), do_lower_case=lower
        )
        for key, (vocab, lower) in CONFIGS.items()
    }


@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_ids_match_golden_on_every_corpus_line(graph_tokenizers, key):
    ids = graph_tokenizers[key](tf.constant(TEXTS))
    assert isinstance(ids, tf.RaggedTensor)
    assert ids.dtype == tf.int32
    assert mismatches(ids.to_list(), expected_ids(key)) == []


def test_invalid_utf8_bytes_are_dropped_like_convert_to_unicode(
    graph_tokenizers,
):
    cases = read_jsonl(TOKENIZATION / "bytes_cases.jsonl")
    raw = [bytes.fromhex(case["bytes_hex"]) for case in cases]
    ids = graph_tokenizers["uncased_lower"](tf.constant(raw)).to_list()
    assert ids == [case["uncased_lower_ids"] for case in cases]


def test_vocab_quirks_give_reference_ids():
    path = TOKENIZATION / "vocab_edge.txt"
    with open(TOKENIZATION / "vocab_edge_expected.json") as f:
        cases = json.load(f)["full_tokenizer_lower"]
    tokenizer = graph_tokenizer.GraphTokenizer(str(path), do_lower_case=True)
    ids = tokenizer(tf.constant([case["text"] for case in cases])).to_list()
    assert ids == [case["ids"] for case in cases]


def test_saved_model_round_trip(graph_tokenizers, tmp_path):
    tokenizer = graph_tokenizers["uncased_lower"]
    texts = tf.constant(TEXTS)
    tf.saved_model.save(tokenizer, str(tmp_path))
    loaded = tf.saved_model.load(str(tmp_path))
    actual = loaded(texts).to_list()
    assert mismatches(actual, expected_ids("uncased_lower")) == []


def test_inside_tf_data(graph_tokenizers):
    dataset = tf.data.Dataset.from_tensor_slices(TEXTS).batch(64)
    dataset = dataset.map(graph_tokenizers["tiny_cased"])
    ids = [row for batch in dataset for row in batch.to_list()]
    assert mismatches(ids, expected_ids("tiny_cased")) == []


def test_spec_example_and_empty_batch(tmp_path):
    vocab_file = write_vocab(tmp_path, [
        "[UNK]", "[CLS]", "[SEP]", "want", "##want", "##ed", "wa", "un",
        "runn", "##ing", ",",
    ])
    tokenizer = graph_tokenizer.GraphTokenizer(vocab_file)
    ids = tokenizer(tf.constant(["UNwant\u00e9d,running", "", " \t"]))
    assert ids.to_list() == [[7, 4, 5, 10, 8, 9], [], []]
    assert tokenizer(tf.constant([], tf.string)).to_list() == []


def test_vocab_without_unk_token(tmp_path):
    vocab_file = write_vocab(tmp_path, ["[PAD]", "a"])
    with pytest.raises(errors.UserInputError, match="no '\\[UNK\\]' line"):
        graph_tokenizer.GraphTokenizer(vocab_file)


def test_scrambled_text_matches_reference_path(graph_tokenizers):
    # Moves combining marks, controls and punctuation into new places.
    rng = random.Random(7)
    texts = [
        " ".join("".join(rng.sample(word, len(word))) for word in t.split(" "))
        for t in TEXTS
    ]
    for key, (vocab, lower) in CONFIGS.items():
        full = tokenization.FullTokenizer(str(VOCABS[vocab]), lower)
        expected = [
            full.convert_tokens_to_ids([
                piece
                for word in full.basic_tokenizer.tokenize(text)
                for piece in full.wordpiece_tokenizer.tokenize(word)
            ])
            for text in texts
        ]
        actual = graph_tokenizers[key](tf.constant(texts)).to_list()
        assert mismatches(actual, expected) == [], key


# Code points where the in-graph BasicTokenizer differs from Python 3.11's
# (unicodedata 14.0), found by the sweep below with TF 2.21 / TF-Text 2.21.1.
# All are characters added in Unicode 14-16: unassigned (Cn) for Python 3.11
# but known to TF's newer RE2/ICU tables, plus capital letters new in
# Unicode 14 (Vithkuqi etc.) that TF's case mapping does not lower yet.
KNOWN_DIFFERENCES = {
    True: [
        (0x0ECE, 0x0ECE), (0x2C2F, 0x2C2F), (0xA7C0, 0xA7C0),
        (0xA7D0, 0xA7D0), (0xA7D6, 0xA7D6), (0xA7D8, 0xA7D8),
        (0x10570, 0x10595), (0x105C9, 0x105C9), (0x105E4, 0x105E4),
        (0x10EFD, 0x10EFF), (0x11241, 0x11241), (0x11383, 0x11391),
        (0x113C5, 0x113C8), (0x11B00, 0x11B09), (0x11F00, 0x11F01),
        (0x11F36, 0x11F3A), (0x11F40, 0x11F4F), (0x13439, 0x13455),
        (0x16121, 0x16128), (0x16D68, 0x16D6A), (0x1E08F, 0x1E08F),
        (0x1E4EC, 0x1E4EF),
    ],
    False: [(0x11B00, 0x11B09), (0x11F43, 0x11F4F), (0x13439, 0x1343F)],
}


@pytest.mark.slow
@pytest.mark.parametrize("do_lower_case", [True, False])
def test_every_code_point_against_python(do_lower_case):
    """Each code point between letters, graph vs Python (~25 s per case)."""
    graph = graph_tokenizer.GraphTokenizer(
        str(VOCABS["tiny"]), do_lower_case=do_lower_case
    )
    basic_tokenize = tf.function(
        graph.basic_tokenize,
        input_signature=[tf.TensorSpec([None], tf.string)],
    )
    python = tokenization.BasicTokenizer(do_lower_case=do_lower_case)
    code_points = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    differing = []
    for i in range(0, len(code_points), 1 << 16):
        batch = code_points[i:i + (1 << 16)]
        texts = ["xA" + chr(c) + "Bz" for c in batch]
        words = basic_tokenize(tf.constant(texts)).to_list()
        for c, text, row in zip(batch, texts, words):
            if [w.decode("utf-8") for w in row] != python.tokenize(text):
                differing.append(c)
    known = KNOWN_DIFFERENCES[do_lower_case]
    new = [
        f"U+{c:04X}"
        for c in differing
        if not any(low <= c <= high for low, high in known)
    ]
    assert new == []


def test_preserve_unused_tokens_gives_the_fast_paths_ids(tmp_path):
    vocab = str(VOCABS["uncased"])
    texts = [
        "[unused1] Hi [UNUSED1] [unused1], 中[unused1] [unused99999] x[unused2]",
        "",
        "ΟΔΟΣ [unused3]\t[unused4]\u00a0Ünïcödé",
    ] + TEXTS  # the conformance corpus, which has no [unusedN]
    for do_lower_case in (True, False):
        expected = tokenization.FullTokenizer(
            vocab, do_lower_case, preserve_unused_tokens=True
        )
        tokenizer = graph_tokenizer.GraphTokenizer(
            vocab, do_lower_case, preserve_unused_tokens=True
        )
        actual = tokenizer(tf.constant(texts)).to_list()
        assert actual == [expected.tokenize_to_ids(t) for t in texts]
    tf.saved_model.save(tokenizer, str(tmp_path / "saved"))
    reloaded = tf.saved_model.load(str(tmp_path / "saved"))
    assert reloaded(tf.constant(texts)).to_list() == actual
    # A vocab without [unusedN] entries has nothing to preserve.
    small = write_vocab(tmp_path, ["[UNK]", "[", "]", "unused", "##1"])
    tokenizer = graph_tokenizer.GraphTokenizer(small, preserve_unused_tokens=True)
    assert tokenizer(tf.constant(["[unused1]"])).to_list() == [[1, 3, 4, 2]]

