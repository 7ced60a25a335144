"""Shared test helpers: testdata paths, readers, the tiny configs."""

import json
import os
import re

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTDATA = os.path.join(os.path.dirname(__file__), "testdata")


def testdata(*parts):
    """Path of a file under tests/testdata (copies of the golden fixtures)."""
    return os.path.join(TESTDATA, *parts)


def read_jsonl(path):
    """The records of a golden .jsonl file.

    Split on "\n" only, as the fixtures README says: texts may hold U+2028.
    """
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f.read().split("\n") if line]


def stderr_lines(stderr):
    """A script's stderr without TensorFlow's C++ start-up logging."""
    return [
        line for line in stderr.splitlines()
        if line and not re.match(r"[IWEF]\d{4} ", line)
        and not line.startswith("WARNING: All log messages before absl")
    ]


# The original's tester numbers (vocab 99, hidden 32, intermediate 37), with
# 2 layers and 4 heads.
TINY_CONFIG = dict(
    vocab_size=99,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    hidden_act="gelu",
    hidden_dropout_prob=0.1,
    attention_probs_dropout_prob=0.1,
    max_position_embeddings=64,
    type_vocab_size=2,
    initializer_range=0.02,
)


@pytest.fixture
def tiny_config():
    from bert_tf.config import BertConfig

    return BertConfig(**TINY_CONFIG)
