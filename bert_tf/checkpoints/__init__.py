"""Google's TF1 BERT checkpoints: names, loading, warm starts and writing."""

from bert_tf.checkpoints.tf1_checkpoint import LoadReport
from bert_tf.checkpoints.tf1_checkpoint import checkpoint_tensors
from bert_tf.checkpoints.tf1_checkpoint import init_from_checkpoint
from bert_tf.checkpoints.tf1_checkpoint import keep_latest_checkpoints
from bert_tf.checkpoints.tf1_checkpoint import load_tf1_checkpoint
from bert_tf.checkpoints.tf1_checkpoint import open_reader
from bert_tf.checkpoints.tf1_checkpoint import read_checkpoint_state
from bert_tf.checkpoints.tf1_checkpoint import resolve_checkpoint_path
from bert_tf.checkpoints.tf1_checkpoint import save_tf1_checkpoint
from bert_tf.checkpoints.tf1_checkpoint import write_checkpoint_state
from bert_tf.checkpoints.tf1_variable_map import keras_path_to_tf1_name
from bert_tf.checkpoints.tf1_variable_map import variable_map
