"""run_classifier end to end: golden predictions and metrics, fine-tuning,
checkpoints, bad input.

The golden numbers come from the reference's model_fn on the
tiny_classifier fixture (fine-tuned checkpoint model.ckpt-4): 3 MNLI-style
predict rows plus one PaddingInputExample, max_seq_length 20. With batch
size 4 our padding reproduces that batch exactly, so even the `loss` of
eval_results.txt (which includes the padding row) is comparable.
"""

import json
import math
import os
import random
import re
import shutil

import numpy as np
import pytest
import tensorflow as tf

from bert_tf import records as records_lib
from bert_tf.checkpoints import training_state
from bert_tf.classifier import features
from bert_tf.classifier import input_pipeline
from bert_tf.classifier import examples as examples_lib
from bert_tf.classifier import run as run_lib
from bert_tf.classifier import task as task_lib
from bert_tf.config import BertConfig
from bert_tf.errors import UserInputError
from bert_tf.modeling.losses import classifier_example_loss
from bert_tf.tokenization import FullTokenizer
from tests.classifier.serving_helpers import serve_in_fresh_process
from tests.conftest import runner_params
from tests.conftest import testdata

TINY_CLASSIFIER = testdata("tiny_classifier")
FINE_TUNED_CKPT = testdata("tiny_classifier", "model.ckpt-4")
PRETRAINED_CKPT = testdata("tiny_model", "bert_model.ckpt")
VOCAB = testdata("tiny_model", "vocab.txt")
CONFIG = testdata("tiny_classifier", "bert_config.json")
MNLI_LABELS = ["contradiction", "entailment", "neutral"]


def _params(data_dir, output_dir, **overrides):
    settings = dict(
        data_dir=str(data_dir),
        bert_config_file=CONFIG,
        task_name="MNLI",
        vocab_file=VOCAB,
        output_dir=str(output_dir),
        max_seq_length=20,
        eval_batch_size=4,
        predict_batch_size=4,
    )
    return runner_params(run_lib.ClassifierParams, settings, overrides)


def _golden():
    with open(os.path.join(TINY_CLASSIFIER, "golden_outputs.json")) as f:
        sidecar = json.load(f)
    arrays = dict(np.load(os.path.join(TINY_CLASSIFIER, "golden_outputs.npz")))
    return sidecar, arrays


def _real_predict_rows():
    sidecar, _ = _golden()
    rows = sidecar["predict"]["examples"]
    # Rows 0-2 are real; row 3 is the PaddingInputExample.
    assert [r["padding_example"] for r in rows] == [False, False, False, True]
    return rows[:3]


def _write_tsv(path, header, rows):
    with open(path, "w", encoding="utf-8") as f:
        for row in [header] + rows:
            f.write("\t".join(row) + "\n")


def _mnli_row(index, text_a, text_b):
    # The real 10 leading columns; the parse columns hold placeholders.
    return [str(index), str(90000 + index), f"{90000 + index}n", "fiction",
            "( x )", "( x )", "(ROOT (X x))", "(ROOT (X x))", text_a, text_b]


MNLI_TEST_HEADER = [
    "index", "promptID", "pairID", "genre", "sentence1_binary_parse",
    "sentence2_binary_parse", "sentence1_parse", "sentence2_parse",
    "sentence1", "sentence2",
]
MNLI_DEV_HEADER = MNLI_TEST_HEADER + [
    "label1", "label2", "label3", "label4", "label5", "gold_label"
]


def _mnli_data_dir(directory, labels=None):
    """test_matched.tsv and dev_matched.tsv holding the golden predict rows."""
    os.makedirs(directory, exist_ok=True)
    rows = _real_predict_rows()
    labels = labels or [r["label"] for r in rows]
    _write_tsv(
        os.path.join(directory, "test_matched.tsv"),
        MNLI_TEST_HEADER,
        [_mnli_row(i, r["text_a"], r["text_b"]) for i, r in enumerate(rows)],
    )
    _write_tsv(
        os.path.join(directory, "dev_matched.tsv"),
        MNLI_DEV_HEADER,
        [_mnli_row(i, r["text_a"], r["text_b"]) + [label] * 6
         for i, (r, label) in enumerate(zip(rows, labels))],
    )
    return str(directory)


def _read_test_results(path):
    with open(path) as f:
        text = f.read()
    assert text.endswith("\n")
    return [[float(v) for v in line.split("\t")] for line in text[:-1].split("\n")]


def _read_eval_results(path):
    with open(path) as f:
        lines = f.read().splitlines()
    return dict(line.split(" = ") for line in lines), [
        line.split(" = ")[0] for line in lines
    ]


def _read_records(path, seq_length):
    name_to_features = features.name_to_features(seq_length)
    dataset = tf.data.TFRecordDataset(path).map(
        lambda r: records_lib.decode_record(r, name_to_features)
    )
    return list(dataset.as_numpy_iterator())


def _check_against_golden(output_dir, global_step):
    sidecar, golden = _golden()
    probabilities = _read_test_results(os.path.join(output_dir, "test_results.tsv"))
    assert len(probabilities) == 3  # real rows only, no header
    np.testing.assert_allclose(probabilities, golden["probabilities"][:3], atol=1e-5)

    results, keys = _read_eval_results(os.path.join(output_dir, "eval_results.txt"))
    assert keys == ["eval_accuracy", "eval_loss", "global_step", "loss"]
    assert results["global_step"] == str(global_step)
    for key, value in sidecar["predict"]["eval_mode_results"].items():
        np.testing.assert_allclose(float(results[key]), value, atol=2e-5, err_msg=key)

    # predict.tf_record holds the golden features, padding row included.
    records = _read_records(os.path.join(output_dir, "predict.tf_record"), 20)
    for name in ("input_ids", "input_mask", "segment_ids"):
        np.testing.assert_array_equal([r[name] for r in records], golden[name])
    np.testing.assert_array_equal(
        [r["is_real_example"] for r in records], golden["is_real_example"]
    )


def test_eval_predict_and_export_from_init_checkpoint(tmp_path, caplog):
    data_dir = _mnli_data_dir(tmp_path / "data")
    output_dir = tmp_path / "out"
    export_dir = str(tmp_path / "export")
    # Set the absl logger's own level: tf.saved_model.save (run by other
    # tests in the session) leaves it at WARNING.
    with caplog.at_level("INFO", logger="absl"):
        results = run_lib.run(_params(
            data_dir, output_dir, init_checkpoint=FINE_TUNED_CKPT,
            do_eval=True, do_predict=True, export_dir=export_dir,
        ))
    assert results["global_step"] == 0  # warm start only, nothing restored
    _check_against_golden(output_dir, global_step=0)
    messages = [r.getMessage() for r in caplog.records]
    assert "  Num examples = 4 (3 actual, 1 padding)" in messages
    assert "***** Running prediction*****" in messages

    # The raw-text SavedModel (version 4: the checkpoint's global step),
    # loaded with TensorFlow and tensorflow-text alone, by
    # tf.saved_model.load and by the TF1 session loader (TF Serving's
    # path), gives test_results.tsv's probabilities.
    rows = _real_predict_rows()
    inputs = {"text_a": [r["text_a"] for r in rows],
              "text_b": [r["text_b"] for r in rows]}
    served = serve_in_fresh_process(
        os.path.join(export_dir, "4"), inputs, tmp_path)
    written = _read_test_results(os.path.join(output_dir, "test_results.tsv"))
    for outputs in served.values():
        np.testing.assert_allclose(outputs["probabilities"], written, atol=1e-5)


def test_eval_and_predict_restore_checkpoint_in_output_dir(tmp_path, monkeypatch):
    # The Estimator path: output_dir already holds model.ckpt-4.
    output_dir = tmp_path / "out"
    os.makedirs(output_dir)
    for name in os.listdir(TINY_CLASSIFIER):
        if name.startswith("model.ckpt-4") or name == "checkpoint":
            shutil.copy(os.path.join(TINY_CLASSIFIER, name), output_dir)
    exported = {}

    class FakeExporter:
        @staticmethod
        def export_saved_model(model, export_dir, *args, **kwargs):
            exported.update(args=args, kwargs=kwargs, export_dir=export_dir,
                            output_weights=model.classifier.output_weights.numpy())

    monkeypatch.setattr(run_lib.export, "export_saved_model", FakeExporter.export_saved_model)
    data_dir = _mnli_data_dir(tmp_path / "data")
    run_lib.run(_params(data_dir, output_dir, do_eval=True, do_predict=True,
                        export_dir=str(tmp_path / "export")))
    _check_against_golden(output_dir, global_step=4)
    assert exported["export_dir"] == str(tmp_path / "export")
    assert exported["args"] == (VOCAB, True, 20, MNLI_LABELS, True)
    assert exported["kwargs"] == {
        "preserve_unused_tokens": False, "version": 4,
        "checkpoint": str(output_dir / "model.ckpt-4")}
    np.testing.assert_array_equal(
        exported["output_weights"],
        tf.train.load_checkpoint(FINE_TUNED_CKPT).get_tensor("output_weights"),
    )


def test_bf16_predictions_stay_near_the_golden_ones(tmp_path):
    # Predict under bf16 runs a bfloat16-weight copy of the model (on a
    # oneDNN CPU, through oneDNN's LayerNorm and softmax).
    data_dir = _mnli_data_dir(tmp_path / "data")
    output_dir = tmp_path / "out"
    run_lib.run(_params(data_dir, output_dir, init_checkpoint=FINE_TUNED_CKPT,
                        do_predict=True, precision="bf16"))
    _, golden = _golden()
    probabilities = _read_test_results(os.path.join(output_dir, "test_results.tsv"))
    np.testing.assert_allclose(probabilities, golden["probabilities"][:3], atol=2e-3)
    np.testing.assert_array_equal(
        np.argmax(probabilities, -1), np.argmax(golden["probabilities"][:3], -1)
    )


def test_task_loss_and_metrics_match_reference_model_fn():
    # The golden logits through ClassifierTask give create_model's
    # per-example losses, the mean `loss` and the EVAL-mode metrics.
    sidecar, golden = _golden()
    task = task_lib.ClassifierTask(BertConfig.from_json_file(CONFIG), 3)
    outputs = {"logits": tf.constant(golden["logits"])}
    batch = {
        "label_ids": tf.constant(golden["label_ids"]),
        "is_real_example": tf.constant(golden["is_real_example"]),
    }
    np.testing.assert_allclose(
        classifier_example_loss(outputs["logits"], batch["label_ids"], False),
        golden["per_example_loss"], atol=2e-5,
    )
    expected = sidecar["predict"]["eval_mode_results"]
    np.testing.assert_allclose(task.loss(outputs, batch), expected["loss"], atol=2e-5)
    for name, (numerator, denominator) in task.metrics(outputs, batch).items():
        np.testing.assert_allclose(numerator / denominator, expected[name], atol=2e-5)


def test_num_train_steps_as_the_readme(tmp_path):
    # MRPC: 3668 examples / 32 * 3 epochs -> 343 steps (README's
    # global_step), 10% warmup -> 34.
    data_dir = tmp_path / "MRPC"
    os.makedirs(data_dir)
    rows = [["1", str(i), str(i), "a cat", "a dog"] for i in range(3668)]
    _write_tsv(data_dir / "train.tsv",
               ["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"], rows)
    data = run_lib.validate(_params(data_dir, tmp_path / "out", task_name="mrpc",
                                    do_train=True, num_train_epochs=3.0))
    assert (data.num_train_steps, data.num_warmup_steps) == (343, 34)
    assert data.label_list == ["0", "1"]


def test_input_pipeline_batches(tmp_path):
    examples = [
        examples_lib.InputExample(f"dev-{i}", "the cat sat", "a dog", "1")
        for i in range(5)
    ]
    path = str(tmp_path / "eval.tf_record")
    examples = features.pad_examples_to_batch(examples, 4)
    features.file_based_convert_examples_to_features(
        examples, ["0", "1"], 8, FullTokenizer(VOCAB), path
    )
    # Eval: read once, in order, every batch full, padding flagged.
    eval_fn = input_pipeline.file_based_input_fn_builder(path, 8, False, False, 4)
    batches = list(eval_fn().as_numpy_iterator())
    assert [b["input_ids"].shape for b in batches] == [(4, 8), (4, 8)]
    assert batches[0]["input_ids"].dtype == np.int32
    np.testing.assert_array_equal(
        np.concatenate([b["is_real_example"] for b in batches]),
        [1, 1, 1, 1, 1, 0, 0, 0],
    )
    np.testing.assert_array_equal(batches[0]["input_ids"][0],
                                  [7, 90, 145, 147, 8, 52, 146, 8])
    # Training: repeats, full batches only.
    train_fn = input_pipeline.file_based_input_fn_builder(
        path, 8, True, True, 3, seed=1
    )
    batches = train_fn().take(5).as_numpy_iterator()
    shapes = [b["label_ids"].shape for b in batches]
    assert shapes == [(3,)] * 5


# --- Fine-tuning on a synthetic, learnable pair task -------------------------

FIRST_WORDS = ["cat", "dog", "bird", "man"]
OTHER_WORDS = ["sat", "ran", "read", "play", "sing", "house", "book", "day",
               "night", "good", "bad", "big", "small", "old", "new", "time"]
MRPC_HEADER = ["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"]


def _same_first_word_rows(rng, n):
    """MRPC rows: label "1" iff both sentences start with the same word."""
    rows = []
    for i in range(n):
        first = rng.choice(FIRST_WORDS)
        same = i % 2 == 0
        others = [w for w in FIRST_WORDS if w != first]
        other = first if same else rng.choice(others)
        text_a = " ".join([first] + rng.choices(OTHER_WORDS, k=2))
        text_b = " ".join([other] + rng.choices(OTHER_WORDS, k=2))
        rows.append([str(int(same)), str(2 * i), str(2 * i + 1), text_a, text_b])
    return rows


def _mrpc_data_dir(directory, num_train, num_dev):
    rng = random.Random(0)
    os.makedirs(directory)
    dev = _same_first_word_rows(rng, num_dev)
    train = _same_first_word_rows(rng, num_train)
    _write_tsv(directory / "train.tsv", MRPC_HEADER, train)
    _write_tsv(directory / "dev.tsv", MRPC_HEADER, dev)
    # The test set is the dev set without labels, to check predictions.
    _write_tsv(directory / "test.tsv", ["index"] + MRPC_HEADER[1:],
               [[str(i)] + row[1:] for i, row in enumerate(dev)])
    return [int(row[0]) for row in dev]


def _fine_tune(tmp_path, num_train, epochs, caplog):
    data_dir = tmp_path / "MRPC"
    dev_labels = _mrpc_data_dir(data_dir, num_train, 64)
    params = dict(
        task_name="mrpc", bert_config_file=testdata("tiny_model", "bert_config.json"),
        init_checkpoint=PRETRAINED_CKPT, max_seq_length=12, train_batch_size=32,
        eval_batch_size=32, learning_rate=1e-3, num_train_epochs=epochs,
        iterations_per_loop=32,
    )
    with caplog.at_level("INFO", logger="absl"):
        results = run_lib.run(_params(data_dir, tmp_path / "out", do_train=True,
                                      do_eval=True, **params))
    losses = [float(m.group(1)) for m in (
        re.match(r"step = \d+/\d+, loss = ([\d.]+)", r.getMessage())
        for r in caplog.records) if m]
    return data_dir, dev_labels, params, results, losses


def test_fine_tuning_learns_and_writes_reference_checkpoints(tmp_path, caplog):
    data_dir, dev_labels, params, results, losses = _fine_tune(
        tmp_path, num_train=1024, epochs=6.0, caplog=caplog
    )
    assert results["global_step"] == 192  # int(1024 / 32 * 6)
    # A line after the first step (the rate probe), then at least every
    # 32 steps (iterations_per_loop).
    assert len(losses) >= 7
    assert losses[-1] < losses[0]
    assert results["eval_loss"] < math.log(2) - 0.1
    assert results["eval_accuracy"] >= 0.7  # chance is 0.5

    output_dir = tmp_path / "out"
    prefix = str(output_dir / "model.ckpt-192")
    names = {n for n, _ in tf.train.list_variables(prefix)}
    # Exactly the names of the reference's fine-tuned checkpoint (124), and
    # bert_tf's resume state, under a name no TF1 BERT variable has.
    assert names == {n for n, _ in tf.train.list_variables(FINE_TUNED_CKPT)} | {
        training_state.SEED_STATES
    }
    assert {"output_weights", "output_bias", "output_weights/adam_m",
            "output_bias/adam_v", "global_step"} <= names
    assert tf.train.load_checkpoint(prefix).get_tensor("global_step") == 192

    # A later --do_predict from that output_dir restores the fine-tuned model.
    run_lib.run(_params(data_dir, output_dir, do_predict=True,
                        predict_batch_size=5, **params))
    probabilities = np.array(_read_test_results(output_dir / "test_results.tsv"))
    assert probabilities.shape == (64, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)
    accuracy = np.mean(probabilities.argmax(axis=1) == dev_labels)
    np.testing.assert_allclose(accuracy, results["eval_accuracy"], atol=1e-6)


@pytest.mark.slow
def test_fine_tuning_reaches_95_percent(tmp_path, caplog):
    _, _, _, results, losses = _fine_tune(tmp_path, num_train=2048, epochs=8.0,
                                          caplog=caplog)
    assert results["global_step"] == 512
    assert results["eval_accuracy"] >= 0.95
    assert losses[-1] < 0.5 * losses[0]


# --- STS-B regression ---------------------------------------------------------


def test_rankdata_and_correlations():
    np.testing.assert_array_equal(task_lib.rankdata([10, 30, 20, 20]), [1, 4, 2.5, 2.5])
    # Spearman = 1 - 6 sum(d^2) / (n (n^2 - 1)) without ties: d^2 sums to 4.
    pearson, spearman = task_lib.pearson_and_spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])
    assert pearson == pytest.approx(0.8) and spearman == pytest.approx(0.8)
    # Monotonic but not linear: deviations (-1, 0, 1) and (-4/3, -1/3, 5/3)
    # give r = 3 / sqrt(2 * 14/3); the ranks agree exactly.
    pearson, spearman = task_lib.pearson_and_spearman([1, 2, 3], [1, 2, 4])
    assert pearson == pytest.approx(3 / math.sqrt(28 / 3))
    assert spearman == pytest.approx(1.0)
    # A constant prediction has no correlation.
    assert math.isnan(task_lib.pearson_and_spearman([1, 1, 1], [1, 2, 4])[0])


def test_stsb_regression_eval_and_predict(tmp_path):
    data_dir = tmp_path / "STS-B"
    os.makedirs(data_dir)
    texts = [
        ("the cat sat", "a cat sat", "4.5"),
        ("the dog ran", "a bird sang", "0.5"),
        ("hello world", "hi world", "3.8"),
        ("a man read", "a man read a book", "3.0"),
        ("it was hot", "the sun was hot", "2.0"),
        ("big house", "small book", "0.0"),
    ]
    lead = ["main-captions", "MSRvid", "2012test", "0001", "none", "none"]
    header = ["index", "genre", "filename", "year", "old_index", "source1",
              "source2", "sentence1", "sentence2", "score"]
    _write_tsv(data_dir / "dev.tsv", header,
               [[str(i)] + lead + [a, b, s] for i, (a, b, s) in enumerate(texts)])
    _write_tsv(data_dir / "test.tsv", header[:-1],
               [[str(i)] + lead + [a, b] for i, (a, b, _) in enumerate(texts)])
    output_dir = tmp_path / "out"
    results = run_lib.run(_params(
        data_dir, output_dir, task_name="STS-B", init_checkpoint=PRETRAINED_CKPT,
        bert_config_file=testdata("tiny_model", "bert_config.json"),
        max_seq_length=12, do_eval=True, do_predict=True,
    ))
    _, keys = _read_eval_results(output_dir / "eval_results.txt")
    assert keys == ["eval_loss", "eval_pearson", "eval_spearman", "global_step", "loss"]
    predictions = np.array(_read_test_results(output_dir / "test_results.tsv"))
    assert predictions.shape == (6, 1)  # one score per line
    labels = np.array([float(s) for _, _, s in texts])
    pearson, spearman = task_lib.pearson_and_spearman(predictions[:, 0], labels)
    np.testing.assert_allclose(results["eval_pearson"], pearson, atol=1e-6)
    np.testing.assert_allclose(results["eval_spearman"], spearman, atol=1e-6)
    np.testing.assert_allclose(
        results["eval_loss"], np.mean((predictions[:, 0] - labels) ** 2), rtol=1e-5
    )


# --- Bad input ----------------------------------------------------------------


def _raises_one_line(params, pattern):
    with pytest.raises(UserInputError, match=pattern) as info:
        run_lib.run(params)
    assert "\n" not in str(info.value)


def test_bad_input(tmp_path):
    data_dir = _mnli_data_dir(tmp_path / "data")
    out = tmp_path / "out"
    _raises_one_line(
        _params(data_dir, out),
        re.escape(
            "At least one of `do_train`, `do_eval` or `do_predict' must be True."
        ),
    )
    _raises_one_line(
        _params(data_dir, out, do_eval=True, task_name="glue"),
        r"Task not found: glue \(known tasks: cola, mnli, mrpc, xnli, sst2",
    )
    _raises_one_line(
        _params(data_dir, out, do_eval=True, max_seq_length=128),
        "Cannot use sequence length 128 because the BERT model was only trained "
        "up to sequence length 64",
    )
    _raises_one_line(
        _params(data_dir, out, do_eval=True,
                init_checkpoint="/models/cased_L-12_H-768_A-12/bert_model.ckpt"),
        r"`cased_L-12_H-768_A-12` seems to be a cased model, so you should pass "
        r"in `--do_lower_case=False`",
    )
    _raises_one_line(
        _params(data_dir, out, do_train=True),
        r"Data file not found: .*data/train.tsv \(check --data_dir\)",
    )
    _raises_one_line(
        _params(data_dir, out, do_eval=True, precision="fp8"),
        "--precision='fp8': expected one of auto, fp32, bf16, fp16",
    )
    _raises_one_line(
        _params(tmp_path / "missing", out, do_eval=True),
        r"--data_dir='.*missing': directory not found",
    )
    _raises_one_line(
        _params(data_dir, out, do_predict=True, task_name="xnli"),
        "--do_predict: task 'xnli' has no test set",
    )
    _raises_one_line(
        _params(data_dir, out, do_eval=True,
                vocab_file=testdata("vocab", "uncased_vocab.txt")),
        r"uncased_vocab.txt' has 30522 entries but bert_config.json says "
        r"vocab_size=262",
    )
    _raises_one_line(
        _params(data_dir, out, do_eval=True, export_dir=str(tmp_path / "export")),
        "--export_dir='.*export': nothing to export, --output_dir='.*out' has "
        "no checkpoint, there is no --init_checkpoint and --do_train is off",
    )
    bad_labels = _mnli_data_dir(
        tmp_path / "bad", labels=["neutral", "maybe", "neutral"]
    )
    _raises_one_line(
        _params(bad_labels, out, do_eval=True),
        r"bad/dev_matched.tsv, line 3: label 'maybe' is not one of "
        r"\['contradiction', 'entailment', 'neutral'\]",
    )
    # Nothing was written for any of the failed runs.
    assert not out.exists()
