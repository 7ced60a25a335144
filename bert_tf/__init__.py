"""bert_tf: Google's BERT on TensorFlow 2 / Keras 3.

A drop-in replacement for github.com/google-research/bert: the same scripts and
flags, the same TFRecords, and the same TF1 checkpoints, read and written.

The public names below are imported lazily, so `import bert_tf.tokenization`
does not pay for importing TensorFlow.
"""

import importlib

__version__ = "0.1.0"

_PUBLIC = {
    "BertConfig": "bert_tf.config",
    "BertModel": "bert_tf.modeling",
    "BertPretrainingModel": "bert_tf.modeling",
    "FullTokenizer": "bert_tf.tokenization",
    "load_tf1_checkpoint": "bert_tf.checkpoints",
    "save_tf1_checkpoint": "bert_tf.checkpoints",
}


def __getattr__(name):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'bert_tf' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_PUBLIC))
