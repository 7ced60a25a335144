import itertools
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from bert_tf import serving
from bert_tf.checkpoints import load_tf1_checkpoint
from bert_tf.classifier import export
from bert_tf.classifier import run as run_lib
from bert_tf.classifier.model import BertClassifier
from bert_tf.config import BertConfig
from bert_tf.errors import UserInputError
from bert_tf.graph_tokenizer import GraphTokenizer
from tests.classifier.serving_helpers import serve_in_fresh_process
from tests.classifier.serving_helpers import serve_tf1
from tests.conftest import runner_params
from tests.conftest import testdata

LABELS = ["contradiction", "entailment", "neutral"]


def _truncate_like_the_original(len_a, len_b, max_length):
    a, b = list(range(len_a)), list(range(len_b))
    while len(a) + len(b) > max_length:
        (a if len(a) > len(b) else b).pop()
    return len(a), len(b)


def test_pair_lengths_closed_form_equals_the_original_loop():
    cases = list(itertools.product(range(14), range(14), range(1, 12)))
    len_a, len_b, max_length = (tf.constant(x) for x in zip(*cases))
    got_a, got_b = export.pair_lengths(len_a, len_b, max_length)
    expected = [_truncate_like_the_original(*case) for case in cases]
    assert list(zip(got_a.numpy().tolist(), got_b.numpy().tolist())) == expected


@pytest.mark.parametrize("task", ["mrpc", "cola", "mnli"])
def test_in_graph_features_equal_convert_single_example(task):
    # The fixture rows include truncated pairs, long singles and an empty
    # text_b (single-sentence layout).
    vocab = testdata("vocab", "uncased_vocab.txt")
    with open(testdata("classifier", f"{task}_features.jsonl")) as f:
        rows = [json.loads(line) for line in f.read().split("\n") if line]
    graph_tokenizer = _graph_tokenizer(vocab)
    text_b = [r["text_b"] or "" for r in rows]
    built = export.build_features(
        graph_tokenizer(tf.constant([r["text_a"] for r in rows])),
        graph_tokenizer(tf.constant(text_b)) if any(text_b) else None,
        cls_id=101, sep_id=102, max_seq_length=32,
    )
    for key in ("input_ids", "input_mask", "segment_ids"):
        assert built[key].numpy().tolist() == [r[key] for r in rows], key


_TOKENIZERS = {}


def _graph_tokenizer(vocab):
    if vocab not in _TOKENIZERS:
        _TOKENIZERS[vocab] = GraphTokenizer(vocab, do_lower_case=True)
    return _TOKENIZERS[vocab]


def _tiny_classifier():
    config = BertConfig.from_json_file(testdata("tiny_classifier", "bert_config.json"))
    model = BertClassifier(config, num_labels=3)
    load_tf1_checkpoint(model, testdata("tiny_classifier", "model.ckpt-4"))
    return model


def _golden_rows():
    """The real predict rows and their golden probabilities."""
    golden = np.load(testdata("tiny_classifier", "golden_outputs.npz"))
    with open(testdata("tiny_classifier", "golden_outputs.json")) as f:
        rows = [
            e for e in json.load(f)["predict"]["examples"]
            if not e["padding_example"]
        ]
    inputs = {"text_a": [r["text_a"] for r in rows],
              "text_b": [r["text_b"] for r in rows]}
    return inputs, golden["probabilities"][: len(rows)]


def _export(base, **kwargs):
    return export.export_saved_model(
        _tiny_classifier(), str(base), testdata("tiny_model", "vocab.txt"),
        True, 20, LABELS, True, **kwargs,
    )


def _stored_values(export_dir):
    """How many numbers the SavedModel's variables file holds."""
    return sum(
        int(np.prod(shape))
        for name, shape in tf.train.list_variables(
            os.path.join(export_dir, "variables", "variables"))
        if name != "_CHECKPOINTABLE_OBJECT_GRAPH"
    )


def test_export_serves_through_the_session_loader(tmp_path):
    # TF Serving's path: graph mode, variables restored by their saved
    # names. Keras 3 variables used to leave them unrestored ("Could not
    # find variable pooler/kernel").
    inputs, probabilities = _golden_rows()
    path = _export(tmp_path / "export", version=4, checkpoint="ckpt-4")
    assert path == str(tmp_path / "export" / "4")
    assert os.listdir(tmp_path / "export") == ["4"]  # no temporary left
    with open(os.path.join(path, "assets", "export_info.json")) as f:
        info = json.load(f)
    assert (info["precision"], info["inputs"], info["checkpoint"]) == (
        "fp32", ["text_a", "text_b"], "ckpt-4")
    # Each weight stored once (not also under the Keras wrappers).
    assert _stored_values(path) == _tiny_classifier().count_params() == 25293

    served = serve_tf1(path, inputs)
    np.testing.assert_allclose(served["probabilities"], probabilities, atol=1e-5)
    assert served["label"] == [LABELS[i] for i in np.argmax(probabilities, -1)]


def test_export_refuses_an_existing_version(tmp_path):
    base = tmp_path / "export"
    os.makedirs(base / "7")
    (base / "7" / "saved_model.pb").write_text("served now")
    with pytest.raises(
        UserInputError,
        match=r"version directory '.*export/7' already exists and is not empty",
    ):
        _export(base, version=7)
    assert sorted(os.listdir(base)) == ["7"]
    (tmp_path / "file").write_text("")
    with pytest.raises(UserInputError, match="is a file, expected a directory"):
        _export(tmp_path / "file")
    # Nothing is created when the export fails.
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("[PAD]\n[UNK]\n[SEP]\nthe\n")
    with pytest.raises(UserInputError, match=r"vocab.txt' has no \[CLS\] line"):
        export.export_saved_model(
            _tiny_classifier(), str(tmp_path / "new"), str(vocab), True, 20,
            LABELS, True)
    assert not (tmp_path / "new").exists()


def test_versions_count_up_from_one():
    assert serving.export_version(testdata("tiny_classifier", "model.ckpt-4")) == 4
    # Step 0 (a pre-trained checkpoint) takes the next free version.
    assert serving.export_version(testdata("tiny_model", "bert_model.ckpt")) is None


# About 15 s: a second Python process that imports TensorFlow, and
# saved_model_cli.
@pytest.mark.slow
def test_exported_model_serves_both_ways_in_a_fresh_process(tmp_path):
    inputs, probabilities = _golden_rows()
    path = _export(tmp_path / "export")
    assert path == str(tmp_path / "export" / "1")
    # No XLA-compiled function: TF Serving runs those only with
    # --xla_cpu_compilation_enabled.
    saved = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        saved.ParseFromString(f.read())
    functions = saved.meta_graphs[0].graph_def.library.function
    assert functions and not [
        f.signature.name for f in functions if f.attr["_XlaMustCompile"].b
    ]

    served = serve_in_fresh_process(path, inputs, tmp_path)
    for outputs in (served["tf2"], served["tf1"]):
        np.testing.assert_allclose(outputs["probabilities"], probabilities, atol=1e-5)
        assert outputs["label"] == [
            LABELS[i] for i in np.argmax(probabilities, -1)]

    shown = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "saved_model_cli"),
         "show", "--all", "--dir", path],
        capture_output=True, text=True, timeout=300, cwd=str(tmp_path),
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    for line in ("signature_def['serving_default']:", "inputs['text_a'] tensor_info:",
                 "inputs['text_b'] tensor_info:", "outputs['probabilities'] tensor_info:",
                 "Method name is: tensorflow/serving/predict"):
        assert line in shown.stdout


def test_runner_refuses_to_export_a_checkpoint_without_a_classifier(tmp_path):
    # A pre-trained checkpoint has no output_weights: nothing fine-tuned
    # to serve. Refused before any work, nothing written.
    params = runner_params(run_lib.ClassifierParams, dict(
        data_dir=str(tmp_path / "data"), task_name="mnli",
        bert_config_file=testdata("tiny_classifier", "bert_config.json"),
        vocab_file=testdata("tiny_model", "vocab.txt"), max_seq_length=20,
        output_dir=str(tmp_path / "out"), do_eval=True,
        init_checkpoint=testdata("tiny_model", "bert_model.ckpt"),
        export_dir=str(tmp_path / "export")), {})
    with pytest.raises(UserInputError, match=(
            r"--export_dir='.*export': '.*bert_model.ckpt' has no classifier "
            r"\(no output_weights\): it is not fine-tuned")):
        run_lib.run(params)
    assert os.listdir(tmp_path) == []
