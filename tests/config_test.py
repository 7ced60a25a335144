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


@pytest.mark.parametrize("key, value, expected", [
    ("hidden_size", "abc", "a positive integer"),
    ("hidden_size", 0, "a positive integer"),
    ("num_hidden_layers", 2.0, "a positive integer"),
    ("vocab_size", True, "a positive integer"),
    ("type_vocab_size", None, "a positive integer"),
    ("hidden_dropout_prob", "0.1", "a probability in [0, 1)"),
    ("attention_probs_dropout_prob", 1.0, "a probability in [0, 1)"),
    ("initializer_range", -0.02, "a number of at least 0"),
    ("hidden_act", "swish",
     'an activation ("gelu", "gelu_exact", "relu", "tanh" or "linear")'),
    ("hidden_act", 3,
     'an activation ("gelu", "gelu_exact", "relu", "tanh" or "linear")'),
])
def test_ill_typed_values_name_file_key_and_value(tmp_path, key, value, expected):
    path = tmp_path / "bert_config.json"
    path.write_text(json.dumps(dict(MULTILINGUAL, **{key: value})))
    with pytest.raises(UserInputError) as error:
        BertConfig.from_json_file(str(path))
    assert str(error.value) == (
        f'bert_config_file={str(path)!r}: "{key}": {json.dumps(value)} is not '
        f"{expected}"
    )


def test_hidden_size_must_be_a_multiple_of_the_heads():
    with pytest.raises(UserInputError) as error:
        BertConfig.from_dict(dict(MULTILINGUAL, num_attention_heads=10))
    assert str(error.value) == (
        "bert_config: The hidden size (768) is not a multiple of the number of "
        "attention heads (10)"
    )


def test_accepted_values():
    config = BertConfig.from_dict(dict(
        MULTILINGUAL, hidden_dropout_prob=0, initializer_range=1,
        hidden_act="GELU_exact"))
    assert config.hidden_dropout_prob == 0 and config.hidden_act == "GELU_exact"


def test_vocab_smaller_than_vocab_size_warns_once_with_the_count(caplog):
    config = BertConfig(vocab_size=30522)
    vocab = {f"token{i}": i for i in range(30000)}
    with caplog.at_level("WARNING", logger="absl"):
        config.check_vocab(vocab, "vocab.txt")
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        "--vocab_file='vocab.txt' has 30000 entries, 522 fewer than "
        "vocab_size=30522 of bert_config.json: those embedding rows are never "
        "used; check that the vocab belongs to the model"
    ]
    caplog.clear()
    config.check_vocab(dict(vocab, extra=30521), "vocab.txt")
    assert not caplog.records
    with pytest.raises(UserInputError, match="has 30523 entries"):
        config.check_vocab(dict(vocab, extra=30522), "vocab.txt")
