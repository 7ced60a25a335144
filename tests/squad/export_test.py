"""The raw-text SQuAD SavedModel: windows, span choice, text, serving.

The windows and answers are held against the reference's files: the
features of convert_examples_to_features and the predictions that
write_predictions made from the given logits (tests/testdata/squad, the
realistic uncased vocab, texts with accents, U+202F, tabs and quotes), and
the tiny_squad model's golden predictions.
"""

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from bert_tf.config import BertConfig
from bert_tf.errors import UserInputError
from bert_tf.graph_tokenizer import GraphTokenizer
from bert_tf.squad import export
from bert_tf.squad import graph_features
from bert_tf.squad import graph_postprocess
from bert_tf.squad import run as run_lib
from bert_tf.squad.model import BertSpanModel
from tests.classifier.serving_helpers import serve_in_fresh_process
from tests.conftest import read_jsonl
from tests.conftest import runner_params
from tests.conftest import testdata

VOCAB = testdata("vocab", "uncased_vocab.txt")
# The settings of tests/testdata/squad/summary.json.
FIXTURE_SETTINGS = dict(max_seq_length=64, doc_stride=16, max_query_length=12,
                        n_best_size=5, max_answer_length=10)
TINY_SETTINGS = export.SpanSettings(max_seq_length=32, doc_stride=8,
                                    max_query_length=8, n_best_size=5,
                                    max_answer_length=10)
_TOKENIZERS = {}


def _tokenizer(vocab=VOCAB):
    if vocab not in _TOKENIZERS:
        _TOKENIZERS[vocab] = GraphTokenizer(vocab)
    return _TOKENIZERS[vocab]


def _questions(path):
    """(ids, questions, contexts) of a SQuAD file, in order."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)["data"]
    rows = [(qa["id"], qa["question"], p["context"])
            for a in data for p in a["paragraphs"] for qa in p["qas"]]
    return tuple(map(list, zip(*rows)))


def _fixture(version):
    ids, questions, contexts = _questions(testdata("squad", f"squad_v{version}.json"))
    settings = export.SpanSettings(
        **FIXTURE_SETTINGS, version_2_with_negative=version == "2.0")
    windows = graph_features.doc_windows(
        _tokenizer(), tf.constant(questions), tf.constant(contexts), 101, 102,
        settings)
    return ids, contexts, settings, windows


def _choose(windows, settings, logits):
    return graph_postprocess.choose_answers(
        windows,
        tf.constant([r["start_logits"] for r in logits], tf.float32),
        tf.constant([r["end_logits"] for r in logits], tf.float32),
        tf.constant(graph_postprocess.vocab_tokens(VOCAB)), _tokenizer().basic_tokenize,
        settings)


@pytest.mark.parametrize("version", ["1.1", "2.0"])
def test_windows_equal_the_reference_features(version):
    _, _, _, windows = _fixture(version)
    features = read_jsonl(testdata("squad", f"v{version}", "features_predict.jsonl"))
    for name in ("input_ids", "input_mask", "segment_ids"):
        assert windows[name].numpy().tolist() == [f[name] for f in features]
    # token_to_orig_map: the word of each document piece of each window.
    piece_word = windows["piece_word"].numpy()
    questions = windows["question"].numpy()
    starts, offsets = windows["start"].numpy(), windows["doc_offset"].numpy()
    for w, feature in enumerate(features):
        assert {
            str(offsets[w] + i): int(piece_word[questions[w]][starts[w] + i])
            for i in range(windows["length"].numpy()[w])
        } == feature["token_to_orig_map"]
    # token_is_max_context for every document position of every window.
    positions = [[int(p) - offsets[w] + starts[w] for p in f["token_is_max_context"]]
                 for w, f in enumerate(features)]
    width = max(map(len, positions))
    padded = tf.constant([p + [0] * (width - len(p)) for p in positions])
    got = graph_features.is_max_context(windows, padded).numpy()
    for w, feature in enumerate(features):
        expected = list(feature["token_is_max_context"].values())
        assert got[w][: len(expected)].tolist() == expected


@pytest.mark.parametrize("version", ["1.1", "2.0"])
def test_answers_from_the_reference_logits(version):
    ids, contexts, settings, windows = _fixture(version)
    outputs = _choose(
        windows, settings, read_jsonl(testdata("squad", f"v{version}", "logits.jsonl")))
    with open(testdata("squad", f"v{version}", "predictions.json")) as f:
        predictions = json.load(f)
    answers = [a.decode() for a in outputs["answer"].numpy()]
    assert answers == [predictions[i] for i in ids]
    # The offsets give the same text, up to runs of whitespace ("research.
    # \u00a0The" has two spaces in the context, one in predictions.json).
    for context, answer, start, end in zip(
            contexts, answers, outputs["start_char"].numpy(), outputs["end_char"].numpy()):
        if answer:
            assert " ".join(context[start:end].split()) == answer
        else:
            assert (start, end) == (-1, -1)
    if version == "1.1":
        assert answers[2] == "Uppsala University"
        assert contexts[2][outputs["start_char"][2]:outputs["end_char"][2]] == answers[2]
        assert "null_score_diff" not in outputs
    else:
        with open(testdata("squad", "v2.0", "null_odds.json")) as f:
            null_odds = json.load(f)
        np.testing.assert_allclose(outputs["null_score_diff"].numpy(),
                                   [null_odds[i] for i in ids], rtol=1e-6)


@pytest.mark.parametrize("version", ["1.1", "2.0"])
def test_no_valid_span_answers_nothing(version):
    # Every top-5 start and end sits in the question: the original answers
    # "empty" (v1) or crashes (v2, bert#211); here "", -1 and, for v2, the
    # null odds threshold + 1 as null_odds.json gets.
    _, questions, contexts = _questions(testdata("squad", "squad_v2.0.json"))
    settings = export.SpanSettings(
        **FIXTURE_SETTINGS, version_2_with_negative=version == "2.0",
        null_score_diff_threshold=-2.0)
    windows = graph_features.doc_windows(
        _tokenizer(), tf.constant(questions[:1]), tf.constant(contexts[:1]),
        101, 102, settings)
    logits = read_jsonl(testdata("squad", "edge_cases", "all_null_logits.jsonl"))
    assert windows["num_windows"].numpy().tolist() == [len(logits)] == [7]
    outputs = _choose(windows, settings, logits)
    assert outputs["answer"].numpy().tolist() == [b""]
    assert (int(outputs["start_char"][0]), int(outputs["end_char"][0])) == (-1, -1)
    if version == "2.0":
        assert float(outputs["null_score_diff"][0]) == -1.0


def test_contexts_without_words_and_long_questions():
    settings = export.SpanSettings(**FIXTURE_SETTINGS)
    text = "the cat sat on the mat . " * 12  # 84 words, 84 pieces
    questions = ["who?", "what?", "what?", "where is it? " * 10]
    contexts = ["", "  \t\n\u202f ", text, text]
    windows = graph_features.doc_windows(
        _tokenizer(), tf.constant(questions), tf.constant(contexts), 101, 102,
        settings)
    # No word, no window. "what?" leaves 64 - 2 - 3 = 59 pieces a window:
    # 1 + ceil((84 - 59) / 16) = 3 windows; the long question keeps its
    # first 12 pieces: 49 a window, 1 + ceil((84 - 49) / 16) = 4 windows.
    assert windows["num_windows"].numpy().tolist() == [0, 0, 3, 4]
    assert windows["words"].row_lengths().numpy().tolist() == [0, 0, 84, 84]
    assert windows["doc_offset"].numpy().tolist() == [4] * 3 + [14] * 4
    # Equal logits: the top 5 starts and ends are positions 0-4. For
    # "what?" position 4 is the first document piece; the long question's
    # document starts at 14, so it has no valid span.
    logits = tf.zeros([7, 64])
    outputs = graph_postprocess.choose_answers(
        windows, logits, logits, tf.constant(graph_postprocess.vocab_tokens(VOCAB)),
        _tokenizer().basic_tokenize, settings)
    assert outputs["answer"].numpy().tolist() == [b"", b"", b"the", b""]
    assert outputs["start_char"].numpy().tolist() == [-1, -1, 0, -1]
    assert outputs["end_char"].numpy().tolist() == [-1, -1, 3, -1]


# About 40 s: the tiny model through run_squad (predict and export), then a
# fresh process that loads the export both ways, and saved_model_cli.
@pytest.mark.slow
def test_export_answers_as_the_runner_in_a_fresh_process(tmp_path):
    output_dir, export_dir = tmp_path / "out", tmp_path / "export"
    params = runner_params(run_lib.SquadParams, dict(
        bert_config_file=testdata("tiny_squad", "bert_config.json"),
        vocab_file=testdata("tiny_model", "vocab.txt"),
        output_dir=str(output_dir), export_dir=str(export_dir),
        init_checkpoint=testdata("tiny_squad", "model.ckpt-3"),
        do_predict=True, predict_file=testdata("tiny_squad", "tiny_squad.json"),
        **dataclasses.asdict(TINY_SETTINGS)), {})
    results = run_lib.run(params)
    path = str(export_dir / "3")  # the checkpoint's global step
    assert os.listdir(export_dir) == ["3"]

    ids, questions, contexts = _questions(testdata("tiny_squad", "tiny_squad.json"))
    served = serve_in_fresh_process(
        path, {"question": questions, "context": contexts}, tmp_path)
    with open(output_dir / "predictions.json") as f:
        predictions = json.load(f)
    with open(testdata("tiny_squad", "predictions.json")) as f:
        assert predictions == json.load(f)  # the reference's answers
    with open(output_dir / "nbest_predictions.json") as f:
        best = {qid: entries[0] for qid, entries in json.load(f).items()}
    assert len(results) == 21  # windows
    for outputs in (served["tf2"], served["tf1"]):
        assert outputs["answer"] == [predictions[i] for i in ids]
        for context, answer, start, end in zip(
                contexts, outputs["answer"], outputs["start_char"], outputs["end_char"]):
            assert context[start:end] == answer
        np.testing.assert_allclose(
            outputs["score"],
            [best[i]["start_logit"] + best[i]["end_logit"] for i in ids], atol=1e-5)

    # Each weight stored once.
    model = BertSpanModel(BertConfig.from_json_file(
        testdata("tiny_squad", "bert_config.json")))
    stored = sum(int(np.prod(shape)) for name, shape in tf.train.list_variables(
        os.path.join(path, "variables", "variables"))
        if name != "_CHECKPOINTABLE_OBJECT_GRAPH")
    assert stored == model.count_params()
    with open(os.path.join(path, "assets", "export_info.json")) as f:
        info = json.load(f)
    assert (info["precision"], info["doc_stride"], info["n_best_size"]) == ("fp32", 8, 5)
    shown = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "saved_model_cli"),
         "show", "--all", "--dir", path],
        capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    assert shown.returncode == 0, shown.stderr[-2000:]
    for name in ("inputs['question']", "inputs['context']", "outputs['answer']",
                 "outputs['start_char']", "outputs['end_char']", "outputs['score']"):
        assert f"{name} tensor_info:" in shown.stdout


def test_runner_refuses_exports_before_any_work(tmp_path):
    settings = dict(
        bert_config_file=testdata("tiny_squad", "bert_config.json"),
        vocab_file=testdata("tiny_model", "vocab.txt"),
        output_dir=str(tmp_path / "out"), export_dir=str(tmp_path / "export"),
        do_predict=True, predict_file=testdata("tiny_squad", "tiny_squad.json"),
        **dataclasses.asdict(TINY_SETTINGS))
    # A pre-trained checkpoint: no SQuAD head to serve.
    with pytest.raises(UserInputError, match=(
            r"'.*bert_model.ckpt' has no SQuAD head \(no cls/squad/output_weights\)")):
        run_lib.run(runner_params(run_lib.SquadParams, settings, dict(
            init_checkpoint=testdata("tiny_model", "bert_model.ckpt"))))
    # model.ckpt-3 exports as version 3, which is taken.
    os.makedirs(tmp_path / "export" / "3")
    (tmp_path / "export" / "3" / "saved_model.pb").write_text("")
    with pytest.raises(UserInputError, match="export/3' already exists and is not empty"):
        run_lib.run(runner_params(run_lib.SquadParams, settings, dict(
            init_checkpoint=testdata("tiny_squad", "model.ckpt-3"))))
    # Above the model's max_position_embeddings (64).
    with pytest.raises(UserInputError, match="Cannot use sequence length 128"):
        run_lib.run(runner_params(run_lib.SquadParams, settings, dict(
            init_checkpoint=testdata("tiny_squad", "model.ckpt-3"),
            max_seq_length=128)))
    assert sorted(os.listdir(tmp_path)) == ["export"]
    assert os.listdir(tmp_path / "export" / "3") == ["saved_model.pb"]
