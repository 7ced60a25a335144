import itertools
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from bert_tf.checkpoints import load_tf1_checkpoint
from bert_tf.classifier import export
from bert_tf.classifier.model import BertClassifier
from bert_tf.config import BertConfig
from bert_tf.graph_tokenizer import GraphTokenizer
from tests.classifier.serving_helpers import serve_in_fresh_process
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


# About 10 s: a second Python process that imports TensorFlow.
@pytest.mark.slow
def test_exported_model_reloads_in_a_fresh_process(tmp_path):
    golden = np.load(testdata("tiny_classifier", "golden_outputs.npz"))
    with open(testdata("tiny_classifier", "golden_outputs.json")) as f:
        rows = [
            e for e in json.load(f)["predict"]["examples"] if not e["padding_example"]
        ]
    config = BertConfig.from_json_file(testdata("tiny_classifier", "bert_config.json"))
    model = BertClassifier(config, num_labels=3)
    load_tf1_checkpoint(model, testdata("tiny_classifier", "model.ckpt-4"))
    export_dir = str(tmp_path / "export")
    export.export_saved_model(
        model, export_dir, testdata("tiny_model", "vocab.txt"), True, 20, LABELS, True
    )
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]
    # No XLA-compiled function: TF Serving runs those only with
    # --xla_cpu_compilation_enabled.
    saved = saved_model_pb2.SavedModel()
    with open(os.path.join(export_dir, "saved_model.pb"), "rb") as f:
        saved.ParseFromString(f.read())
    functions = saved.meta_graphs[0].graph_def.library.function
    assert functions and not [
        f.signature.name for f in functions if f.attr["_XlaMustCompile"].b
    ]

    texts = [[r["text_a"], r["text_b"]] for r in rows]
    outputs = serve_in_fresh_process(export_dir, texts, tmp_path)
    np.testing.assert_allclose(
        outputs["probabilities"], golden["probabilities"][: len(rows)], atol=1e-5
    )
    assert outputs["label"] == [
        LABELS[i] for i in np.argmax(golden["probabilities"][: len(rows)], -1)
    ]
