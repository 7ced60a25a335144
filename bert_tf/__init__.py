"""bert_tf: Google's BERT on TensorFlow 2 / Keras 3.

A drop-in replacement for github.com/google-research/bert: the same scripts and
flags, the same TFRecords, and the same TF1 checkpoints, read and written.
"""

from bert_tf.checkpoints import load_tf1_checkpoint
from bert_tf.checkpoints import save_tf1_checkpoint
from bert_tf.config import BertConfig
from bert_tf.modeling import BertModel
from bert_tf.modeling import BertPretrainingModel
from bert_tf.tokenization import FullTokenizer

__version__ = "0.1.0"
