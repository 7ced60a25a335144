"""SQuAD exact match and F1, as the official evaluation scripts compute them.

The original left scoring to the SQuAD site's `evaluate-v1.1.py` and
`evaluate-v2.0.py`. Both normalise an answer the same way (lower case,
drop ASCII punctuation, drop the articles a/an/the, collapse whitespace),
compare it with every gold answer of the question and keep the best score.
They differ elsewhere, and each is reproduced here as it is:

* v1.1 (`evaluate_v1`): `exact_match` and `f1` over every question of the
  file (a question without a prediction scores 0); F1 of two answers that
  normalise to nothing is 0.
* v2.0 (`evaluate_v2`): a question without gold answers (or only ones that
  normalise to nothing) has the gold answer "", and F1 is 1 when both are
  empty; with the null odds as `--na-prob-file`, as Google's README runs
  it, an odds value above 1.0 counts as predicting "no answer", and the
  best threshold is searched (`best_exact_thresh`, `best_f1_thresh`).

Scores are percentages, as the scripts print them. No TensorFlow here.
"""

import collections
import json
import re
import string

from bert_tf import errors
from bert_tf import file_io

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)


def normalize_answer(text):
    """Lower case, no punctuation, no articles, single spaces.

    Example: "The  Café, (1887)!" -> "café 1887".
    """
    text = text.lower()
    text = "".join(c for c in text if c not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _f1(prediction_tokens, gold_tokens):
    common = collections.Counter(prediction_tokens) & collections.Counter(
        gold_tokens
    )
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = num_same / len(prediction_tokens)
    recall = num_same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def f1_v1(prediction, gold):
    """evaluate-v1.1.py's token F1 of one prediction and one gold answer."""
    return _f1(normalize_answer(prediction).split(),
               normalize_answer(gold).split())


def f1_v2(prediction, gold):
    """evaluate-v2.0.py's F1: as v1.1, but 1 when both are empty."""
    prediction_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    if not prediction_tokens or not gold_tokens:
        return int(prediction_tokens == gold_tokens)
    return _f1(prediction_tokens, gold_tokens)


def exact(prediction, gold):
    """1 if the two answers normalise to the same text, else 0."""
    return int(normalize_answer(prediction) == normalize_answer(gold))


def _questions(dataset):
    """(id, gold answer texts) of every question, in file order."""
    for article in dataset:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                yield qa["id"], [a["text"] for a in qa.get("answers", [])]


def has_answers(dataset):
    """Whether any question of a SQuAD `data` list has a gold answer."""
    return any(answers for _, answers in _questions(dataset))


def evaluate_v1(dataset, predictions):
    """evaluate-v1.1.py: {"exact_match": %, "f1": %}."""
    exact_total = f1_total = 0.0
    total = 0
    for qid, answers in _questions(dataset):
        total += 1
        if qid not in predictions or not answers:
            continue  # the script scores a missing prediction 0
        prediction = predictions[qid]
        exact_total += max(exact(prediction, gold) for gold in answers)
        f1_total += max(f1_v1(prediction, gold) for gold in answers)
    return {"exact_match": 100.0 * exact_total / total,
            "f1": 100.0 * f1_total / total}


def _best_threshold(predictions, scores, na_probs, has_answer):
    """evaluate-v2.0.py's find_best_thresh: (best %, threshold)."""
    score = best_score = sum(1 for v in has_answer.values() if not v)
    best_threshold = 0.0
    for qid in sorted(na_probs, key=lambda k: na_probs[k]):
        if qid not in scores:
            continue
        if has_answer[qid]:
            score += scores[qid]
        elif predictions[qid]:
            score -= 1
        if score > best_score:
            best_score = score
            best_threshold = na_probs[qid]
    return 100.0 * best_score / len(scores), best_threshold


def _mean(scores, qids):
    return 100.0 * sum(scores[q] for q in qids) / len(qids)


def evaluate_v2(dataset, predictions, na_probs=None, na_prob_thresh=1.0):
    """evaluate-v2.0.py, with `na_probs` as its --na-prob-file.

    Returns:
      dict: exact, f1, total, HasAns_* and NoAns_* (where such questions
      exist) and, with na_probs, best_exact, best_exact_thresh, best_f1,
      best_f1_thresh.
    """
    gold = {qid: answers for qid, answers in _questions(dataset)
            if qid in predictions}
    has_answer = {qid: bool(answers) for qid, answers in gold.items()}
    exact_raw, f1_raw = {}, {}
    for qid, answers in gold.items():
        answers = [a for a in answers if normalize_answer(a)] or [""]
        exact_raw[qid] = max(exact(predictions[qid], a) for a in answers)
        f1_raw[qid] = max(f1_v2(predictions[qid], a) for a in answers)
    odds = na_probs or {qid: 0.0 for qid in predictions}
    results = {}
    for name, raw in (("exact", exact_raw), ("f1", f1_raw)):
        scores = {
            qid: float(not has_answer[qid])
            if odds[qid] > na_prob_thresh else value
            for qid, value in raw.items()
        }
        results[name] = _mean(scores, list(scores))
        for prefix, wanted in (("HasAns", True), ("NoAns", False)):
            qids = [q for q in scores if has_answer[q] == wanted]
            if qids:
                results[f"{prefix}_{name}"] = _mean(scores, qids)
                results[f"{prefix}_total"] = len(qids)
    results["total"] = len(exact_raw)
    if na_probs:
        for name, raw in (("exact", exact_raw), ("f1", f1_raw)):
            best, threshold = _best_threshold(
                predictions, raw, na_probs, has_answer
            )
            results[f"best_{name}"] = best
            results[f"best_{name}_thresh"] = threshold
    return results


def read_dataset(path, what="predict_file"):
    """The `data` list of a SQuAD JSON file."""
    with file_io.open_text(path) as f:
        try:
            return json.load(f)["data"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise errors.UserInputError(
                f"--{what}={path!r}: not SQuAD JSON"
            ) from None
