"""bert_tf.tokenization against the reference's golden outputs.

Golden files: tests/testdata/tokenization (351-line conformance corpus and
the reference's outputs for it), tiny_model/vocab.txt, vocab/uncased_vocab.txt.
"""

import json
import random

import pytest

from bert_tf import errors
from bert_tf import tokenization
from tests.conftest import read_jsonl
from tests.tokenization_helpers import CONFIGS
from tests.tokenization_helpers import TOKENIZATION
from tests.tokenization_helpers import VOCABS

def corpus_with_expected():
    """(text, expected record) for each of the 351 corpus lines."""
    corpus = read_jsonl(TOKENIZATION / "corpus.jsonl")
    expected = read_jsonl(TOKENIZATION / "expected.jsonl")
    expected = {e["id"]: e for e in expected}
    assert len(corpus) == 351 and len(expected) == 351
    return [(c["text"], expected[c["id"]]) for c in corpus]


CORPUS = corpus_with_expected()


@pytest.fixture(scope="module")
def tokenizers():
    return {
        key: tokenization.FullTokenizer(str(VOCABS[vocab]), do_lower_case=lower)
        for key, (vocab, lower) in CONFIGS.items()
    }


def write_vocab(tmp_path, tokens):
    path = tmp_path / "vocab.txt"
    path.write_text("".join(t + "\n" for t in tokens), encoding="utf-8")
    return str(path)


def mismatches(actual, expected):
    """Indices where two equally long lists differ (readable failures)."""
    assert len(actual) == len(expected)
    return [i for i, (a, e) in enumerate(zip(actual, expected)) if a != e]


@pytest.mark.parametrize("do_lower_case", [True, False])
def test_basic_tokenizer_matches_golden(do_lower_case):
    tokenizer = tokenization.BasicTokenizer(do_lower_case=do_lower_case)
    key = "basic_lower" if do_lower_case else "basic_cased"
    actual = [tokenizer.tokenize(text) for text, _ in CORPUS]
    assert mismatches(actual, [e[key] for _, e in CORPUS]) == []


@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_full_tokenizer_fast_path_matches_golden(tokenizers, key):
    tokenizer = tokenizers[key]
    tokens = [tokenizer.tokenize(text) for text, _ in CORPUS]
    assert mismatches(tokens, [e[key]["tokens"] for _, e in CORPUS]) == []
    ids = [tokenizer.convert_tokens_to_ids(t) for t in tokens]
    assert mismatches(ids, [e[key]["ids"] for _, e in CORPUS]) == []
    # Twice: the second pass is served from the per-chunk caches.
    for _ in range(2):
        ids = [tokenizer.tokenize_to_ids(text) for text, _ in CORPUS]
        assert mismatches(ids, [e[key]["ids"] for _, e in CORPUS]) == []


@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_reference_path_matches_golden(tokenizers, key):
    tokenizer = tokenizers[key]

    def reference_tokenize(text):
        return [
            piece
            for word in tokenizer.basic_tokenizer.tokenize(text)
            for piece in tokenizer.wordpiece_tokenizer.tokenize(word)
        ]

    tokens = [reference_tokenize(text) for text, _ in CORPUS]
    assert mismatches(tokens, [e[key]["tokens"] for _, e in CORPUS]) == []


def test_wordpiece_only_matches_golden(tokenizers):
    wordpiece = tokenizers["uncased_lower"].wordpiece_tokenizer
    actual = [wordpiece.tokenize(text) for text, _ in CORPUS]
    expected = [e["wordpiece_only_uncased"] for _, e in CORPUS]
    assert mismatches(actual, expected) == []


def test_cache_eviction_keeps_results(tokenizers, monkeypatch):
    monkeypatch.setattr(tokenization, "_MAX_CACHED_CHUNKS", 3)
    tokenizer = tokenizers["uncased_lower"]
    tokenizer._tokens_by_chunk.clear()
    tokenizer._ids_by_chunk.clear()
    ids = [tokenizer.tokenize_to_ids(text) for text, _ in CORPUS]
    assert mismatches(ids, [e["uncased_lower"]["ids"] for _, e in CORPUS]) == []
    tokens = [tokenizer.tokenize(text) for text, _ in CORPUS]
    assert mismatches(tokens, [e["uncased_lower"]["tokens"] for _, e in CORPUS]) == []
    assert len(tokenizer._tokens_by_chunk) <= 3
    assert len(tokenizer._ids_by_chunk) <= 3


def test_bytes_cases(tokenizers):
    cases = read_jsonl(TOKENIZATION / "bytes_cases.jsonl")
    assert len(cases) == 10
    tokenizer = tokenizers["uncased_lower"]
    for case in cases:
        raw = bytes.fromhex(case["bytes_hex"])
        text = case["convert_to_unicode"]
        assert tokenization.convert_to_unicode(raw) == text
        assert tokenization.printable_text(raw) == text
        assert tokenizer.tokenize(raw) == case["uncased_lower_tokens"]
        assert tokenizer.tokenize_to_ids(raw) == case["uncased_lower_ids"]


def test_convert_to_unicode_rejects_other_types():
    assert tokenization.convert_to_unicode("caf\u00e9") == "caf\u00e9"
    with pytest.raises(ValueError, match="Unsupported string type"):
        tokenization.convert_to_unicode(17)


def test_load_vocab_quirks():
    path = TOKENIZATION / "vocab_edge_expected.json"
    with open(path, encoding="utf-8") as f:
        expected = json.load(f)
    tokenizer = tokenization.FullTokenizer(
        str(TOKENIZATION / "vocab_edge.txt"), do_lower_case=True
    )
    items = [list(item) for item in tokenizer.vocab.items()]
    assert items == expected["load_vocab_items_in_order"]
    inv_vocab = {str(k): v for k, v in tokenizer.inv_vocab.items()}
    assert inv_vocab == expected["inv_vocab"]
    for case in expected["full_tokenizer_lower"]:
        assert tokenizer.tokenize(case["text"]) == case["tokens"]
        assert tokenizer.convert_tokens_to_ids(case["tokens"]) == case["ids"]
        assert tokenizer.convert_ids_to_tokens(case["ids"]) == case["tokens"]


def test_load_vocab_drops_every_carriage_return(tmp_path):
    # gfile's readline, which the original used, removes each b"\r".
    path = tmp_path / "vocab.txt"
    path.write_bytes(b"a\rb\nc\r\n\r\n  d \rlast")
    vocab = tokenization.load_vocab(str(path))
    assert list(vocab.items()) == [("ab", 0), ("c", 1), ("", 2), ("d last", 3)]


def test_released_vocab_special_ids():
    vocab = tokenization.load_vocab(str(VOCABS["uncased"]))
    assert len(vocab) == 30522
    special = ["[PAD]", "[unused0]", "[unused98]", "[UNK]", "[CLS]", "[SEP]",
               "[MASK]"]
    assert [vocab[t] for t in special] == [0, 1, 99, 100, 101, 102, 103]


def test_missing_vocab_file(tmp_path):
    missing = str(tmp_path / "nope.txt")
    with pytest.raises(errors.UserInputError, match="vocab_file=.*nope.txt"):
        tokenization.FullTokenizer(missing)
    with pytest.raises(errors.UserInputError, match="directory"):
        tokenization.load_vocab(str(tmp_path))


def test_vocab_that_is_not_utf8(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_bytes(b"[PAD]\n\xff\xfe\n")
    message = "line 2 is not valid UTF-8"
    with pytest.raises(errors.UserInputError, match=message):
        tokenization.load_vocab(str(path))


def test_spec_basic_tokenizer_examples():
    lower = tokenization.BasicTokenizer(do_lower_case=True)
    cased = tokenization.BasicTokenizer(do_lower_case=False)
    text = " \tHeLLo!how  \n Are yoU?  "
    assert lower.tokenize(text) == ["hello", "!", "how", "are", "you", "?"]
    assert cased.tokenize(text) == ["HeLLo", "!", "how", "Are", "yoU", "?"]
    assert lower.tokenize("H\u00e9llo") == ["hello"]
    assert lower.tokenize("ah\u535a\u63a8zz") == [
        "ah", "\u535a", "\u63a8", "zz"
    ]
    # No never-split list: special tokens in raw text are split up.
    assert lower.tokenize("a [MASK] b") == ["a", "[", "mask", "]", "b"]


def test_spec_wordpiece_examples():
    vocab = {t: i for i, t in enumerate(
        ["[UNK]", "[CLS]", "[SEP]", "want", "##want", "##ed", "wa", "un",
         "runn", "##ing", ","]
    )}
    wordpiece = tokenization.WordpieceTokenizer(vocab=vocab)
    assert wordpiece.tokenize("") == []
    assert wordpiece.tokenize("unwanted running") == [
        "un", "##want", "##ed", "runn", "##ing"
    ]
    assert wordpiece.tokenize("unwantedX running") == ["[UNK]", "runn", "##ing"]
    short = tokenization.WordpieceTokenizer(vocab, max_input_chars_per_word=5)
    assert short.tokenize("runn runnin") == ["runn", "[UNK]"]


def test_spec_full_tokenizer_example(tmp_path):
    vocab_file = write_vocab(tmp_path, [
        "[UNK]", "[CLS]", "[SEP]", "want", "##want", "##ed", "wa", "un",
        "runn", "##ing", ",",
    ])
    tokenizer = tokenization.FullTokenizer(vocab_file)
    tokens = tokenizer.tokenize("UNwant\u00e9d,running")
    assert tokens == ["un", "##want", "##ed", ",", "runn", "##ing"]
    assert tokenizer.convert_tokens_to_ids(tokens) == [7, 4, 5, 10, 8, 9]
    ids = tokenizer.tokenize_to_ids("UNwant\u00e9d,running")
    assert ids == [7, 4, 5, 10, 8, 9]
    with pytest.raises(KeyError):
        tokenizer.convert_tokens_to_ids(["[MASK]"])


def test_ascii_controls_join_their_neighbours(tmp_path):
    # \x0b and \x1f are str.split() whitespace but the original deletes them.
    vocab_file = write_vocab(tmp_path, ["[UNK]", "ab", "a", "b"])
    tokenizer = tokenization.FullTokenizer(vocab_file)
    for text in ["a\x0bb", "a\x1fb", "a\x00b", "a\x7fb", "A\u200bB"]:
        assert tokenizer.tokenize(text) == ["ab"]
        assert tokenizer.basic_tokenizer.tokenize(text) == ["ab"]
    assert tokenizer.tokenize("a\u2028b\u00a0a") == ["a", "b", "a"]


# (class test, characters in the class, characters outside it).
@pytest.mark.parametrize(
    "is_in_class, members, others",
    [
        (tokenization._is_whitespace, " \t\r\n\u00a0", "A-\u2028"),
        (tokenization._is_control, "\u0005\u200d", "A \t\r\U0001F4A9"),
        (tokenization._is_punctuation, "-$`.\u00bf", "A "),
    ],
)
def test_character_classes(is_in_class, members, others):
    assert [c for c in members if not is_in_class(c)] == []
    assert [c for c in others if is_in_class(c)] == []


CASED = "/models/cased_L-12_H-768_A-12/bert_model.ckpt"
UNCASED = "gs://b/uncased_L-24_H-1024_A-16/bert_model.ckpt-100"


def test_validate_case_matches_checkpoint_messages():
    with pytest.raises(errors.UserInputError) as error:
        tokenization.validate_case_matches_checkpoint(True, CASED)
    assert str(error.value) == (
        "You passed in `--do_lower_case=True` with `--init_checkpoint="
        "/models/cased_L-12_H-768_A-12/bert_model.ckpt`. However, "
        "`cased_L-12_H-768_A-12` seems to be a cased model, so you should "
        "pass in `--do_lower_case=False` so that the fine-tuning matches how "
        "the model was pre-training. If this error is wrong, please just "
        "comment out this check."
    )
    assert isinstance(error.value, ValueError)
    with pytest.raises(ValueError) as error:
        tokenization.validate_case_matches_checkpoint(False, UNCASED)
    assert str(error.value).startswith(
        "You passed in `--do_lower_case=False` with `--init_checkpoint="
        f"{UNCASED}`. However, `uncased_L-24_H-1024_A-16` seems to be a "
        "lowercased model, so you should pass in `--do_lower_case=True` "
    )


@pytest.mark.parametrize("do_lower_case, checkpoint", [
    (False, CASED),
    (True, UNCASED),
    (True, ""),
    (True, None),
    (True, "/models/wwm_cased_L-24_H-1024_A-16/bert_model.ckpt"),
    (False, "/models/chinese_L-12_H-768_A-12/model.ckpt"),
])
def test_validate_case_matches_checkpoint_passes(do_lower_case, checkpoint):
    tokenization.validate_case_matches_checkpoint(do_lower_case, checkpoint)


def test_relative_checkpoint_path_is_checked():
    with pytest.raises(ValueError, match="`chinese_L-12_H-768_A-12` seems"):
        tokenization.validate_case_matches_checkpoint(
            False, "chinese_L-12_H-768_A-12/bert_model.ckpt"
        )


def scrambled(texts, seed):
    """The texts with the characters of each " "-separated word shuffled."""
    rng = random.Random(seed)
    return [
        " ".join("".join(rng.sample(word, len(word))) for word in t.split(" "))
        for t in texts
    ]


@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_fast_path_equals_reference_path_on_scrambled_text(tokenizers, key):
    # Moves combining marks, controls and punctuation into new places.
    tokenizer = tokenizers[key]
    for text in scrambled([t for t, _ in CORPUS], seed=7):
        expected = [
            piece
            for word in tokenizer.basic_tokenizer.tokenize(text)
            for piece in tokenizer.wordpiece_tokenizer.tokenize(word)
        ]
        assert tokenizer.tokenize(text) == expected, text


# bert-tensorflow 1.0.4's --preserve_unused_tokens: a whitespace-separated
# chunk that is an [unusedN] token of the vocab stays whole; anything else
# ("[UNUSED1]", "[unused1],", an id missing from the vocab) is tokenized as
# usual. CJK characters are split off first, so "中[unused1]" keeps it.
PRESERVE_TEXT = "[unused1] Hi [UNUSED1] [unused1], 中[unused1] [unused99999] x[unused2]"
PRESERVED = ["[unused1]", "hi", "[", "unused", "##1", "]", "[", "unused", "##1",
             "]", ",", "中", "[unused1]", "[", "unused", "##9", "##9", "##9",
             "##9", "##9", "]", "x", "[", "unused", "##2", "]"]


def test_preserve_unused_tokens():
    vocab = str(VOCABS["uncased"])
    plain = tokenization.FullTokenizer(vocab, do_lower_case=True)
    assert "[unused1]" not in plain.tokenize(PRESERVE_TEXT)
    tokenizer = tokenization.FullTokenizer(
        vocab, do_lower_case=True, preserve_unused_tokens=True
    )
    assert tokenizer.tokenize(PRESERVE_TEXT) == PRESERVED
    assert tokenizer.tokenize_to_ids(PRESERVE_TEXT) == [
        tokenizer.vocab[t] for t in PRESERVED
    ]
    reference = [
        piece
        for word in tokenizer.basic_tokenizer.tokenize(PRESERVE_TEXT)
        for piece in tokenizer.wordpiece_tokenizer.tokenize(word)
    ]
    assert reference == PRESERVED
    assert tokenization.preserve_token("[unused7]", tokenizer.vocab)
    assert not tokenization.preserve_token("[unused7]x", tokenizer.vocab)
    assert not tokenization.preserve_token("[unused7]", {})
