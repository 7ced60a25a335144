"""TF Hub's preprocessor and encoder SavedModels of a checkpoint.

The encoder's outputs are held against BertModel on the same ids (fp32,
1e-5), the preprocessor's ids against FullTokenizer's features (the
classifier fixtures, made by the reference's convert_single_example).
"""

import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text  # noqa: F401  (the preprocessor's ops)

from bert_tf import feature_extraction
from bert_tf import hub_export
from bert_tf import packing
from bert_tf import serving
from bert_tf.checkpoints import load_tf1_checkpoint
from bert_tf.config import BertConfig
from bert_tf.errors import UserInputError
from bert_tf.graph_tokenizer import GraphTokenizer
from bert_tf.modeling import BertModel
from bert_tf.tokenization import FullTokenizer
from tests.classifier.serving_helpers import serve_in_fresh_process
from tests.conftest import read_jsonl
from tests.conftest import testdata

TINY = testdata("tiny_model")


def _params(tmp_path, **overrides):
    values = dict(
        bert_config_file=os.path.join(TINY, "bert_config.json"),
        vocab_file=os.path.join(TINY, "vocab.txt"),
        init_checkpoint=os.path.join(TINY, "bert_model.ckpt"),
        max_seq_length=16, export_dir=str(tmp_path / "hub"),
    )
    values.update(overrides)
    return feature_extraction.ExtractParams(**values)


def _tiny_bert():
    model = BertModel(BertConfig.from_json_file(os.path.join(TINY, "bert_config.json")))
    load_tf1_checkpoint(model, os.path.join(TINY, "bert_model.ckpt"))
    return model


def _features(tokenizer, pairs, seq_length):
    """FullTokenizer's convert_single_example ids, mask and segments."""
    rows = []
    for text_a, text_b in pairs:
        tokens, segments = packing.tokenize_pair(text_a, text_b, seq_length, tokenizer)
        rows.append(packing.pad_inputs(
            tokenizer.convert_tokens_to_ids(tokens), segments, seq_length))
    return [list(column) for column in zip(*rows)]


def _check_packed(packed, expected):
    for name, rows in zip(("input_word_ids", "input_mask", "input_type_ids"), expected):
        assert packed[name].numpy().tolist() == rows, name


PAIRS = [("The cat sat on the mat.", "It was a good day."),
         ("UNwant\u00e9d, running dogs of the old house", "a man"),
         ("short", "a much longer second text that will be cut here")]


def test_preprocessor_ids_equal_full_tokenizer():
    # The functions the SavedModel holds, called before saving (the slow
    # test loads them).
    vocab_file = os.path.join(TINY, "vocab.txt")
    preprocessor = hub_export.preprocessor_module(
        GraphTokenizer(vocab_file), hub_export.special_tokens_dict(vocab_file), 16)
    tokenizer = FullTokenizer(vocab_file)
    text_a = tf.constant([a for a, _ in PAIRS])
    text_b = tf.constant([b for _, b in PAIRS])
    # (Unsaved, the objects are called through their __call__ attribute.)
    tokenized = preprocessor.tokenize.__call__(text_a)
    assert tokenized.to_list() == [tokenizer.tokenize_to_ids(a) for a, _ in PAIRS]
    packed = preprocessor.bert_pack_inputs.__call__(
        [tokenized, preprocessor.tokenize.__call__(text_b)],
        seq_length=tf.constant(12))
    _check_packed(packed, _features(tokenizer, PAIRS, 12))
    # The root call: single segments, the export's --max_seq_length.
    _check_packed(preprocessor.__call__(text_a),
                  _features(tokenizer, [(a, None) for a, _ in PAIRS], 16))
    special = preprocessor.tokenize.get_special_tokens_dict.__call__()
    special = {k: int(v) for k, v in special.items()}
    vocab = tokenizer.vocab
    assert special == {"vocab_size": len(vocab), "start_of_sequence_id": vocab["[CLS]"],
                       "end_of_segment_id": vocab["[SEP]"], "padding_id": vocab["[PAD]"],
                       "mask_id": vocab["[MASK]"]}


def test_encoder_outputs_equal_bert_model(tmp_path):
    model = _tiny_bert()
    encoder_dir = serving.write_saved_model(
        str(tmp_path / "encoder"), None,
        lambda: (lambda root, signature: (root, {"serving_default": signature}))(
            *hub_export.encoder_module(model)), {})
    tokenizer = FullTokenizer(os.path.join(TINY, "vocab.txt"))
    inputs = dict(zip(("input_word_ids", "input_mask", "input_type_ids"), (
        tf.constant(rows) for rows in _features(tokenizer, PAIRS, 16))))
    encoder = tf.saved_model.load(encoder_dir)
    outputs = encoder(inputs)
    expected = model({"input_ids": inputs["input_word_ids"],
                      "input_mask": inputs["input_mask"],
                      "segment_ids": inputs["input_type_ids"]})
    for name in ("sequence_output", "pooled_output"):
        np.testing.assert_allclose(outputs[name], expected[name], atol=1e-5)
    np.testing.assert_allclose(outputs["default"], expected["pooled_output"], atol=1e-5)
    assert len(outputs["encoder_outputs"]) == 2
    for ours, theirs in zip(outputs["encoder_outputs"], expected["all_encoder_layers"]):
        np.testing.assert_allclose(ours, theirs, atol=1e-5)
    # The Reusable SavedModel API, and each weight stored once.
    assert {v.name for v in encoder.trainable_variables} == {
        v.value.name for v in model.trainable_weights}
    assert list(encoder.regularization_losses) == []
    stored = sum(int(np.prod(shape)) for name, shape in tf.train.list_variables(
        os.path.join(encoder_dir, "variables", "variables"))
        if name != "_CHECKPOINTABLE_OBJECT_GRAPH")
    assert stored == sum(int(np.prod(v.shape)) for v in encoder.variables)


def test_bad_exports_leave_nothing(tmp_path):
    with pytest.raises(UserInputError, match="nothing to export without --init_checkpoint"):
        feature_extraction.extract(_params(tmp_path, init_checkpoint=None))
    with pytest.raises(UserInputError, match="Cannot use sequence length 128"):
        feature_extraction.extract(_params(tmp_path, max_seq_length=128))
    with pytest.raises(UserInputError, match="--layers='-1,5': layer index 5"):
        feature_extraction.extract(_params(
            tmp_path, layers="-1,5", input_file=os.path.join(TINY, "vocab.txt"),
            output_file=str(tmp_path / "out.jsonl")))
    with pytest.raises(UserInputError, match="--input_file=None: file not found"):
        feature_extraction.extract(_params(tmp_path, export_dir=None))
    assert os.listdir(tmp_path) == []
    # The classifier's checkpoint is at global step 4: version 4, which
    # exists for the encoder. Refused before the preprocessor is written.
    base = tmp_path / "hub"
    os.makedirs(base / "encoder" / "4")
    (base / "encoder" / "4" / "saved_model.pb").write_text("")
    with pytest.raises(UserInputError, match="encoder/4' already exists and is not empty"):
        feature_extraction.extract(_params(
            tmp_path, init_checkpoint=testdata("tiny_classifier", "model.ckpt-4")))
    assert os.listdir(base) == ["encoder"]


# About 80 s: extract_features --export_dir without --input_file, the
# realistic vocab's preprocessor against the reference's classifier
# features, and both SavedModels loaded both ways in a fresh process (TF
# Serving's path: the session loader, by tensor names).
@pytest.mark.slow
def test_hub_models_serve_in_a_fresh_process(tmp_path):
    assert feature_extraction.extract(_params(
        tmp_path, vocab_file=testdata("vocab", "uncased_vocab.txt"),
        max_seq_length=32)) == 0
    # bert_model.ckpt has global_step 0: the next free version, 1.
    assert os.listdir(tmp_path / "hub" / "encoder") == ["1"]
    preprocessor_dir, encoder_dir = (
        str(tmp_path / "hub" / name / "1") for name in ("preprocessor", "encoder"))
    rows = read_jsonl(testdata("classifier", "cola_features.jsonl"))
    preprocessed = serve_in_fresh_process(
        preprocessor_dir, {"sentences": [r["text_a"] for r in rows]}, tmp_path)
    for outputs in preprocessed.values():
        for ours, theirs in (("input_word_ids", "input_ids"), ("input_mask", "input_mask"),
                             ("input_type_ids", "segment_ids")):
            assert outputs[ours] == [r[theirs] for r in rows], ours
    preprocessor = tf.saved_model.load(preprocessor_dir)
    rows = read_jsonl(testdata("classifier", "mrpc_features.jsonl"))
    packed = preprocessor.bert_pack_inputs([
        preprocessor.tokenize(tf.constant([r["text_a"] for r in rows])),
        preprocessor.tokenize(tf.constant([r["text_b"] or "" for r in rows]))])
    assert packed["input_word_ids"].numpy().tolist() == [r["input_ids"] for r in rows]
    assert packed["input_type_ids"].numpy().tolist() == [r["segment_ids"] for r in rows]

    inputs = {k: (np.array(v) % 262).tolist() if k == "input_word_ids" else v
              for k, v in preprocessed["tf1"].items()}
    encoded = serve_in_fresh_process(encoder_dir, inputs, tmp_path)
    expected = _tiny_bert()({"input_ids": np.array(inputs["input_word_ids"], "int32"),
                             "input_mask": np.array(inputs["input_mask"], "int32"),
                             "segment_ids": np.array(inputs["input_type_ids"], "int32")})
    for outputs in encoded.values():
        np.testing.assert_allclose(outputs["pooled_output"], expected["pooled_output"],
                                   atol=1e-5)
        for i, layer in enumerate(expected["all_encoder_layers"]):
            np.testing.assert_allclose(outputs[f"encoder_outputs_{i}"], layer, atol=1e-5)
