"""The raw-text SQuAD export answers as predictions.json does, at scale.

A small BERT (uncased vocab, 2 layers) is fine-tuned by run_squad on
synthetic SQuAD 1.1 and 2.0 files built from sample_text.txt (the question
is the four words before the answer; 2.0 adds questions whose words are
not in the context), then predicts, exports, and the export answers the
same questions from raw text. The contexts are longer than a window, so
the doc-stride windows and the max-context rule are exercised. The issue's
bar: equal answers for at least 99% of the questions, and official EM/F1
within 0.2 points.
"""

import json
import os
import random

import pytest
import tensorflow as tf

from bert_tf.squad import evaluation
from bert_tf.squad import run as run_lib
from tests.conftest import REPO
from tests.conftest import runner_params
from tests.conftest import testdata

CONFIG = dict(vocab_size=30522, hidden_size=64, num_hidden_layers=2,
              num_attention_heads=2, intermediate_size=256,
              max_position_embeddings=128, type_vocab_size=2,
              hidden_act="gelu", hidden_dropout_prob=0.1,
              attention_probs_dropout_prob=0.1, initializer_range=0.02)


def _paragraphs():
    with open(os.path.join(REPO, "sample_text.txt"), encoding="utf-8") as f:
        lines = [line.strip() for line in f if line.strip()]
    return [" ".join(lines[i:i + 5]) for i in range(0, len(lines) - 5, 3)]


def synthetic_squad(num_questions, seed, impossible=0.0):
    """SQuAD JSON: answer = 1-4 words, question = the 4 words before it."""
    rng = random.Random(seed)
    paragraphs = []
    for index, context in enumerate(_paragraphs()):
        words, starts, position = context.split(" "), [], 0
        for word in words:
            starts.append(position)
            position += len(word) + 1
        qas = []
        for q in range(max(1, num_questions // 40)):
            first = rng.randrange(4, len(words) - 4)
            answer = " ".join(words[first:first + rng.randint(1, 4)])
            qa = {"id": f"p{index}-q{q}", "question": " ".join(
                words[first - 4:first]) + "?", "answers": [
                {"text": answer, "answer_start": starts[first]}]}
            if rng.random() < impossible:
                qa.update(question="zebra quantum " + qa["question"],
                          answers=[], is_impossible=True)
            qas.append(qa)
        paragraphs.append({"context": context, "qas": qas})
    return {"version": "synthetic", "data": [{"title": "t", "paragraphs": paragraphs}]}


def _served_answers(export_dir, dataset):
    served = tf.saved_model.load(export_dir).signatures["serving_default"]
    rows = [(qa["id"], qa["question"], p["context"])
            for a in dataset for p in a["paragraphs"] for qa in p["qas"]]
    answers = {}
    for i in range(0, len(rows), 32):
        ids, questions, contexts = zip(*rows[i:i + 32])
        out = served(question=tf.constant(questions), context=tf.constant(contexts))
        answers.update(zip(ids, (a.decode() for a in out["answer"].numpy())))
    return answers


# About 2 minutes for both: fine-tuning, prediction of 931 questions,
# export and serving. (The model learns little in 2 epochs; what matters
# is that the two pipelines agree on its logits.)
@pytest.mark.slow
@pytest.mark.parametrize("version_2", [False, True])
def test_export_agrees_with_predictions_json(tmp_path, version_2):
    config_file = tmp_path / "bert_config.json"
    config_file.write_text(json.dumps(CONFIG))
    impossible = 0.3 if version_2 else 0.0
    files = {}
    for name, count, seed in (("train", 200, 1), ("dev", 300, 2)):
        files[name] = tmp_path / f"{name}.json"
        files[name].write_text(json.dumps(synthetic_squad(count, seed, impossible)))
    output_dir = tmp_path / "out"
    run_lib.run(runner_params(run_lib.SquadParams, dict(
        bert_config_file=str(config_file),
        vocab_file=testdata("vocab", "uncased_vocab.txt"),
        output_dir=str(output_dir), export_dir=str(tmp_path / "export"),
        train_file=str(files["train"]), predict_file=str(files["dev"]),
        do_train=True, do_predict=True, max_seq_length=128, doc_stride=48,
        max_query_length=16, train_batch_size=16, num_train_epochs=2.0,
        learning_rate=1e-3, version_2_with_negative=version_2,
        null_score_diff_threshold=-1.0 if version_2 else 0.0), {}))
    with open(output_dir / "predictions.json") as f:
        predictions = json.load(f)
    [version] = os.listdir(tmp_path / "export")
    dataset = evaluation.read_dataset(str(files["dev"]))
    served = _served_answers(str(tmp_path / "export" / version), dataset)
    assert served.keys() == predictions.keys()
    equal = sum(served[q] == predictions[q] for q in predictions) / len(predictions)
    evaluate = evaluation.evaluate_v2 if version_2 else evaluation.evaluate_v1
    ours, theirs = evaluate(dataset, served), evaluate(dataset, predictions)
    em = "exact" if version_2 else "exact_match"
    print(f"\nversion_2={version_2}: {len(predictions)} questions, "
          f"{equal:.2%} equal; EM {ours[em]:.2f} vs {theirs[em]:.2f}, "
          f"F1 {ours['f1']:.2f} vs {theirs['f1']:.2f}")
    assert equal >= 0.99
    assert abs(ours[em] - theirs[em]) <= 0.2
    assert abs(ours["f1"] - theirs["f1"]) <= 0.2
