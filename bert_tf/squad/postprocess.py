"""Start/end logits -> answer texts: n-best lists, null odds, the JSON files.

Replaces `write_predictions`, `get_final_text`, `_get_best_indexes` and
`_compute_softmax` of google-research/bert's run_squad.py, with the same
candidates, order, float64 arithmetic and JSON layout, so the files match
the original's given the same logits. Settings are arguments instead of
global flags.

`compute_predictions` takes the original's steps for each example: collect
the valid spans of every window (`_prelim_predictions`), turn the best into
distinct answer texts (`_nbest`, `get_final_text`), give them probabilities
(`_nbest_json`) and, for SQuAD 2.0, choose between the best span and the
null answer (`_answer_or_null`).

One deliberate difference: with `version_2_with_negative`, when no
candidate span survives for a question (every n-best entry is the null
answer), the original crashed with `AttributeError: 'NoneType' object has
no attribute 'start_logit'` (google-research/bert issues #211 and #417).
Here the question gets the prediction "" and the null-odds value
`null_score_diff_threshold + 1.0`, which is what the unmerged upstream fix
(pull request #477) does: it is above the threshold, so it predicts "" with
the threshold the file was written with. Such questions are logged.

No TensorFlow and no model here: the inputs are plain lists of floats.
"""

import collections
import json
import math

from absl import logging

from bert_tf import file_io
from bert_tf import tokenization

RawResult = collections.namedtuple(
    "RawResult", ["unique_id", "start_logits", "end_logits"]
)

_PrelimPrediction = collections.namedtuple(
    "PrelimPrediction",
    ["feature_index", "start_index", "end_index", "start_logit", "end_logit"],
)
_NbestPrediction = collections.namedtuple(
    "NbestPrediction", ["text", "start_logit", "end_logit"]
)


def _get_best_indexes(logits, n_best_size):
    """Indexes of the n_best_size largest logits, largest first.

    Ties keep index order (a stable sort), as in the original.
    """
    order = sorted(range(len(logits)), key=logits.__getitem__, reverse=True)
    return order[:n_best_size]


def _compute_softmax(scores):
    """Softmax of a list of floats (max subtracted), as Python floats."""
    if not scores:
        return []
    max_score = max(scores)
    exp_scores = [math.exp(score - max_score) for score in scores]
    total_sum = 0.0
    for x in exp_scores:
        total_sum += x
    return [x / total_sum for x in exp_scores]


def _strip_spaces(text):
    """`text` without " ", and {index there: index in text}."""
    ns_chars = []
    ns_to_s_map = {}
    for i, c in enumerate(text):
        if c == " ":
            continue
        ns_to_s_map[len(ns_chars)] = i
        ns_chars.append(c)
    return "".join(ns_chars), ns_to_s_map


def get_final_text(pred_text, orig_text, do_lower_case, verbose_logging=False):
    """Projects a normalised prediction back onto the original words.

    `orig_text` is the whole original words that the predicted pieces came
    from; it may carry extra characters. For pred_text "steve smith" and
    orig_text "Steve Smith's" the answer should be "Steve Smith": neither
    the extra "'s" nor the lower-cased, accent-stripped pred_text. So
    orig_text is tokenized again with `BasicTokenizer`, pred_text is found
    in that, and, with spaces removed from both, characters are assumed to
    correspond one to one. Whenever that assumption fails (different
    lengths, say after accent stripping changed a character count), the
    whole orig_text is returned.

    Args:
      pred_text: the predicted pieces, joined and de-`##`-ed.
      orig_text: the original words of the span, space-joined.
      do_lower_case: as the tokenizer that made the pieces.
      verbose_logging: log why a projection failed.

    Returns:
      str: a substring of orig_text, or orig_text itself.
    """
    tokenizer = tokenization.BasicTokenizer(do_lower_case=do_lower_case)
    tok_text = " ".join(tokenizer.tokenize(orig_text))

    start_position = tok_text.find(pred_text)
    if start_position == -1:
        if verbose_logging:
            logging.info("Unable to find text: '%s' in '%s'", pred_text,
                         orig_text)
        return orig_text
    end_position = start_position + len(pred_text) - 1

    orig_span = _map_to_orig_text(tok_text, orig_text, start_position,
                                  end_position, verbose_logging)
    if orig_span is None:
        return orig_text
    orig_start_position, orig_end_position = orig_span
    return orig_text[orig_start_position:orig_end_position + 1]


def _map_to_orig_text(tok_text, orig_text, start_position, end_position,
                      verbose_logging):
    """Maps a character span of tok_text onto orig_text.

    Assumes that the two texts match character for character once their
    spaces are removed.

    Returns:
      (start, end) inclusive character positions in orig_text, or None
      where the assumption fails.
    """
    orig_ns_text, orig_ns_to_s_map = _strip_spaces(orig_text)
    tok_ns_text, tok_ns_to_s_map = _strip_spaces(tok_text)
    if len(orig_ns_text) != len(tok_ns_text):
        if verbose_logging:
            logging.info(
                "Length not equal after stripping spaces: '%s' vs '%s'",
                orig_ns_text, tok_ns_text,
            )
        return None

    tok_s_to_ns_map = {s: ns for ns, s in tok_ns_to_s_map.items()}
    orig_positions = []
    for position, which in ((start_position, "start"),
                            (end_position, "end")):
        orig_position = orig_ns_to_s_map.get(tok_s_to_ns_map.get(position))
        if orig_position is None:
            if verbose_logging:
                logging.info("Couldn't map %s position", which)
            return None
        orig_positions.append(orig_position)
    return tuple(orig_positions)


def _min_null_score(results):
    """The null answer's (score, feature index, start logit, end logit).

    The null answer's score is taken from the window where it is lowest:
    every window has to agree that there is no answer.
    """
    score_null = 1000000  # larger than any real score
    min_null_feature_index = 0
    null_start_logit = 0
    null_end_logit = 0
    for feature_index, result in enumerate(results):
        feature_null_score = result.start_logits[0] + result.end_logits[0]
        if feature_null_score < score_null:
            score_null = feature_null_score
            min_null_feature_index = feature_index
            null_start_logit = result.start_logits[0]
            null_end_logit = result.end_logits[0]
    return score_null, min_null_feature_index, null_start_logit, null_end_logit


def _span_candidates(feature_index, feature, result, n_best_size,
                     max_answer_length):
    """The valid answer spans among one window's best starts and ends.

    Returns:
      list of `_PrelimPrediction`, in (start, end) rank order.
    """
    start_indexes = _get_best_indexes(result.start_logits, n_best_size)
    end_indexes = _get_best_indexes(result.end_logits, n_best_size)
    num_tokens = len(feature.tokens)
    candidates = []
    for start_index in start_indexes:
        for end_index in end_indexes:
            # The model can point into the question or padding, or end
            # before it starts; such spans are not answers.
            if start_index >= num_tokens or end_index >= num_tokens:
                continue
            if start_index not in feature.token_to_orig_map:
                continue
            if end_index not in feature.token_to_orig_map:
                continue
            if not feature.token_is_max_context.get(start_index, False):
                continue
            if end_index < start_index:
                continue
            if end_index - start_index + 1 > max_answer_length:
                continue
            candidates.append(_PrelimPrediction(
                feature_index=feature_index,
                start_index=start_index,
                end_index=end_index,
                start_logit=result.start_logits[start_index],
                end_logit=result.end_logits[end_index],
            ))
    return candidates


def _prelim_predictions(features, results, n_best_size, max_answer_length,
                        version_2_with_negative):
    """Valid (feature, start, end) candidates of one example, best first.

    Returns:
      (prelim_predictions, null): the sorted candidates (the null one
      included for SQuAD 2.0) and, for SQuAD 2.0 only (else None),
      (score, start_logit, end_logit) of the window whose null answer
      scores lowest.
    """
    prelim_predictions = []
    for feature_index, (feature, result) in enumerate(zip(features, results)):
        prelim_predictions += _span_candidates(
            feature_index, feature, result, n_best_size, max_answer_length
        )
    null = None
    if version_2_with_negative:
        score_null, min_null_feature_index, null_start_logit, null_end_logit = (
            _min_null_score(results)
        )
        prelim_predictions.append(_PrelimPrediction(
            feature_index=min_null_feature_index,
            start_index=0,
            end_index=0,
            start_logit=null_start_logit,
            end_logit=null_end_logit,
        ))
        null = (score_null, null_start_logit, null_end_logit)
    prelim_predictions = sorted(
        prelim_predictions,
        key=lambda x: x.start_logit + x.end_logit,
        reverse=True,
    )
    return prelim_predictions, null


def _span_text(example, feature, pred, do_lower_case, verbose_logging):
    """The original-text answer of a non-null candidate."""
    tok_tokens = feature.tokens[pred.start_index:pred.end_index + 1]
    orig_doc_start = feature.token_to_orig_map[pred.start_index]
    orig_doc_end = feature.token_to_orig_map[pred.end_index]
    orig_tokens = example.doc_tokens[orig_doc_start:orig_doc_end + 1]
    # Glue word pieces back together, then normalise whitespace.
    tok_text = " ".join(tok_tokens)
    tok_text = tok_text.replace(" ##", "").replace("##", "")
    tok_text = " ".join(tok_text.strip().split())
    orig_text = " ".join(orig_tokens)
    return get_final_text(tok_text, orig_text, do_lower_case, verbose_logging)


def _nbest(example, features, prelim_predictions, null, n_best_size,
           do_lower_case, version_2_with_negative, verbose_logging):
    """Up to n_best_size distinct answer texts, best first."""
    seen_predictions = set()
    nbest = []
    for pred in prelim_predictions:
        if len(nbest) >= n_best_size:
            break
        if pred.start_index > 0:
            final_text = _span_text(
                example, features[pred.feature_index], pred, do_lower_case,
                verbose_logging,
            )
            if final_text in seen_predictions:
                continue
        else:
            final_text = ""
        seen_predictions.add(final_text)
        nbest.append(_NbestPrediction(
            text=final_text,
            start_logit=pred.start_logit,
            end_logit=pred.end_logit,
        ))
    # SQuAD 2.0: the null answer is always among the options.
    if version_2_with_negative and "" not in seen_predictions:
        _, null_start_logit, null_end_logit = null
        nbest.append(_NbestPrediction(
            text="", start_logit=null_start_logit, end_logit=null_end_logit
        ))
    # Rarely no span is valid at all; the original then answers "empty".
    if not nbest:
        nbest.append(_NbestPrediction(text="empty", start_logit=0.0,
                                      end_logit=0.0))
    return nbest


def compute_predictions(all_examples, all_features, all_results, n_best_size,
                        max_answer_length, do_lower_case,
                        version_2_with_negative=False,
                        null_score_diff_threshold=0.0, verbose_logging=False):
    """The predictions, n-best lists and null odds, without writing them.

    Args:
      all_examples: list of `SquadExample` (prediction mode), in order.
      all_features: list of `InputFeatures` of those examples.
      all_results: iterable of `RawResult` (logits as lists of Python
        floats), one per feature, any order.
      n_best_size: int, candidates per example (and per start/end).
      max_answer_length: int, longest answer in word pieces.
      do_lower_case: as the tokenizer.
      version_2_with_negative: SQuAD 2.0: consider the null answer.
      null_score_diff_threshold: predict "" when the null score minus the
        best non-null score exceeds this.
      verbose_logging: log failed projections in `get_final_text`.

    Returns:
      (all_predictions, all_nbest_json, scores_diff_json): OrderedDicts
      keyed by qas_id in example order; the last is empty unless
      version_2_with_negative.

    Raises:
      KeyError: if a feature has no result.
    """
    example_index_to_features = collections.defaultdict(list)
    for feature in all_features:
        example_index_to_features[feature.example_index].append(feature)
    unique_id_to_result = {result.unique_id: result for result in all_results}

    all_predictions = collections.OrderedDict()
    all_nbest_json = collections.OrderedDict()
    scores_diff_json = collections.OrderedDict()
    for example_index, example in enumerate(all_examples):
        features = example_index_to_features[example_index]
        results = [unique_id_to_result[f.unique_id] for f in features]
        prelim_predictions, null = _prelim_predictions(
            features, results, n_best_size, max_answer_length,
            version_2_with_negative,
        )
        nbest = _nbest(
            example, features, prelim_predictions, null, n_best_size,
            do_lower_case, version_2_with_negative, verbose_logging,
        )
        all_nbest_json[example.qas_id] = _nbest_json(nbest)
        if version_2_with_negative:
            score_null = null[0]
            prediction, scores_diff_json[example.qas_id] = _answer_or_null(
                example.qas_id, nbest, score_null, null_score_diff_threshold
            )
        else:
            prediction = nbest[0].text
        all_predictions[example.qas_id] = prediction
    return all_predictions, all_nbest_json, scores_diff_json


def _nbest_json(nbest):
    """The n-best entries as nbest_predictions.json lists them."""
    probs = _compute_softmax([e.start_logit + e.end_logit for e in nbest])
    nbest_json = []
    for entry, probability in zip(nbest, probs):
        output = collections.OrderedDict()
        output["text"] = entry.text
        output["probability"] = probability
        output["start_logit"] = entry.start_logit
        output["end_logit"] = entry.end_logit
        nbest_json.append(output)
    return nbest_json


def _answer_or_null(qas_id, nbest, score_null, null_score_diff_threshold):
    """SQuAD 2.0: the best non-null answer, or "" if the null one wins.

    Returns:
      (prediction, score_diff): score_diff is the null score minus the best
      non-null span's score, the value null_odds.json records.
    """
    best_non_null_entry = next((e for e in nbest if e.text), None)
    if best_non_null_entry is None:
        logging.warning(
            "Question %s: every n-best answer is the null answer; "
            "predicting \"\" with null odds %s (the original crashed "
            "here)", qas_id, null_score_diff_threshold + 1.0,
        )
        return "", null_score_diff_threshold + 1.0
    score_diff = (
        score_null
        - best_non_null_entry.start_logit
        - best_non_null_entry.end_logit
    )
    # Predict "" iff the null score beats the best span by more than the
    # threshold.
    if score_diff > null_score_diff_threshold:
        return "", score_diff
    return best_non_null_entry.text, score_diff


def _json_text(value):
    # The original's layout, byte for byte: 4-space indent, ASCII escapes.
    return json.dumps(value, indent=4) + "\n"


def write_predictions(all_examples, all_features, all_results, n_best_size,
                      max_answer_length, do_lower_case, output_prediction_file,
                      output_nbest_file, output_null_log_odds_file,
                      version_2_with_negative=False,
                      null_score_diff_threshold=0.0, verbose_logging=False):
    """Writes predictions.json, nbest_predictions.json and null_odds.json.

    See `compute_predictions` for the arguments. `output_null_log_odds_file`
    is written only with version_2_with_negative. All files appear under
    their final names together, after everything was computed.

    Returns:
      the all_predictions OrderedDict {qas_id: text}.
    """
    logging.info("Writing predictions to: %s", output_prediction_file)
    logging.info("Writing nbest to: %s", output_nbest_file)
    all_predictions, all_nbest_json, scores_diff_json = compute_predictions(
        all_examples, all_features, all_results, n_best_size,
        max_answer_length, do_lower_case, version_2_with_negative,
        null_score_diff_threshold, verbose_logging,
    )
    outputs = [(output_prediction_file, all_predictions),
               (output_nbest_file, all_nbest_json)]
    if version_2_with_negative:
        outputs.append((output_null_log_odds_file, scores_diff_json))
    with file_io.atomic_outputs([path for path, _ in outputs]) as temporaries:
        for temporary, (_, value) in zip(temporaries, outputs):
            with file_io.open_text(temporary, "w") as writer:
                writer.write(_json_text(value))
    return all_predictions
