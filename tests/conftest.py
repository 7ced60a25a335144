"""Shared test helpers: testdata paths, readers, the tiny configs."""

import contextlib
import importlib
import json
import os
import re
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import flags  # noqa: E402

from bert_tf import runner_settings  # noqa: E402
from bert_tf.config import BertConfig  # noqa: E402

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


@contextlib.contextmanager
def imported_script(name):
    """The top-level script `name`, imported (not run) with its flags.

    Afterwards its flags are removed and the module forgotten: the scripts
    share flag names (`output_dir`, ...) and absl refuses a second
    definition from another module.
    """
    imported_here = name not in sys.modules
    module = importlib.import_module(name)
    try:
        yield module
    finally:
        if imported_here:
            for flag in flags.FLAGS.get_flags_for_module(module):
                delattr(flags.FLAGS, flag.name)
            del sys.modules[name]


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
    return BertConfig(**TINY_CONFIG)


def read_tfrecord(path):
    """Every record of a TFRecord file as {name: (kind, list of values)}.

    kind is the `tf.train.Feature` field that is set ("int64_list",
    "float_list" or "bytes_list"), so a comparison also checks the types.
    """
    records = []
    for raw in tf.data.TFRecordDataset(str(path)).as_numpy_iterator():
        example = tf.train.Example.FromString(raw)
        record = {}
        for name, feature in example.features.feature.items():
            kind = feature.WhichOneof("kind")
            record[name] = (kind, list(getattr(feature, kind).value))
        records.append(record)
    return records


def read_int64_tfrecord_dump(path):
    """A golden .jsonl dump of an all-int64 TFRecord file, as read_tfrecord
    returns that file."""
    return [
        {name: ("int64_list", values) for name, values in line.items()}
        for line in read_jsonl(path)
    ]


def runner_params(params_class, settings, overrides):
    """A runner's params for a test run, built as its script builds them.

    `settings`, then `overrides`, fill the fields by name
    (`runner_settings.params_from_values`). The run is fp32 with seed 1,
    as the golden numbers were made, unless they say otherwise.
    """
    values = dict(precision="fp32", random_seed=1)
    values.update(settings)
    values.update(overrides)
    return runner_settings.params_from_values(params_class, values)
