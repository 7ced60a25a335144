"""convert_checkpoint's library on the tiny fixtures: both layouts, every head.

Each case starts from a TF1 checkpoint of Google's scripts (or a subset of
one), converts it to Hugging Face's layout and back, then the Hugging Face
directory to TF1 and back again: every tensor must come back byte for byte.
The Hugging Face names are checked against transformers' module layout,
written out here independently of `hf_names`.
"""

import collections
import json
import os

import ml_dtypes
import numpy as np
import pytest
import tensorflow as tf

from bert_tf.checkpoints import load_tf1_checkpoint
from bert_tf.config import BertConfig
from bert_tf.modeling import BertPretrainingModel
from tests.checkpoints.hf_helpers import TINY_CLASSIFIER
from tests.checkpoints.hf_helpers import TINY_PRETRAINING
from tests.checkpoints.hf_helpers import TINY_SQUAD
from tests.checkpoints.hf_helpers import assert_same_tensors
from tests.checkpoints.hf_helpers import copy_hf_dir
from tests.checkpoints.hf_helpers import hf_tensors
from tests.checkpoints.hf_helpers import tf1_tensors
from tests.checkpoints.hf_helpers import tiny_subset
from tests.checkpoints.hf_helpers import to_hf
from tests.checkpoints.hf_helpers import to_tf1

POOLER = ("bert/pooler/dense/bias", "bert/pooler/dense/kernel")
Case = collections.namedtuple("Case", "source architecture dropped")


def _source(name, tmp_path):
    """The TF1 checkpoint of a case: the fixtures, or subsets of tiny_model."""
    if name == "pretraining":
        return TINY_PRETRAINING
    if name == "classifier":
        return TINY_CLASSIFIER
    if name == "squad":
        return TINY_SQUAD
    keep = {
        "encoder": lambda n: n.startswith("bert/"),
        "masked_lm": lambda n: n.startswith(("bert/", "cls/predictions/")),
        "next_sentence": lambda n: n.startswith(("bert/", "cls/seq_relationship/")),
    }[name]
    return tiny_subset(str(tmp_path / "source"), keep)


CASES = {
    # name: (transformers class, TF1 tensors with no Hugging Face place)
    "encoder": ("BertModel", ()),
    "pretraining": ("BertForPreTraining", ()),
    "masked_lm": ("BertForMaskedLM", POOLER),
    "next_sentence": ("BertForNextSentencePrediction", ()),
    "classifier": ("BertForSequenceClassification", ()),
    "squad": ("BertForQuestionAnswering", POOLER),
}


def _is_training_state(name):
    return name == "global_step" or name.endswith(("/adam_m", "/adam_v"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_round_trips_are_byte_identical(name, tmp_path):
    architecture, dropped = CASES[name]
    source = _source(name, tmp_path)
    hf = to_hf(source, tmp_path / "hf")
    assert hf.architecture == architecture
    original = tf1_tensors(source)
    weights = {
        n: v for n, v in original.items()
        if not _is_training_state(n) and n not in dropped
    }
    assert sorted(n for n, _ in hf.skipped) == sorted(set(original) - set(weights))

    # TF1 -> HF -> TF1
    tf1 = to_tf1(tmp_path / "hf", tmp_path / "tf1")
    assert tf1.skipped == []
    assert_same_tensors(weights, tf1_tensors(str(tmp_path / "tf1")))
    # HF -> TF1 -> HF
    to_hf(str(tmp_path / "tf1" / "bert_model.ckpt"), tmp_path / "hf_again")
    for file in ("config.json", "tokenizer_config.json", "vocab.txt"):
        with open(tmp_path / "hf" / file, "rb") as a:
            with open(tmp_path / "hf_again" / file, "rb") as b:
                assert a.read() == b.read(), file
    assert_same_tensors(
        hf_tensors(str(tmp_path / "hf" / "model.safetensors")),
        hf_tensors(str(tmp_path / "hf_again" / "model.safetensors")),
    )


def _transformers_keys(prefix, layers, hidden, intermediate, vocab, positions):
    """{key: shape} of transformers' BertModel modules, [out, in] Linears."""
    keys = {
        f"{prefix}embeddings.word_embeddings.weight": (vocab, hidden),
        f"{prefix}embeddings.position_embeddings.weight": (positions, hidden),
        f"{prefix}embeddings.token_type_embeddings.weight": (2, hidden),
        f"{prefix}embeddings.LayerNorm.weight": (hidden,),
        f"{prefix}embeddings.LayerNorm.bias": (hidden,),
    }
    for i in range(layers):
        layer = f"{prefix}encoder.layer.{i}."
        for linear, out, inp in [
            ("attention.self.query", hidden, hidden),
            ("attention.self.key", hidden, hidden),
            ("attention.self.value", hidden, hidden),
            ("attention.output.dense", hidden, hidden),
            ("intermediate.dense", intermediate, hidden),
            ("output.dense", hidden, intermediate),
        ]:
            keys[layer + linear + ".weight"] = (out, inp)
            keys[layer + linear + ".bias"] = (out,)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            keys[layer + norm + ".weight"] = (hidden,)
            keys[layer + norm + ".bias"] = (hidden,)
    return keys


@pytest.fixture(scope="module")
def hf_files(tmp_path_factory):
    """{case: Hugging Face directory} for pretraining, classifier, SQuAD."""
    root = tmp_path_factory.mktemp("hf")
    sources = {"pretraining": TINY_PRETRAINING, "classifier": TINY_CLASSIFIER}
    sources["squad"] = TINY_SQUAD
    for name, source in sources.items():
        to_hf(source, root / name)
    return {name: root / name for name in sources}


def test_hugging_face_names_shapes_and_config(hf_files):
    tensors = hf_tensors(str(hf_files["pretraining"] / "model.safetensors"))
    expected = _transformers_keys("bert.", 2, 32, 37, 262, 64)
    expected.update({
        "bert.pooler.dense.weight": (32, 32),
        "bert.pooler.dense.bias": (32,),
        "cls.predictions.transform.dense.weight": (32, 32),
        "cls.predictions.transform.dense.bias": (32,),
        "cls.predictions.transform.LayerNorm.weight": (32,),
        "cls.predictions.transform.LayerNorm.bias": (32,),
        "cls.predictions.bias": (262,),
        "cls.seq_relationship.weight": (2, 32),
        "cls.seq_relationship.bias": (2,),
    })
    assert {k: v.shape for k, v in tensors.items()} == expected
    original = tf1_tensors(TINY_PRETRAINING)
    np.testing.assert_array_equal(
        tensors["bert.encoder.layer.1.intermediate.dense.weight"],
        original["bert/encoder/layer_1/intermediate/dense/kernel"].T,
    )
    np.testing.assert_array_equal(
        tensors["cls.seq_relationship.weight"],
        original["cls/seq_relationship/output_weights"],
    )
    with open(hf_files["pretraining"] / "config.json") as f:
        config = json.load(f)
    assert config == {
        "architectures": ["BertForPreTraining"], "model_type": "bert",
        "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu_new",
        "hidden_dropout_prob": 0.1, "hidden_size": 32,
        "initializer_range": 0.02, "intermediate_size": 37,
        "layer_norm_eps": 1e-12, "max_position_embeddings": 64,
        "num_attention_heads": 4, "num_hidden_layers": 2, "pad_token_id": 0,
        "position_embedding_type": "absolute", "type_vocab_size": 2,
        "vocab_size": 262,
    }


def test_classifier_and_squad_heads_keep_the_originals_layout(hf_files):
    classifier = hf_tensors(str(hf_files["classifier"] / "model.safetensors"))
    original = tf1_tensors(TINY_CLASSIFIER)
    np.testing.assert_array_equal(
        classifier["classifier.weight"], original["output_weights"]
    )  # [num_labels, H] in both
    assert classifier["classifier.bias"].shape == (3,)
    with open(hf_files["classifier"] / "config.json") as f:
        config = json.load(f)
    assert config["id2label"] == {"0": "LABEL_0", "1": "LABEL_1", "2": "LABEL_2"}
    squad = hf_tensors(str(hf_files["squad"] / "model.safetensors"))
    np.testing.assert_array_equal(
        squad["qa_outputs.weight"], tf1_tensors(TINY_SQUAD)["cls/squad/output_weights"]
    )  # row 0 start, row 1 end, in both
    assert "bert.pooler.dense.weight" not in squad


def test_buffers_and_tied_copies_are_checked_and_skipped(hf_files, tmp_path):
    tensors = hf_tensors(str(hf_files["pretraining"] / "model.safetensors"))
    with_extras = dict(tensors)
    with_extras["bert.embeddings.position_ids"] = np.arange(64)[None]
    with_extras["cls.predictions.decoder.weight"] = tensors[
        "bert.embeddings.word_embeddings.weight"
    ]
    with_extras["cls.predictions.decoder.bias"] = tensors["cls.predictions.bias"]
    source = copy_hf_dir(hf_files["pretraining"], tmp_path / "old_style", with_extras)
    report = to_tf1(source, tmp_path / "tf1")
    assert [name for name, _ in report.skipped] == [
        "bert.embeddings.position_ids",
        "cls.predictions.decoder.weight",
        "cls.predictions.decoder.bias",
    ]
    expected = {
        n: v for n, v in tf1_tensors(TINY_PRETRAINING).items() if n != "global_step"
    }
    assert_same_tensors(expected, tf1_tensors(str(tmp_path / "tf1")))
    with open(tmp_path / "tf1" / "conversion.txt") as f:
        notes = f.read()
    assert "Skipped bert.embeddings.position_ids: a buffer, not a weight" in notes
    assert "do_lower_case=True (tokenizer_config.json)" in notes


def test_bfloat16_weights_are_widened_exactly(hf_files, tmp_path):
    tensors = hf_tensors(str(hf_files["classifier"] / "model.safetensors"))
    bf16 = {k: v.astype(ml_dtypes.bfloat16) for k, v in tensors.items()}
    source = copy_hf_dir(hf_files["classifier"], tmp_path / "bf16", bf16)
    report = to_tf1(source, tmp_path / "tf1")
    assert f"{len(bf16)} bfloat16/float16 tensors widened to float32" in report.notes
    converted = tf1_tensors(str(tmp_path / "tf1" / "bert_model.ckpt"))
    kernel = converted["bert/encoder/layer_0/attention/self/query/kernel"]
    assert kernel.dtype == np.float32
    np.testing.assert_array_equal(
        kernel,
        bf16["bert.encoder.layer.0.attention.self.query.weight"].astype(np.float32).T,
    )


def test_do_lower_case_and_hidden_act_are_written_down(tmp_path):
    to_hf(TINY_PRETRAINING, tmp_path / "hf", do_lower_case=False)
    with open(tmp_path / "hf" / "tokenizer_config.json") as f:
        settings = json.load(f)
    assert settings["do_lower_case"] is False
    assert settings["tokenizer_class"] == "BertTokenizer"
    assert settings["strip_accents"] is None
    report = to_tf1(tmp_path / "hf", tmp_path / "tf1")
    assert report.notes[:2] == [
        "do_lower_case=False (tokenizer_config.json): run the scripts with "
        "--do_lower_case=False",
        'hidden_act: config.json\'s "gelu_new" is written as "gelu", the same '
        "function",
    ]
    with open(tmp_path / "tf1" / "bert_config.json") as f:
        assert json.load(f)["hidden_act"] == "gelu"
    assert sorted(os.listdir(tmp_path / "tf1")) == [
        "bert_config.json",
        "bert_model.ckpt.data-00000-of-00001",
        "bert_model.ckpt.index",
        "conversion.txt",
        "vocab.txt",
    ]


def test_tokenizer_settings_without_or_beyond_do_lower_case(hf_files, tmp_path):
    source = copy_hf_dir(hf_files["pretraining"], tmp_path / "source")
    os.remove(source / "tokenizer_config.json")
    report = to_tf1(source, tmp_path / "default")
    assert report.notes[0] == (
        "do_lower_case=True (BertTokenizer's default, no tokenizer_config.json): "
        "run the scripts with --do_lower_case=True"
    )
    (source / "tokenizer_config.json").write_text(json.dumps({
        "do_lower_case": True, "strip_accents": False,
        "tokenizer_class": "BertJapaneseTokenizer",
    }))
    report = to_tf1(source, tmp_path / "japanese")
    assert report.notes[2:] == [
        "Tokenizer: tokenizer_class is BertJapaneseTokenizer, not BertTokenizer",
        "Tokenizer: strip_accents=False with do_lower_case=True; the original "
        "strips accents exactly when it lower-cases",
    ]


def test_converted_checkpoint_loads_strictly(tmp_path):
    to_hf(TINY_PRETRAINING, tmp_path / "hf")
    to_tf1(tmp_path / "hf", tmp_path / "tf1")
    config = BertConfig.from_json_file(str(tmp_path / "tf1" / "bert_config.json"))
    report = load_tf1_checkpoint(
        BertPretrainingModel(config), str(tmp_path / "tf1")
    )
    assert report.unused == [] and len(report.assigned) == 46



def test_paths_through_tf_io_gfile(tmp_path):
    """ram://, TF's in-memory file system, stands for gs:// and the like.

    (TF's checkpoint reader takes a ram:// prefix for a directory, so the
    TF1 side is read from local files.)
    """
    remote = f"ram://{tmp_path.name}"
    to_hf(TINY_PRETRAINING, f"{remote}/hf")
    assert sorted(tf.io.gfile.listdir(f"{remote}/hf")) == [
        "config.json", "conversion.txt", "model.safetensors",
        "tokenizer_config.json", "vocab.txt",
    ]
    to_tf1(f"{remote}/hf", tmp_path / "tf1")
    expected = tf1_tensors(TINY_PRETRAINING)
    del expected["global_step"]
    assert_same_tensors(expected, tf1_tensors(str(tmp_path / "tf1")))
    to_tf1(f"{remote}/hf", f"{remote}/tf1")
    local = sorted(os.listdir(tmp_path / "tf1"))
    assert sorted(tf.io.gfile.listdir(f"{remote}/tf1")) == local
    assert [n for n in tf.io.gfile.listdir(remote) if ".tmp-" in n] == []


def test_conversion_notes_count_optimizer_state(tmp_path):
    to_hf(TINY_CLASSIFIER, tmp_path / "hf")
    with open(tmp_path / "hf" / "conversion.txt") as f:
        lines = f.read().splitlines()
    assert lines == [
        "Converted by bert_tf's convert_checkpoint.py.",
        f"Source: TF1 checkpoint {TINY_CLASSIFIER} (BertForSequenceClassification).",
        "Tensors converted: 41.",
        "do_lower_case=True (--do_lower_case), written to tokenizer_config.json",
        'hidden_act: bert_config.json\'s "gelu" is written as "gelu_new", the '
        "same function",
        "label names are not in TF1 checkpoints: config.json calls them LABEL_0, "
        "LABEL_1, ... in the order of the processor's get_labels()",
        "global_step 4 (transformers keeps no step)",
        "Skipped 83 tensors, training state (optimizer slots, global_step): "
        "bert/embeddings/LayerNorm/beta/adam_m, "
        "bert/embeddings/LayerNorm/beta/adam_v, "
        "bert/embeddings/LayerNorm/gamma/adam_m (+80 more)",
    ]
