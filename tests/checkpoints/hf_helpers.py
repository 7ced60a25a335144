"""Helpers of the Hugging Face converter tests: tiny files of each layout."""

import json
import os
import shutil

import numpy as np
import safetensors.numpy
import tensorflow as tf

from bert_tf.checkpoints import hf_conversion
from bert_tf.checkpoints import tf1_checkpoint
from tests.conftest import testdata

TINY_CONFIG = testdata("tiny_model", "bert_config.json")
TINY_VOCAB = testdata("tiny_model", "vocab.txt")
# The fixtures' TF1 checkpoints: one per head kind Google's scripts write.
TINY_PRETRAINING = testdata("tiny_model", "bert_model.ckpt")
TINY_CLASSIFIER = testdata("tiny_classifier", "model.ckpt-4")
TINY_SQUAD = testdata("tiny_squad", "model.ckpt-3")


def tf1_tensors(path):
    """{name: numpy array} of every tensor of a TF1 checkpoint.

    `path` is its prefix or a directory holding one checkpoint.
    """
    prefix = tf1_checkpoint.resolve_checkpoint_path(str(path))
    reader = tf.train.load_checkpoint(prefix)
    names = reader.get_variable_to_shape_map()
    return {name: reader.get_tensor(name) for name in names}


def hf_tensors(path):
    return safetensors.numpy.load_file(path)


def write_tf1(directory, tensors, name="bert_model.ckpt"):
    """A TF1 checkpoint of `tensors` in a new `directory`; its prefix."""
    os.makedirs(directory, exist_ok=True)
    prefix = os.path.join(directory, name)
    tf1_checkpoint.write_tensors(prefix, tensors)
    return prefix


def tiny_subset(directory, keep):
    """tiny_model's checkpoint with only the tensors `keep(name)` accepts."""
    tensors = tf1_tensors(TINY_PRETRAINING)
    return write_tf1(directory, {n: v for n, v in tensors.items() if keep(n)})


def to_hf(prefix, output_dir, do_lower_case=True, config=TINY_CONFIG, vocab=TINY_VOCAB):
    return hf_conversion.convert(
        hf_conversion.ConvertParams(
            to="hf",
            tf1_checkpoint=prefix,
            bert_config_file=config,
            vocab_file=vocab,
            output_dir=str(output_dir),
            do_lower_case=do_lower_case,
        )
    )


def to_tf1(hf_dir, output_dir):
    return hf_conversion.convert(
        hf_conversion.ConvertParams(hf_dir=str(hf_dir), output_dir=str(output_dir))
    )


def copy_hf_dir(source, destination, tensors=None, **config_changes):
    """A copy of a Hugging Face directory, with other tensors or config."""
    shutil.copytree(source, destination)
    if tensors is not None:
        path = os.path.join(destination, "model.safetensors")
        safetensors.numpy.save_file(tensors, path, metadata={"format": "pt"})
    if config_changes:
        path = os.path.join(destination, "config.json")
        with open(path) as f:
            config = json.load(f)
        config.update(config_changes)
        for key, value in list(config.items()):
            if value is None:
                del config[key]
        with open(path, "w") as f:
            json.dump(config, f)
    return destination


def assert_same_tensors(expected, actual):
    """Same names, and per name the same dtype, shape and bytes."""
    assert sorted(actual) == sorted(expected)
    for name, value in expected.items():
        other = actual[name]
        assert other.dtype == value.dtype, name
        assert other.shape == value.shape, name
        assert np.asarray(other).tobytes() == np.asarray(value).tobytes(), name
