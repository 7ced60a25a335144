"""extract_features: line reading, features, golden layer values, bad input.

The golden activations in tiny_model/golden_outputs.npz were computed on the
*masked* pre-training batch, so `[MASK]` sits where the golden texts have
words. Raw text cannot produce `[MASK]` (the tokenizer splits it into `[`,
`mask`, `]`), so the end-to-end test uses a copy of the tiny vocab whose
`[MASK]` line (id 9) reads `zzmask`: the text "zzmask" then gives id 9 and
the model sees exactly the golden input ids.
"""

import json
import os

import numpy as np
import pytest

from bert_tf import feature_extraction
from bert_tf.errors import UserInputError
from bert_tf.tokenization import FullTokenizer
from tests.conftest import testdata

TINY = testdata("tiny_model")
VOCAB = os.path.join(TINY, "vocab.txt")
CONFIG = os.path.join(TINY, "bert_config.json")
CKPT = os.path.join(TINY, "bert_model.ckpt")
PLACEHOLDER = "zzmask"


def _golden():
    with open(os.path.join(TINY, "golden_outputs.json")) as f:
        meta = json.load(f)
    arrays = np.load(os.path.join(TINY, "golden_outputs.npz"))
    return meta, arrays


def _params(tmp_path, **overrides):
    values = dict(
        input_file=str(tmp_path / "input.txt"),
        output_file=str(tmp_path / "out" / "features.jsonl"),
        layers="-1,-2",
        bert_config_file=CONFIG,
        max_seq_length=16,
        init_checkpoint=CKPT,
        vocab_file=VOCAB,
        batch_size=2,
    )
    values.update(overrides)
    return feature_extraction.ExtractParams(**values)


@pytest.mark.parametrize(
    "line, text_a, text_b",
    [
        ("a ||| b", "a", "b"),
        # Greedy: the LAST " ||| " splits.
        ("a ||| b ||| c", "a ||| b", "c"),
        ("x |||  ||| y", "x ||| ", "y"),
        ("a |||  b", "a", " b"),
        # The bars need a space on both sides.
        ("a|||b", "a|||b", None),
        ("||| b", "||| b", None),
        ("", "", None),
    ],
)
def test_split_line(line, text_a, text_b):
    assert feature_extraction.split_line(line) == (text_a, text_b)


def test_read_examples_numbers_every_line(tmp_path):
    path = tmp_path / "input.txt"
    path.write_bytes(
        b"first ||| second\r\n"
        b"\n"
        b"  a ||| b ||| c  \n"
        b"x\ry\n"
        b"\xe6\x97\xa5\xe6\x9c\xac \xe2\x80\xa8 ok\n"
        b"last"
    )
    examples = feature_extraction.read_examples(str(path))
    assert [(e.unique_id, e.text_a, e.text_b) for e in examples] == [
        (0, "first", "second"),
        (1, "", None),
        (2, "a ||| b", "c"),
        # gfile's readline drops every "\r", as the original saw it.
        (3, "xy", None),
        # U+2028 does not end a line.
        (4, "\u65e5\u672c \u2028 ok", None),
        (5, "last", None),
    ]


def test_read_examples_rejects_bad_utf8(tmp_path):
    path = tmp_path / "input.txt"
    path.write_bytes(b"ok\n\xff\xfe\n")
    with pytest.raises(UserInputError, match=r"line 2 is not valid UTF-8$"):
        feature_extraction.read_examples(str(path))


def test_features_of_the_golden_texts():
    meta, arrays = _golden()
    tokenizer = FullTokenizer(VOCAB, do_lower_case=True)
    examples = [
        feature_extraction.InputExample(i, a, b)
        for i, (a, b) in enumerate(meta["texts"])
    ]
    features = feature_extraction.convert_examples_to_features(
        examples, 16, tokenizer
    )
    for row, feature in enumerate(features):
        n = len(meta["tokens"][row])
        assert feature.unique_id == row
        assert feature.tokens == meta["tokens"][row]
        assert feature.input_mask == arrays["input_mask"][row].tolist()
        assert feature.input_type_ids == arrays["segment_ids"][row].tolist()
        # The golden ids are the masked ones: compare where nothing was
        # masked or replaced, and the zero padding.
        kept = [
            i for i in range(n)
            if meta["masked_input_tokens"][row][i] == meta["tokens"][row][i]
        ]
        golden_ids = arrays["input_ids"][row]
        assert [feature.input_ids[i] for i in kept] == golden_ids[kept].tolist()
        assert feature.input_ids[n:] == [0] * (16 - n)
        assert len(kept) >= n - 3


def test_truncation_is_run_classifiers():
    tokenizer = FullTokenizer(VOCAB, do_lower_case=True)
    pair = feature_extraction.InputExample(
        0, "the cat sat on the mat", "it was a good day"
    )
    single = feature_extraction.InputExample(1, "the cat sat on the mat")
    pair_features, single_features = (
        feature_extraction.convert_examples_to_features(
            [pair, single], 8, tokenizer
        )
    )
    # 6 + 5 tokens into 5: the longer side loses its last token each time
    # (b on a tie).
    assert pair_features.tokens == [
        "[CLS]", "the", "cat", "sat", "[SEP]", "it", "was", "[SEP]"
    ]
    assert pair_features.input_type_ids == [0, 0, 0, 0, 0, 1, 1, 1]
    assert single_features.tokens == [
        "[CLS]", "the", "cat", "sat", "on", "the", "mat", "[SEP]"
    ]
    assert single_features.input_mask == [1] * 8


def test_parse_layers():
    assert feature_extraction.parse_layers("-1,-2,-3,-4", 4) == [-1, -2, -3, -4]
    assert feature_extraction.parse_layers("0,-1,0", 2) == [0, -1, 0]
    with pytest.raises(
        UserInputError, match=r"index -3 is out of range .*-2\.\.1"
    ):
        feature_extraction.parse_layers("-1,-3", 2)
    with pytest.raises(UserInputError, match="index 2 is out of range"):
        feature_extraction.parse_layers("2", 2)
    with pytest.raises(
        UserInputError, match="expected comma-separated integers"
    ):
        feature_extraction.parse_layers("-1,last", 2)


def _placeholder_vocab(tmp_path):
    with open(VOCAB, encoding="utf-8") as f:
        lines = f.read().split("\n")
    assert lines[9] == "[MASK]" and PLACEHOLDER not in lines
    lines[9] = PLACEHOLDER
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    return str(path)


def test_extract_matches_golden_layers(tmp_path):
    meta, arrays = _golden()
    # Line -> golden row; line 1 is blank, line 3 is non-ASCII.
    lines = [
        "The zzmask sat on the mat. ||| dog was a zzmask day!",
        "",
        "zzmask world ||| the dog zzmask.",
        "\u65e5\u672c ||| \u043f\u0440\u0438\u0432\u0435\u0442",
        "unwant zzmask running",
    ]
    golden_row = {0: 0, 2: 1, 4: 2}
    (tmp_path / "input.txt").write_text("\n".join(lines) + "\n", "utf-8")
    params = _params(tmp_path, vocab_file=_placeholder_vocab(tmp_path))

    assert feature_extraction.extract(params) == 5

    with open(params.output_file, "rb") as f:
        raw = f.read()
    assert raw.isascii()
    text = raw.decode("ascii")
    assert text.endswith("}\n")
    records = [json.loads(line) for line in text.split("\n")[:-1]]
    assert [r["linex_index"] for r in records] == [0, 1, 2, 3, 4]
    assert text.startswith(
        '{"linex_index": 0, "features": [{"token": "[CLS]", "layers": '
        '[{"index": -1, "values": ['
    )

    golden_layers = arrays["all_encoder_layers"]  # [L, B, S, H]
    for line, row in golden_row.items():
        expected_tokens = [
            PLACEHOLDER if t == "[MASK]" else t
            for t in meta["masked_input_tokens"][row]
        ]
        features = records[line]["features"]
        assert [f["token"] for f in features] == expected_tokens
        for position, feature in enumerate(features):
            assert [layer["index"] for layer in feature["layers"]] == [-1, -2]
            for layer in feature["layers"]:
                values = layer["values"]
                assert all(v == round(v, 6) for v in values)
                expected = golden_layers[layer["index"], row, position]
                # 1e-5 fixture tolerance plus half a unit of the 6th decimal.
                np.testing.assert_allclose(
                    values, expected, rtol=0, atol=1.05e-5
                )

    blank = records[1]["features"]
    assert [f["token"] for f in blank] == ["[CLS]", "[SEP]"]
    assert all(
        len(layer["values"]) == 32 for f in blank for layer in f["layers"]
    )
    assert [f["token"] for f in records[3]["features"]] == [
        "[CLS]", "\u65e5", "\u672c", "[SEP]",
        "\u043f\u0440\u0438\u0432\u0435\u0442", "[SEP]",
    ]
    assert '"token": "\\u65e5"' in text
    assert '"token": "\\u043f\\u0440\\u0438\\u0432\\u0435\\u0442"' in text


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(layers="-1,-3"),
         r"^--layers='-1,-3': layer index -3 is out of range"),
        (dict(layers="-1,x"), r"^--layers='-1,x': expected comma-separated"),
        (dict(max_seq_length=65), r"^--max_seq_length=65: Cannot use sequence "
         r"length 65 because the BERT model was only trained up to sequence "
         r"length 64$"),
        (dict(max_seq_length=2), r"^--max_seq_length=2: expected at least 3"),
        (dict(batch_size=0), r"^--batch_size=0: expected a positive integer$"),
        (dict(input_file="missing.txt"),
         r"^--input_file='missing.txt': file not found$"),
        (dict(vocab_file="no/vocab.txt"),
         r"^--vocab_file='no/vocab.txt': file not found$"),
        (dict(bert_config_file="no.json"),
         r"^--bert_config_file='no.json': file not found$"),
        (dict(init_checkpoint="no/bert_model.ckpt"),
         r"^--init_checkpoint='no/bert_model.ckpt': checkpoint not found"),
        (dict(precision="fp8"), r"^--precision='fp8': expected one of"),
    ],
)
def test_bad_input_raises_one_line(tmp_path, overrides, message):
    (tmp_path / "input.txt").write_text("the cat\n", "utf-8")
    params = _params(tmp_path, **overrides)
    with pytest.raises(UserInputError, match=message) as info:
        feature_extraction.extract(params)
    assert "\n" not in str(info.value)
    assert not os.path.exists(params.output_file)
