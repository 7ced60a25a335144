"""SQuAD EM/F1 against hand-worked cases of the official scripts' rules."""

import pytest

from bert_tf.squad import evaluation


def _dataset(*questions):
    """A SQuAD `data` list: (id, [gold answer texts]) per question."""
    return [{"paragraphs": [{"context": "c", "qas": [
        {"id": qid, "question": "q", "answers": [{"text": t} for t in answers]}
        for qid, answers in questions]}]}]


@pytest.mark.parametrize("text, normalized", [
    ("The  Café, (1887)!", "café 1887"),
    ("an apple a day", "apple day"),
    ("Theory of the ANT", "theory of ant"),  # articles as whole words only
    ("€4.50", "€450"),  # only ASCII punctuation goes
    ("rock\u2019n\u2019roll", "rock\u2019n\u2019roll"),
    ("  ", ""),
])
def test_normalize_answer(text, normalized):
    assert evaluation.normalize_answer(text) == normalized


def test_f1_counts_shared_tokens_with_repeats():
    # pred "the cat sat on the mat" -> cat sat on mat (4); gold "a cat on a
    # mat mat" -> cat on mat mat (4); common: cat, on, mat = 3.
    # P = R = 3/4, F1 = 0.75.
    assert evaluation.f1_v1("the cat sat on the mat", "a cat on a mat mat") == 0.75
    # P = 1/1, R = 1/3: F1 = 2 * 1/3 / (4/3) = 0.5.
    assert evaluation.f1_v1("Paris", "in Paris, France") == 0.5
    assert evaluation.f1_v1("", "") == 0  # v1.1: nothing in common
    assert evaluation.f1_v2("", "") == 1  # v2.0: both "no answer"
    assert evaluation.f1_v2("the", "") == 1  # "the" normalises to nothing
    assert evaluation.f1_v2("Paris", "") == 0


def test_evaluate_v1_takes_the_best_gold_answer_per_question():
    dataset = _dataset(("q1", ["Denver Broncos", "The Denver Broncos"]),
                       ("q2", ["Santa Clara, California", "Levi's Stadium"]),
                       ("q3", ["gold"]), ("q4", ["1887"]))
    predictions = {"q1": "the denver broncos!", "q2": "Levi's Stadium in Santa Clara",
                   "q3": "silver"}  # q4 unanswered: scores 0
    results = evaluation.evaluate_v1(dataset, predictions)
    # q2: vs "Santa Clara, California": pred 5 tokens (levis stadium in
    # santa clara), gold 3, common 2: P 2/5 R 2/3 F1 0.5; vs "Levi's
    # Stadium": common 2, P 2/5 R 1, F1 4/7. Best 4/7.
    assert results["exact_match"] == pytest.approx(100 * 1 / 4)
    assert results["f1"] == pytest.approx(100 * (1 + 4 / 7) / 4)


def test_evaluate_v2_with_null_odds():
    dataset = _dataset(("a1", ["Paris"]), ("a2", ["the Seine"]),
                       ("n1", []), ("n2", []))
    predictions = {"a1": "Paris", "a2": "Seine river", "n1": "", "n2": "Lyon"}
    odds = {"a1": -3.0, "a2": 2.0, "n1": 0.5, "n2": -1.0}
    results = evaluation.evaluate_v2(dataset, predictions, odds)
    # Odds above 1.0 count as "no answer": a2 scores 0 (it has one).
    # exact: a1 1, a2 0, n1 1, n2 0 -> 50%. f1: a2 -> 0 as well.
    assert results["exact"] == results["f1"] == 50.0
    assert results["total"] == 4
    assert (results["HasAns_exact"], results["HasAns_total"]) == (50.0, 2)
    assert (results["NoAns_exact"], results["NoAns_total"]) == (50.0, 2)
    # Thresholds in odds order a1 -3, n2 -1, n1 0.5, a2 2: start at 2 (the
    # unanswerable ones), +1 (a1) = 3 at -3.0, -1 (n2 answered) = 2, +0 (n1)
    # = 2, +exact(a2)=0 / +f1(a2)=2/3 -> 2.67 at 2.0 for F1.
    assert (results["best_exact"], results["best_exact_thresh"]) == (75.0, -3.0)
    assert (results["best_f1"], results["best_f1_thresh"]) == (75.0, -3.0)
    # Without odds, no threshold keys and no "no answer" override.
    plain = evaluation.evaluate_v2(dataset, predictions)
    assert plain["f1"] == pytest.approx(100 * (1 + 2 / 3 + 1 + 0) / 4)
    assert "best_f1" not in plain
