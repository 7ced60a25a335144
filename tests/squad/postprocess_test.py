"""write_predictions against the reference's files, from the fixture logits
(n_best_size 5, max_answer_length 10, do_lower_case True)."""

import json
import math
import os

import pytest

from bert_tf import tokenization
from bert_tf.squad import features
from bert_tf.squad import postprocess
from tests.conftest import read_jsonl
from tests.conftest import testdata
from tests.squad.examples_test import VERSIONS
from tests.squad.examples_test import read_examples
from tests.squad.features_test import SETTINGS

OUTPUTS = ("predictions.json", "nbest_predictions.json", "null_odds.json")


@pytest.fixture(scope="module")
def tokenizer():
    return tokenization.FullTokenizer(
        testdata("vocab", "uncased_vocab.txt"), do_lower_case=True
    )


def _predict_inputs(tokenizer, version):
    examples = read_examples(version, is_training=False)
    all_features = []
    features.convert_examples_to_features(
        examples, tokenizer, is_training=False,
        output_fn=all_features.append, **SETTINGS,
    )
    return examples, all_features


def _results(path):
    return [
        postprocess.RawResult(r["unique_id"], r["start_logits"],
                              r["end_logits"])
        for r in read_jsonl(path)
    ]


def _write(tmp_path, examples, all_features, results, version_2, **kwargs):
    paths = [str(tmp_path / name) for name in OUTPUTS]
    postprocess.write_predictions(
        examples, all_features, results, 5, 10, True, *paths,
        version_2_with_negative=version_2, **kwargs,
    )
    return paths


def _load(path):
    with open(path) as f:
        return json.load(f)


def _assert_same_json(got, expected, rel=1e-9):
    """Texts and keys identical (and in order); numbers within `rel`."""
    if isinstance(expected, dict):
        assert list(got) == list(expected)
        for key in expected:
            _assert_same_json(got[key], expected[key], rel)
    elif isinstance(expected, list):
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            _assert_same_json(g, e, rel)
    elif isinstance(expected, float):
        assert got == pytest.approx(expected, rel=rel, abs=1e-12)
    else:
        assert got == expected


@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_predictions_match_reference(tokenizer, version, tmp_path):
    _, version_2 = VERSIONS[version]
    examples, all_features = _predict_inputs(tokenizer, version)
    results = _results(testdata("squad", version, "logits.jsonl"))
    paths = _write(tmp_path, examples, all_features, results, version_2)
    written = sorted(os.listdir(tmp_path))
    assert written == sorted(OUTPUTS if version_2 else OUTPUTS[:2])
    for name in written:
        _assert_same_json(
            _load(str(tmp_path / name)), _load(testdata("squad", version, name))
        )
    # The layout too: indent 4, ASCII escapes, trailing newline.
    with open(paths[0]) as f, open(testdata("squad", version, OUTPUTS[0])) as g:
        assert f.read() == g.read()


def test_null_threshold(tokenizer, tmp_path):
    examples, all_features = _predict_inputs(tokenizer, "v2.0")
    results = _results(testdata("squad", "v2.0", "logits.jsonl"))
    odds = _load(testdata("squad", "v2.0", "null_odds.json"))
    nbest = _load(testdata("squad", "v2.0", "nbest_predictions.json"))
    # Threshold 5.0 lies between v2-b2's 3.74 and v2-a5's 7.04: only v2-a5
    # stays null; every other question takes its best non-null text.
    predictions, _, scores = postprocess.compute_predictions(
        examples, all_features, results, 5, 10, True,
        version_2_with_negative=True, null_score_diff_threshold=5.0,
    )
    assert scores == pytest.approx(odds, rel=1e-12)
    for qas_id, text in predictions.items():
        best_non_null = next(e["text"] for e in nbest[qas_id] if e["text"])
        assert text == ("" if qas_id == "v2-a5" else best_non_null), qas_id


def _all_null_inputs(tokenizer):
    # v2.0 example 0 (v2-a1) and its 7 windows, with logits that favour
    # only [CLS], the question and [SEP].
    examples, all_features = _predict_inputs(tokenizer, "v2.0")
    all_features = [f for f in all_features if f.example_index == 0]
    assert len(all_features) == 7
    results = _results(testdata("squad", "edge_cases", "all_null_logits.jsonl"))
    return examples[:1], all_features, results


def test_v1_empty_nbest(tokenizer, tmp_path):
    paths = _write(tmp_path, *_all_null_inputs(tokenizer), version_2=False)
    for path in paths[:2]:
        golden = testdata("squad", "edge_cases", "v1_empty_nbest",
                          os.path.basename(path))
        with open(path) as f, open(golden) as g:
            assert f.read() == g.read()
    assert not os.path.exists(paths[2])


def test_v2_all_null_predicts_empty_instead_of_crashing(tokenizer, tmp_path):
    # The reference crashes here (AttributeError, issues #211/#417). We
    # predict "" with null odds threshold + 1, as upstream PR #477.
    inputs = _all_null_inputs(tokenizer)
    paths = _write(tmp_path, *inputs, version_2=True)
    assert _load(paths[0]) == {"v2-a1": ""}
    # The only n-best entry is the null answer of the first window with
    # the lowest null score (all have 3.0 at [CLS]).
    assert _load(paths[1]) == {"v2-a1": [
        {"text": "", "probability": 1.0, "start_logit": 3.0,
         "end_logit": 3.0}]}
    assert _load(paths[2]) == {"v2-a1": 1.0}
    _, _, scores = postprocess.compute_predictions(
        *inputs, 5, 10, True, version_2_with_negative=True,
        null_score_diff_threshold=-2.5,
    )
    assert scores == {"v2-a1": -1.5}


def test_get_final_text():
    # The original's comment example: drop the extra "'s".
    assert postprocess.get_final_text(
        "steve smith", "Steve Smith's", True) == "Steve Smith"
    # Accents are stripped in the pieces but kept in the answer.
    assert postprocess.get_final_text(
        "angstrom", "(Ångström)", True) == "Ångström"
    assert postprocess.get_final_text("1895", "(1895-1943).", False) == "1895"
    # Not found: the whole original text.
    assert postprocess.get_final_text("dog", "The cat", True) == "The cat"
    # U+200B vanishes in tokenization, so the lengths differ: fall back.
    assert postprocess.get_final_text("ab", "a\u200bb c", True) == (
        "a\u200bb c")


def test_best_indexes_and_softmax():
    # Stable on ties: the earlier index first.
    assert postprocess._get_best_indexes([1.0, 3.0, 3.0, 2.0], 3) == [1, 2, 3]
    assert postprocess._get_best_indexes([1.0], 5) == [0]
    probs = postprocess._compute_softmax([0.0, math.log(3.0)])
    assert probs == pytest.approx([0.25, 0.75], rel=1e-15)
    assert postprocess._compute_softmax([]) == []
    # Large scores do not overflow: the max is subtracted first.
    assert postprocess._compute_softmax([1000.0, 1000.0]) == [0.5, 0.5]
