"""Bad input to the converter: one line naming the problem, nothing written."""

import builtins
import os

import numpy as np
import pytest

from bert_tf.checkpoints import hf_config
from bert_tf.checkpoints import hf_conversion
from bert_tf.config import BertConfig
from bert_tf.errors import UserInputError
from tests.checkpoints.hf_helpers import TINY_CLASSIFIER
from tests.checkpoints.hf_helpers import TINY_CONFIG
from tests.checkpoints.hf_helpers import TINY_PRETRAINING
from tests.checkpoints.hf_helpers import TINY_SQUAD
from tests.checkpoints.hf_helpers import copy_hf_dir
from tests.checkpoints.hf_helpers import hf_tensors
from tests.checkpoints.hf_helpers import tf1_tensors
from tests.checkpoints.hf_helpers import tiny_subset
from tests.checkpoints.hf_helpers import to_hf
from tests.checkpoints.hf_helpers import to_tf1
from tests.checkpoints.hf_helpers import write_tf1


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory):
    """tiny_model's pretraining checkpoint as a Hugging Face directory."""
    directory = tmp_path_factory.mktemp("hf") / "pretraining"
    to_hf(TINY_PRETRAINING, directory)
    return directory


def _refused(convert, output_dir, match):
    """Runs `convert`; checks the one-line error and that nothing appeared."""
    with pytest.raises(UserInputError, match=match) as raised:
        convert()
    assert "\n" not in str(raised.value)
    assert not os.path.exists(output_dir)
    parent = os.path.dirname(output_dir)
    assert not [n for n in os.listdir(parent) if ".tmp-" in n]
    return str(raised.value)


# (test id, tensors changed or None, config.json changes, expected message)
HF_CASES = [
    (
        "roberta_keys",
        lambda t: {k.replace("bert.", "roberta."): v for k, v in t.items()},
        {},
        r"model.safetensors holds 39 tensor\(s\) that are not BERT's or have no "
        r"name in the other layout: roberta.embeddings.LayerNorm.bias, ",
    ),
    ("roberta_config", None, {"model_type": "roberta"},
     r"model_type is 'roberta'; only BERT \('bert'\) converts"),
    ("albert_embeddings", None, {"model_type": "bert", "embedding_size": 16},
     r"embedding_size 16 != hidden_size 32 \(factorised embeddings, as ALBERT's\)"),
    ("layer_norm_eps", None, {"layer_norm_eps": 1e-5},
     r"layer_norm_eps is 1e-05; Google's BERT computes only 1e-12"),
    ("relative_positions", None, {"position_embedding_type": "relative_key"},
     r"position_embedding_type is 'relative_key'"),
    ("decoder", None, {"is_decoder": True}, r"is_decoder is True"),
    ("hidden_act", None, {"hidden_act": "silu"},
     r"hidden_act 'silu' has no bert_config.json equivalent"),
    ("multiple_choice", None, {"architectures": ["BertForMultipleChoice"]},
     r"architectures is BertForMultipleChoice, a multiple-choice scorer"),
    ("missing_tensor",
     lambda t: {k: v for k, v in t.items() if "layer.1.output.dense.bias" not in k},
     {}, r"lacks 1 tensor\(s\) that config.json implies: "
         r"bert.encoder.layer.1.output.dense.bias$"),
    ("wrong_intermediate", None, {"intermediate_size": 38},
     r"model.safetensors: bert.encoder.layer.0.intermediate.dense.weight has "
     r"shape \[37, 32\] but config.json implies \[38, 32\]$"),
    ("untied_decoder",
     lambda t: {**t, "cls.predictions.decoder.weight": np.zeros((262, 32), "f4")},
     {}, r"cls.predictions.decoder.weight differs from "
         r"bert.embeddings.word_embeddings.weight"),
    ("integer_weights",
     lambda t: {**t, "cls.predictions.bias": np.zeros(262, "int32")},
     {}, r"cls.predictions.bias is I32; expected one of F32, F16, BF16"),
]


@pytest.mark.parametrize(
    "change_tensors, config, match", [c[1:] for c in HF_CASES],
    ids=[c[0] for c in HF_CASES],
)
def test_bad_hugging_face_directories(hf_dir, tmp_path, change_tensors, config, match):
    tensors = None
    if change_tensors is not None:
        tensors = change_tensors(hf_tensors(str(hf_dir / "model.safetensors")))
    source = copy_hf_dir(hf_dir, tmp_path / "source", tensors, **config)
    output = str(tmp_path / "out")
    _refused(lambda: to_tf1(source, output), output, match)


def test_token_classifier_is_refused(tmp_path):
    """classifier.* without a pooler: a per-token head, not Google's."""
    to_hf(TINY_CLASSIFIER, tmp_path / "hf")
    tensors = hf_tensors(str(tmp_path / "hf" / "model.safetensors"))
    tensors = {k: v for k, v in tensors.items() if "pooler" not in k}
    source = copy_hf_dir(tmp_path / "hf", tmp_path / "token", tensors)
    output = str(tmp_path / "out")
    _refused(lambda: to_tf1(source, output), output, "BertForTokenClassification")


def test_vocab_size_mismatches(hf_dir, tmp_path):
    with open(hf_dir / "vocab.txt") as f:
        lines = f.read().splitlines()
    source = copy_hf_dir(hf_dir, tmp_path / "short_vocab")
    with open(source / "vocab.txt", "w") as f:
        f.write("\n".join(lines[:-1]) + "\n")
    output = str(tmp_path / "out")
    _refused(
        lambda: to_tf1(source, output), output,
        r"^--hf_dir: .*vocab.txt has 261 lines but config.json says "
        r"vocab_size=262; they must belong to the same model$",
    )
    # vocab.txt and config.json agree, the weights do not.
    with open(source / "vocab.txt", "a") as f:
        f.write(lines[-1] + "\n[extra]\n")
    source = copy_hf_dir(source, tmp_path / "bigger", vocab_size=263)
    _refused(
        lambda: to_tf1(source, output), output,
        r"^vocab_size mismatch: config.json says 263 but .*model.safetensors's "
        r"bert.embeddings.word_embeddings.weight has 262 rows$",
    )


def test_missing_files(hf_dir, tmp_path):
    output = str(tmp_path / "out")
    for missing in ("config.json", "vocab.txt", "model.safetensors"):
        source = copy_hf_dir(hf_dir, tmp_path / f"no_{missing}")
        os.remove(source / missing)
        _refused(
            lambda: to_tf1(source, output), output,
            f"^--hf_dir={source}: no {missing} in this directory$",
        )
    os.rename(hf_dir / "model.safetensors", tmp_path / "moved")
    try:
        (hf_dir / "pytorch_model.bin").write_bytes(b"")
        _refused(
            lambda: to_tf1(hf_dir, output), output,
            r"no model.safetensors \(pytorch_model.bin needs PyTorch; save the "
            r"model with transformers' save_pretrained",
        )
    finally:
        os.remove(hf_dir / "pytorch_model.bin")
        os.rename(tmp_path / "moved", hf_dir / "model.safetensors")


def test_unreadable_safetensors(hf_dir, tmp_path):
    source = copy_hf_dir(hf_dir, tmp_path / "garbage")
    (source / "model.safetensors").write_bytes(b"not a safetensors file")
    output = str(tmp_path / "out")
    _refused(
        lambda: to_tf1(source, output), output,
        r"^--hf_dir: cannot read .*model.safetensors \(",
    )


def test_missing_safetensors_package_names_the_extra(hf_dir, tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_safetensors(name, *args, **kwargs):
        if name.startswith("safetensors"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_safetensors)
    output = str(tmp_path / "out")
    _refused(
        lambda: to_tf1(hf_dir, output), output,
        r"^reading and writing model.safetensors needs the safetensors "
        r"package: pip install 'bert_tf\[hf\]' \(or: pip install safetensors\)$",
    )


def test_output_dir_must_be_new_or_empty(hf_dir, tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    with pytest.raises(UserInputError, match="exists and is not an empty directory"):
        to_tf1(hf_dir, taken)
    assert os.listdir(taken) == ["keep.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    to_tf1(hf_dir, empty)
    assert "bert_model.ckpt.index" in os.listdir(empty)


def test_a_failure_while_writing_leaves_nothing(hf_dir, tmp_path, monkeypatch):
    def disk_full(*args):
        raise OSError("No space left on device")

    monkeypatch.setattr(hf_conversion.tf.io.gfile, "copy", disk_full)
    output = str(tmp_path / "out")
    with pytest.raises(OSError):
        to_tf1(hf_dir, output)
    assert os.listdir(tmp_path) == []


def test_bad_tf1_checkpoints(tmp_path):
    output = str(tmp_path / "out")
    tensors = tf1_tensors(TINY_CLASSIFIER)
    tensors.update(
        {n: v for n, v in tf1_tensors(TINY_SQUAD).items() if n.startswith("cls/squad/")}
    )
    both = write_tf1(str(tmp_path / "both"), tensors)
    _refused(
        lambda: to_hf(both, output), output,
        r"holds the heads classifier, squad together; no transformers BERT "
        r"class holds them all$",
    )
    no_pooler = tiny_subset(
        str(tmp_path / "no_pooler"),
        lambda n: n.startswith("bert/") and "pooler" not in n,
    )
    _refused(
        lambda: to_hf(no_pooler, output), output,
        r"lacks bert/pooler/dense, which transformers' BertModel needs$",
    )
    _refused(
        lambda: to_hf(str(tmp_path / "nowhere" / "bert_model.ckpt"), output), output,
        r"^--tf1_checkpoint=.*nowhere/bert_model.ckpt': checkpoint not found",
    )


def test_tf1_config_and_vocab_must_fit(tmp_path):
    output = str(tmp_path / "out")
    config = tmp_path / "bert_config.json"
    with open(TINY_CONFIG) as f:
        original = f.read()
    config.write_text(original.replace('"gelu"', '"swish"'))
    # Refused when bert_config.json is read, or else for having no
    # Hugging Face name.
    _refused(
        lambda: to_hf(TINY_PRETRAINING, output, config=str(config)), output,
        r"hidden_act.*swish",
    )
    with pytest.raises(UserInputError, match="'swish' has no Hugging Face"):
        hf_config.hf_config_from_bert(
            BertConfig(vocab_size=262, hidden_act="swish"), "BertModel"
        )
    config.write_text(original.replace('"vocab_size": 262', '"vocab_size": 30522'))
    _refused(
        lambda: to_hf(TINY_PRETRAINING, output, config=str(config)), output,
        r"^--vocab_file: .*vocab.txt has 262 lines but --bert_config_file says "
        r"vocab_size=30522",
    )


@pytest.mark.parametrize(
    "flags, match",
    [
        (dict(), r"^--output_dir is required$"),
        (dict(output_dir="o"), r"^--hf_dir is required$"),
        (dict(output_dir="o", to="hf"), r"^--tf1_checkpoint is required$"),
        (dict(output_dir="o", hf_dir="h", vocab_file="v"),
         r"^--vocab_file is not read with --to=tf1; pass --hf_dir$"),
        (dict(output_dir="o", to="hf", hf_dir="h", tf1_checkpoint="t",
              bert_config_file="c", vocab_file="v"),
         r"^--hf_dir is not read with --to=hf; pass --tf1_checkpoint "
         r"--bert_config_file --vocab_file$"),
        (dict(output_dir="o", to="pt"), r"^--to=pt: expected tf1 or hf$"),
    ],
)
def test_flags_name_one_direction(flags, match):
    with pytest.raises(UserInputError, match=match):
        hf_conversion.validate(hf_conversion.ConvertParams(**flags))
