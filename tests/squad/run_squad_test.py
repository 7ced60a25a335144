"""run_squad end to end: golden logits and predictions, training, bad input.

The golden numbers come from the reference's model_fn in PREDICT mode on
the tiny_squad fixture (fine-tuned checkpoint model.ckpt-3, tiny vocab,
max_seq_length 32, doc_stride 8, max_query_length 8), followed by its
write_predictions(n_best_size=5, max_answer_length=10).
"""

import json
import os
import re
import shutil

import numpy as np
import pytest
import tensorflow as tf

from bert_tf import tokenization
from bert_tf.checkpoints import training_state
from bert_tf.errors import UserInputError
from bert_tf.squad import examples
from bert_tf.squad import features
from bert_tf.squad import run as run_lib
from bert_tf.squad import task as task_lib
from tests.conftest import runner_params
from tests.conftest import testdata

TINY_SQUAD = testdata("tiny_squad")
FINE_TUNED_CKPT = testdata("tiny_squad", "model.ckpt-3")
PRETRAINED_CKPT = testdata("tiny_model", "bert_model.ckpt")
VOCAB = testdata("tiny_model", "vocab.txt")
CONFIG = testdata("tiny_squad", "bert_config.json")
SQUAD_FILE = testdata("tiny_squad", "tiny_squad.json")


def _params(output_dir, **overrides):
    settings = dict(
        bert_config_file=CONFIG,
        vocab_file=VOCAB,
        output_dir=str(output_dir),
        max_seq_length=32,
        doc_stride=8,
        max_query_length=8,
        n_best_size=5,
        max_answer_length=10,
    )
    return runner_params(run_lib.SquadParams, settings, overrides)


def _load(path):
    with open(path) as f:
        return json.load(f)


def _golden():
    with open(os.path.join(TINY_SQUAD, "golden_outputs.json")) as f:
        sidecar = json.load(f)
    arrays = np.load(os.path.join(TINY_SQUAD, "golden_outputs.npz"))
    return sidecar, dict(arrays)


def _read_records(path):
    """Every record of a TFRecord file as {name: list of ints}."""
    records = []
    for raw in tf.data.TFRecordDataset(str(path)).as_numpy_iterator():
        example = tf.train.Example.FromString(raw)
        records.append({name: list(f.int64_list.value)
                        for name, f in example.features.feature.items()})
    return records


def _check_against_golden(output_dir, results):
    _, golden = _golden()
    np.testing.assert_array_equal([r.unique_id for r in results],
                                  golden["unique_ids"])
    np.testing.assert_allclose([r.start_logits for r in results],
                               golden["start_logits"], atol=1e-5)
    np.testing.assert_allclose([r.end_logits for r in results],
                               golden["end_logits"], atol=1e-5)
    # eval.tf_record holds the golden predict features.
    records = _read_records(os.path.join(output_dir, "eval.tf_record"))
    for name in ("input_ids", "input_mask", "segment_ids"):
        np.testing.assert_array_equal([r[name] for r in records], golden[name])
    assert sorted(records[0]) == [
        "input_ids", "input_mask", "segment_ids", "unique_ids"]

    assert _load(os.path.join(output_dir, "predictions.json")) == _load(
        os.path.join(TINY_SQUAD, "predictions.json"))
    nbest = _load(os.path.join(output_dir, "nbest_predictions.json"))
    expected = _load(os.path.join(TINY_SQUAD, "nbest_predictions.json"))
    assert list(nbest) == list(expected)
    for qas_id, entries in expected.items():
        texts = [e["text"] for e in nbest[qas_id]]
        assert texts == [e["text"] for e in entries]
        for name in ("probability", "start_logit", "end_logit"):
            np.testing.assert_allclose(
                [e[name] for e in nbest[qas_id]], [e[name] for e in entries],
                atol=1e-5, err_msg=f"{qas_id} {name}",
            )
    assert not os.path.exists(os.path.join(output_dir, "null_odds.json"))


def test_predict_from_init_checkpoint(tmp_path, caplog):
    output_dir = tmp_path / "out"
    with caplog.at_level("INFO", logger="absl"):
        results = run_lib.run(_params(
            output_dir, init_checkpoint=FINE_TUNED_CKPT, do_predict=True,
            predict_file=SQUAD_FILE,
        ))
    _check_against_golden(output_dir, results)
    assert sorted(os.listdir(output_dir)) == [
        "eval.tf_record", "eval_results.txt", "nbest_predictions.json",
        "predictions.json"]
    # The file has answers, so the official metrics: none of the tiny
    # model's four answers ("day", ",") overlaps its gold answer.
    with open(output_dir / "eval_results.txt") as f:
        assert f.read() == "exact_match = 0.0\nf1 = 0.0\n"
    messages = [r.getMessage() for r in caplog.records]
    for line in ("***** Running predictions *****", "  Num orig examples = 4",
                 "  Num split examples = 21", "  Batch size = 8",
                 "Processing example: 0"):
        assert line in messages


def test_predict_restores_checkpoint_in_output_dir(tmp_path):
    # The Estimator path: output_dir already holds model.ckpt-3 (which
    # wins over a different --init_checkpoint).
    output_dir = tmp_path / "out"
    os.makedirs(output_dir)
    for name in os.listdir(TINY_SQUAD):
        if name.startswith("model.ckpt-3") or name == "checkpoint":
            shutil.copy(os.path.join(TINY_SQUAD, name), output_dir)
    results = run_lib.run(_params(
        output_dir, init_checkpoint=PRETRAINED_CKPT, do_predict=True,
        predict_file=SQUAD_FILE, predict_batch_size=5,
    ))
    _check_against_golden(output_dir, results)


def test_loss_matches_reference_formula():
    # Uniform logits over S = 4 positions: each cross-entropy is log(4).
    task = task_lib.SquadTask(bert_config=None)
    outputs = {"start_logits": tf.zeros([2, 4]), "end_logits": tf.zeros([2, 4])}
    labels = {"start_positions": tf.constant([0, 3]),
              "end_positions": tf.constant([1, 2])}
    np.testing.assert_allclose(task.loss(outputs, labels), np.log(4.0),
                               rtol=1e-6)
    # The golden logits of two windows: (mean start CE + mean end CE) / 2.
    _, golden = _golden()
    start, end = golden["start_logits"][:2], golden["end_logits"][:2]
    positions = {"start_positions": tf.constant([8, 0]),
                 "end_positions": tf.constant([9, 0])}

    def cross_entropy(logits, gold):
        logits = logits.astype(np.float64)
        log_z = np.log(np.exp(logits).sum(axis=1))
        return np.mean(log_z - logits[np.arange(2), gold])

    expected = (cross_entropy(start, [8, 0]) + cross_entropy(end, [9, 0])) / 2
    outputs = {"start_logits": tf.constant(start),
               "end_logits": tf.constant(end)}
    np.testing.assert_allclose(task.loss(outputs, positions), expected,
                               atol=2e-5)


def test_train_writes_reference_checkpoint_and_predicts(tmp_path, caplog):
    output_dir = tmp_path / "out"
    with caplog.at_level("INFO", logger="absl"):
        results = run_lib.run(_params(
            output_dir, bert_config_file=testdata("tiny_model",
                                                  "bert_config.json"),
            init_checkpoint=PRETRAINED_CKPT, do_train=True, do_predict=True,
            train_file=SQUAD_FILE, predict_file=SQUAD_FILE,
            train_batch_size=2, num_train_epochs=1.0, learning_rate=1e-3,
        ))
    messages = [r.getMessage() for r in caplog.records]
    # 4 questions / 2 * 1 epoch: steps are counted in questions, not in the
    # 21 windows.
    for line in ("***** Running training *****", "  Num orig examples = 4",
                 "  Num split examples = 21", "  Num steps = 2"):
        assert line in messages
    prefix = str(output_dir / "model.ckpt-2")
    names = {n for n, _ in tf.train.list_variables(prefix)}
    # Exactly the reference's fine-tuned names (120): cls/squad/*, adam
    # slots for every trainable variable except the unused pooler; and
    # bert_tf's resume state, under a name no TF1 BERT variable has.
    assert names == {n for n, _ in tf.train.list_variables(FINE_TUNED_CKPT)} | {
        training_state.SEED_STATES
    }
    assert {"cls/squad/output_weights/adam_m", "global_step"} <= names
    assert "bert/pooler/dense/kernel/adam_m" not in names
    assert tf.train.load_checkpoint(prefix).get_tensor("global_step") == 2

    # train.tf_record: the reference's training windows, in the order of
    # the questions shuffled with random.Random(12345) (q2 q1 q3 q4).
    sidecar, _ = _golden()
    tokenizer = tokenization.FullTokenizer(VOCAB)
    expected = [
        (tokenizer.convert_tokens_to_ids(f["tokens"]) + [0] * (
            32 - len(f["tokens"])), f["start_position"], f["end_position"])
        for f in sidecar["featurization"]["train_features"]
    ]
    records = _read_records(output_dir / "train.tf_record")
    got = [(r["input_ids"], r["start_positions"][0], r["end_positions"][0])
           for r in records]
    assert sorted(got) == sorted(expected)
    questions = ("what was", "who sat", "who read", "what can")
    first_words = []
    for r in records:
        words = " ".join(tokenizer.convert_ids_to_tokens(r["input_ids"][1:3]))
        if not first_words or first_words[-1] != words:
            first_words.append(words)
    assert tuple(first_words) == questions
    assert [r["unique_ids"][0] for r in records] == list(
        range(1000000000, 1000000021))

    # Prediction then ran on the fine-tuned weights of model.ckpt-2.
    assert len(results) == 21
    assert sorted(_load(output_dir / "predictions.json")) == [
        "q1", "q2", "q3", "q4"]


def test_version_2_writes_null_odds(tmp_path):
    squad = _load(SQUAD_FILE)
    squad["data"][0]["paragraphs"][0]["qas"].append(
        {"id": "q5", "question": "Who sat on the sun?", "answers": [],
         "is_impossible": True})
    predict_file = tmp_path / "v2.json"
    predict_file.write_text(json.dumps(squad))
    output_dir = tmp_path / "out"
    results = run_lib.run(_params(
        output_dir, init_checkpoint=FINE_TUNED_CKPT, do_predict=True,
        predict_file=str(predict_file), version_2_with_negative=True,
        null_score_diff_threshold=-1.0,
    ))
    odds = _load(output_dir / "null_odds.json")
    predictions = _load(output_dir / "predictions.json")
    assert list(odds) == list(predictions) == ["q1", "q2", "q3", "q4", "q5"]
    # null odds = lowest [CLS] score over q5's windows - best span score.
    q5_windows = []
    features.convert_examples_to_features(
        examples.read_squad_examples(str(predict_file), False),
        tokenization.FullTokenizer(VOCAB), 32, 8, 8, False,
        lambda f: q5_windows.append(f.unique_id) if f.example_index == 4
        else None,
    )
    by_id = {r.unique_id: r for r in results}
    score_null = min(by_id[u].start_logits[0] + by_id[u].end_logits[0]
                     for u in q5_windows)
    best = _load(output_dir / "nbest_predictions.json")["q5"]
    best_span = next(e for e in best if e["text"])
    assert odds["q5"] == pytest.approx(
        score_null - best_span["start_logit"] - best_span["end_logit"],
        rel=1e-12)
    for qas_id, value in odds.items():
        assert (predictions[qas_id] == "") == (value > -1.0)


def _raises_one_line(params, pattern):
    with pytest.raises(UserInputError, match=pattern) as info:
        run_lib.run(params)
    assert "\n" not in str(info.value)


def test_bad_input(tmp_path):
    out = tmp_path / "out"
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"data": [}')
    cases = [
        (dict(),
         re.escape("At least one of `do_train` or `do_predict` must be True.")),
        (dict(do_train=True),
         re.escape("If `do_train` is True, then `train_file` must be "
                   "specified.")),
        (dict(do_predict=True),
         re.escape("If `do_predict` is True, then `predict_file` must be "
                   "specified.")),
        (dict(do_predict=True, predict_file=SQUAD_FILE, max_seq_length=128),
         "Cannot use sequence length 128 because the BERT model was only "
         "trained up to sequence length 64"),
        (dict(do_predict=True, predict_file=SQUAD_FILE, max_query_length=29),
         re.escape("The max_seq_length (32) must be greater than "
                   "max_query_length (29) + 3")),
        (dict(do_predict=True, predict_file=SQUAD_FILE,
              init_checkpoint="/m/uncased_L-12_H-768_A-12/bert_model.ckpt",
              do_lower_case=False),
         r"`uncased_L-12_H-768_A-12` seems to be a lowercased model, so you "
         r"should pass in `--do_lower_case=True`"),
        (dict(do_predict=True, predict_file=str(tmp_path / "missing.json")),
         r"--predict_file='.*missing\.json': file not found"),
        (dict(do_train=True, train_file=str(bad_json)),
         r"--train_file='.*bad\.json': not valid JSON \(Expecting value: "
         r"line 1 column 11"),
        (dict(do_predict=True, predict_file=SQUAD_FILE, doc_stride=0),
         "--doc_stride=0: expected a positive integer"),
        (dict(do_predict=True, predict_file=SQUAD_FILE, precision="fp8"),
         "--precision='fp8': expected one of auto, fp32, bf16, fp16"),
        (dict(do_train=True, train_file=SQUAD_FILE, optimizer="sgd"),
         "--optimizer='sgd': expected 'adamw' or 'lamb'"),
        (dict(do_predict=True, predict_file=SQUAD_FILE,
              vocab_file=testdata("vocab", "uncased_vocab.txt")),
         r"uncased_vocab\.txt' has 30522 entries but bert_config\.json says "
         r"vocab_size=262"),
        (dict(do_train=True, train_file=SQUAD_FILE, train_batch_size=8,
              num_train_epochs=1.0),
         r"--train_file='.*tiny_squad\.json' has 4 usable questions; with "
         r"--train_batch_size=8 and --num_train_epochs=1\.0 that is 0 "
         r"training steps, expected at least 1"),
    ]
    for overrides, pattern in cases:
        _raises_one_line(_params(out, **overrides), pattern)
    # Nothing was written for any of the failed runs.
    assert not out.exists()
