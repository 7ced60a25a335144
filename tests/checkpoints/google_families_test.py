"""Every family of Google's published BERT checkpoints, by config and names.

The configs are the released bert_config.json files (keys as SPEC.md 3.1
lists them: the multilingual and Chinese ones add `directionality` and
`pooler_*`). Parameter counts of the full-size tables are checked against
the published figures without building anything; the synthetic checkpoints
keep each family's vocab size, extra keys, casing and directory name, with a
tiny hidden size where the family's behaviour does not depend on it.
"""

import json

import numpy as np
import pytest

from bert_tf.checkpoints import hf_config
from bert_tf.checkpoints import hf_names
from bert_tf.checkpoints import load_tf1_checkpoint
from bert_tf.config import BertConfig
from bert_tf.errors import UserInputError
from bert_tf.modeling import BertPretrainingModel
from tests.checkpoints.hf_helpers import assert_same_tensors
from tests.checkpoints.hf_helpers import tf1_tensors
from tests.checkpoints.hf_helpers import to_hf
from tests.checkpoints.hf_helpers import to_tf1
from tests.checkpoints.hf_helpers import write_tf1

_EXTRA_KEYS = {  # multilingual and Chinese configs
    "directionality": "bidi",
    "pooler_fc_size": 768,
    "pooler_num_attention_heads": 12,
    "pooler_num_fc_layers": 3,
    "pooler_size_per_head": 128,
    "pooler_type": "first_token_transform",
}


def _released_config(layers, hidden, vocab_size, extra=False):
    config = {
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": hidden,
        "initializer_range": 0.02,
        "intermediate_size": 4 * hidden,
        "max_position_embeddings": 512,
        "num_attention_heads": hidden // 64,
        "num_hidden_layers": layers,
        "type_vocab_size": 2,
        "vocab_size": vocab_size,
    }
    if extra:
        config.update(_EXTRA_KEYS)
    return config


# directory name -> (released bert_config.json, cased)
FAMILIES = {
    "uncased_L-12_H-768_A-12": (_released_config(12, 768, 30522), False),
    "uncased_L-24_H-1024_A-16": (_released_config(24, 1024, 30522), False),
    "cased_L-12_H-768_A-12": (_released_config(12, 768, 28996), True),
    "cased_L-24_H-1024_A-16": (_released_config(24, 1024, 28996), True),
    "wwm_uncased_L-24_H-1024_A-16": (_released_config(24, 1024, 30522), False),
    "wwm_cased_L-24_H-1024_A-16": (_released_config(24, 1024, 28996), True),
    "multi_cased_L-12_H-768_A-12": (_released_config(12, 768, 119547, True), True),
    "multilingual_L-12_H-768_A-12": (
        _released_config(12, 768, 105879, True), False,
    ),
    "chinese_L-12_H-768_A-12": (_released_config(12, 768, 21128, True), False),
}
SMALL_BERTS = {  # (L, H): millions of parameters, SPEC.md 3.5
    (2, 128): 4.4, (2, 256): 9.6, (2, 512): 22.5, (2, 768): 38.6,
    (4, 128): 4.8, (4, 256): 11.2, (4, 512): 28.8, (4, 768): 52.8,
    (6, 128): 5.2, (6, 256): 12.8, (6, 512): 35.1, (6, 768): 67.0,
    (8, 128): 5.6, (8, 256): 14.3, (8, 512): 41.4, (8, 768): 81.1,
    (10, 128): 6.0, (10, 256): 15.9, (10, 512): 47.7, (10, 768): 95.3,
    (12, 128): 6.4, (12, 256): 17.5, (12, 512): 54.0, (12, 768): 109.5,
}
for (layers, hidden) in SMALL_BERTS:
    FAMILIES.setdefault(
        f"uncased_L-{layers}_H-{hidden}_A-{hidden // 64}",
        (_released_config(layers, hidden, 30522), False),
    )
# The published sizes (SPEC.md 3.5): encoder and pooler, then with the
# pre-training heads; cased, multilingual and Chinese differ in V rows.
BASE, BASE_WITH_HEADS = 109_482_240, 110_106_428
LARGE, LARGE_WITH_HEADS = 335_141_888, 336_226_108
PRETRAINING = frozenset({hf_names.MASKED_LM, hf_names.NEXT_SENTENCE})
# The names the original's validate_case_matches_checkpoint knows; it lets
# the later releases (whole word masking, the small BERTs) through.
ORIGINAL_CASE_CHECK = (
    "uncased_L-24_H-1024_A-16", "uncased_L-12_H-768_A-12",
    "multilingual_L-12_H-768_A-12", "chinese_L-12_H-768_A-12",
    "cased_L-12_H-768_A-12", "cased_L-24_H-1024_A-16",
    "multi_cased_L-12_H-768_A-12",
)


def _count(names):
    return sum(int(np.prod(name.shape)) for name in names)


def test_every_family_is_listed():
    assert len(FAMILIES) == 9 + 24 - 1  # BERT-Base is also the L-12 H-768 small one


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_released_config_loads_and_converts_unchanged(name, caplog):
    released, _ = FAMILIES[name]
    config = BertConfig.from_dict(released)
    assert "unknown key" not in caplog.text
    written = json.dumps(released, indent=2, sort_keys=True) + "\n"
    assert config.to_json_string() == written
    hf = hf_config.hf_config_from_bert(config, "BertForPreTraining")
    assert hf["vocab_size"] == released["vocab_size"]
    assert {k: hf[k] for k in _EXTRA_KEYS if k in released} == {
        k: released[k] for k in _EXTRA_KEYS if k in released
    }
    assert hf_config.bert_config_from_hf(hf, name).to_dict() == released


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_full_size_tables(name):
    released, _ = FAMILIES[name]
    config = BertConfig.from_dict(released)
    encoder = hf_names.encoder_names(config)
    with_heads = hf_names.checkpoint_names(config, PRETRAINING)
    layers, hidden, vocab = (
        config.num_hidden_layers, config.hidden_size, config.vocab_size
    )
    assert len(encoder) == 5 + 16 * layers + 2
    assert len(with_heads) == len(encoder) + 7
    extra_rows = (vocab - 30522) * hidden
    if hidden == 768 and layers == 12:
        assert _count(encoder) == BASE + extra_rows
        assert _count(with_heads) == BASE_WITH_HEADS + extra_rows + (vocab - 30522)
    elif hidden == 1024:
        assert _count(encoder) == LARGE + extra_rows
        assert _count(with_heads) == LARGE_WITH_HEADS + extra_rows + (vocab - 30522)
    if vocab == 30522 and (layers, hidden) in SMALL_BERTS:
        assert round(_count(encoder) / 1e6, 1) == SMALL_BERTS[(layers, hidden)]


def _tiny(released):
    """The family's config with a tiny width and depth, all else kept."""
    return dict(
        released, hidden_size=8, num_attention_heads=2, intermediate_size=32,
        num_hidden_layers=2,
    )


# The synthetic checkpoints: one per behaviour that differs between
# families (case, vocab size, extra config keys, a name the original's case
# check does not know); the others differ from these only in L and H, which
# test_full_size_tables covers.
SYNTHETIC = (
    "uncased_L-12_H-768_A-12",
    "cased_L-24_H-1024_A-16",
    "wwm_cased_L-24_H-1024_A-16",
    "multi_cased_L-12_H-768_A-12",
    "chinese_L-12_H-768_A-12",
    "uncased_L-2_H-128_A-2",
)


@pytest.mark.parametrize("name", SYNTHETIC)
def test_synthetic_checkpoint_loads_and_converts(name, tmp_path):
    released, cased = FAMILIES[name]
    config = BertConfig.from_dict(_tiny(released))
    directory = tmp_path / name
    rng = np.random.default_rng(len(name))
    tensors = {
        n.tf1: rng.standard_normal(n.shape).astype(np.float32)
        for n in hf_names.checkpoint_names(config, PRETRAINING)
    }
    tensors["global_step"] = np.asarray(0, np.int64)
    prefix = write_tf1(str(directory), tensors)
    (directory / "bert_config.json").write_text(config.to_json_string())
    vocab = directory / "vocab.txt"
    vocab.write_text("".join(f"[unused{i}]\n" for i in range(config.vocab_size)))

    report = load_tf1_checkpoint(BertPretrainingModel(config), str(directory))
    assert report.unused == ["global_step"]

    kwargs = dict(config=str(directory / "bert_config.json"), vocab=str(vocab))
    if name in ORIGINAL_CASE_CHECK:
        with pytest.raises(UserInputError) as wrong_case:
            to_hf(prefix, tmp_path / "hf", do_lower_case=cased, **kwargs)
        case_name = "cased" if cased else "lowercased"
        assert str(wrong_case.value) == (
            f"You passed in `--do_lower_case={cased}` with `--init_checkpoint="
            f"{prefix}`. However, `{name}` seems to be a {case_name} model, so "
            f"you should pass in `--do_lower_case={not cased}` so that the "
            "fine-tuning matches how the model was pre-training. If this error "
            "is wrong, please just comment out this check."
        )
    to_hf(prefix, tmp_path / "hf", do_lower_case=not cased, **kwargs)
    with open(tmp_path / "hf" / "config.json") as f:
        hf = json.load(f)
    assert hf["architectures"] == ["BertForPreTraining"]
    assert hf["hidden_act"] == "gelu_new"  # Hugging Face's tanh GELU
    assert {k: v for k, v in hf.items() if k in released} == dict(
        _tiny(released), hidden_act="gelu_new"
    )
    to_tf1(tmp_path / "hf", tmp_path / "back")
    del tensors["global_step"]
    back_prefix = str(tmp_path / "back" / "bert_model.ckpt")
    assert_same_tensors(tensors, tf1_tensors(back_prefix))
    back = BertConfig.from_json_file(str(tmp_path / "back" / "bert_config.json"))
    assert back.to_dict() == _tiny(released)
