"""get_config -> from_config and `.keras` round trips of every registered
layer and model: bert_tf.modeling's and the task models built on it."""

import inspect
import json

import keras
import numpy as np
import pytest

from bert_tf.classifier.model import BertClassifier
from bert_tf.config import BertConfig
from bert_tf.modeling import BertModel
from bert_tf.modeling import BertPretrainingModel
from bert_tf.modeling import attention
from bert_tf.modeling import embeddings
from bert_tf.modeling import heads
from bert_tf.modeling import transformer
from bert_tf.squad.model import BertSpanModel
from tests.conftest import TINY_CONFIG

# B=2, S=7, P=3 predictions per sequence; H, V and the rest from TINY_CONFIG.
_RNG = np.random.default_rng(0)
_H, _V = TINY_CONFIG["hidden_size"], TINY_CONFIG["vocab_size"]
_HIDDEN = _RNG.normal(size=(2, 7, _H)).astype("float32")  # [B, S, H]
_POOLED = _HIDDEN[:, 0]  # [B, H]
_MASK_ADDER = np.zeros((2, 1, 1, 7), "float32")
_IDS = _RNG.integers(0, _V, (2, 7)).astype("int32")  # [B, S]
_SEGMENTS = _RNG.integers(0, 2, (2, 7)).astype("int32")
_POSITIONS = _RNG.integers(0, 7, (2, 3)).astype("int32")  # [B, P]
_TABLE = _RNG.normal(size=(_V, _H)).astype("float32")  # [V, H]
_ENCODER_INPUTS = {"input_ids": _IDS, "segment_ids": _SEGMENTS}
_PRETRAINING_INPUTS = dict(
    _ENCODER_INPUTS,
    masked_lm_positions=_POSITIONS,
    masked_lm_ids=_RNG.integers(0, _V, (2, 3)).astype("int32"),
    masked_lm_weights=np.ones((2, 3), "float32"),
    next_sentence_labels=np.array([0, 1], "int32"),
)
_TRANSFORMER_ARGS = {
    key: TINY_CONFIG[key]
    for key in (
        "hidden_size",
        "num_attention_heads",
        "intermediate_size",
        "hidden_act",
        "hidden_dropout_prob",
        "attention_probs_dropout_prob",
        "initializer_range",
    )
}

# (constructor, call arguments) of each class.
CASES = {
    "SelfAttention": (
        lambda: attention.SelfAttention(
            num_attention_heads=4,
            hidden_size=_H,
            dropout_rate=0.1,
            initializer_range=0.02,
        ),
        (_HIDDEN, _MASK_ADDER),
    ),
    "TransformerLayer": (
        lambda: transformer.TransformerLayer(**_TRANSFORMER_ARGS),
        (_HIDDEN, _MASK_ADDER),
    ),
    "BertEmbeddings": (
        lambda: embeddings.BertEmbeddings(
            vocab_size=_V,
            hidden_size=_H,
            type_vocab_size=2,
            max_position_embeddings=64,
            dropout_rate=0.1,
            initializer_range=0.02,
        ),
        (_IDS, _SEGMENTS),
    ),
    "MaskedLMHead": (
        lambda: heads.MaskedLMHead(_V, _H, "gelu", 0.02),
        (_HIDDEN, _POSITIONS, _TABLE),
    ),
    "OutputProjection": (
        lambda: heads.OutputProjection(3, _H, 0.05),
        (_POOLED,),
    ),
    "NextSentenceHead": (
        lambda: heads.NextSentenceHead(_H, 0.05),
        (_POOLED,),
    ),
    "ClassifierHead": (
        lambda: heads.ClassifierHead(3, _H, dropout_rate=0.2),
        (_POOLED,),
    ),
    "SpanHead": (lambda: heads.SpanHead(_H), (_HIDDEN,)),
    "BertModel": (
        lambda: BertModel(BertConfig(**TINY_CONFIG)),
        (_ENCODER_INPUTS,),
    ),
    "BertPretrainingModel": (
        lambda: BertPretrainingModel(BertConfig(**TINY_CONFIG)),
        (_PRETRAINING_INPUTS,),
    ),
    "BertClassifier": (
        lambda: BertClassifier(BertConfig(**TINY_CONFIG), num_labels=3),
        (_ENCODER_INPUTS,),
    ),
    "BertSpanModel": (
        lambda: BertSpanModel(BertConfig(**TINY_CONFIG)),
        (_ENCODER_INPUTS,),
    ),
}


_BASE_KEYS = {"name", "trainable", "dtype"}  # keras.layers.Layer's


def _json(config):
    return json.loads(json.dumps(config))


def _assert_same_outputs(actual, expected):
    actual, expected = keras.tree.flatten(actual), keras.tree.flatten(expected)
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        np.testing.assert_allclose(a, e, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", CASES)
def test_get_config_mirrors_init_and_round_trips(name):
    make, _ = CASES[name]
    original = make()
    config = _json(original.get_config())
    init_args = set(inspect.signature(type(original).__init__).parameters)
    assert set(config) - _BASE_KEYS == init_args - {"self", "kwargs"}
    restored = type(original).from_config(config)
    assert _json(restored.get_config()) == config


@pytest.mark.parametrize("name", CASES)
def test_keras_file_round_trip(name, tmp_path):
    make, args = CASES[name]
    original = make()
    expected = original(*args, training=False)
    path = str(tmp_path / f"{name}.keras")
    keras.saving.save_model(original, path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(original)
    _assert_same_outputs(loaded(*args, training=False), expected)


def test_the_dtype_policy_survives_a_keras_file(tmp_path):
    model = BertModel(BertConfig(**TINY_CONFIG), dtype="bfloat16")
    path = str(tmp_path / "bert.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.dtype_policy.name == "bfloat16"
    assert {v.dtype for v in loaded.weights} == {"bfloat16"}
