import json

import pytest

from bert_tf.config import BertConfig
from bert_tf.errors import UserInputError
from tests.conftest import testdata

# The keys of Google's multilingual / Chinese bert_config.json.
MULTILINGUAL = {
    "attention_probs_dropout_prob": 0.1,
    "directionality": "bidi",
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 768,
    "initializer_range": 0.02,
    "intermediate_size": 3072,
    "max_position_embeddings": 512,
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "pooler_fc_size": 768,
    "pooler_num_attention_heads": 12,
    "pooler_num_fc_layers": 3,
    "pooler_size_per_head": 128,
    "pooler_type": "first_token_transform",
    "type_vocab_size": 2,
    "vocab_size": 105879,
}


def test_reference_json_round_trips_byte_for_byte():
    path = testdata("tiny_model", "bert_config.json")
    config = BertConfig.from_json_file(path)
    assert config.hidden_size == 32 and config.vocab_size == 262
    with open(path) as f:
        assert config.to_json_string() == f.read()


def test_defaults_are_the_originals():
    config = BertConfig(vocab_size=30522)
    assert (config.hidden_size, config.num_hidden_layers) == (768, 12)
    assert (config.num_attention_heads, config.intermediate_size) == (12, 3072)
    assert config.hidden_act == "gelu"
    assert config.max_position_embeddings == 512
    assert config.type_vocab_size == 16
    assert config.initializer_range == 0.02


def test_multilingual_extra_keys_are_kept_and_written_back():
    config = BertConfig.from_dict(MULTILINGUAL)
    assert config.extra["pooler_type"] == "first_token_transform"
    assert config.extra["directionality"] == "bidi"
    assert json.loads(config.to_json_string()) == MULTILINGUAL


def test_bad_config_files(tmp_path):
    with pytest.raises(UserInputError, match="bert_config_file=.*not found"):
        BertConfig.from_json_file(str(tmp_path / "missing.json"))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(UserInputError, match="not valid JSON"):
        BertConfig.from_json_file(str(broken))
    no_vocab = tmp_path / "no_vocab.json"
    no_vocab.write_text('{"hidden_size": 8}')
    with pytest.raises(UserInputError, match="vocab_size"):
        BertConfig.from_json_file(str(no_vocab))
