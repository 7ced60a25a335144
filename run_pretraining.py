"""Run masked LM/next sentence masked_lm pre-training for BERT.

Drop-in for google-research/bert's run_pretraining.py: same flags, same
defaults, same files in --output_dir. The flags after --num_tpu_cores are
additions of bert_tf, and their help says so ("[bert_tf addition]"); the
shared ones are defined in bert_tf_flags.py.
"""

from absl import app
from absl import flags

import bert_tf_flags
from bert_tf.pretraining import run as run_lib

flags.DEFINE_string(
    "bert_config_file", None,
    "The config json file corresponding to the pre-trained BERT model. "
    "This specifies the model architecture.")
flags.DEFINE_string(
    "input_file", None,
    "Input TF example files (can be a glob or comma separated).")
flags.DEFINE_string(
    "output_dir", None,
    "The output directory where the model checkpoints will be written.")
flags.DEFINE_string(
    "init_checkpoint", None,
    "Initial checkpoint (usually from a pre-trained BERT model).")
flags.DEFINE_integer(
    "max_seq_length", 128,
    "The maximum total input sequence length after WordPiece tokenization. "
    "Sequences longer than this will be truncated, and sequences shorter "
    "than this will be padded. Must match data generation.")
flags.DEFINE_integer(
    "max_predictions_per_seq", 20,
    "Maximum number of masked LM predictions per sequence. "
    "Must match data generation.")
flags.DEFINE_bool("do_train", False, "Whether to run training.")
flags.DEFINE_bool("do_eval", False, "Whether to run eval on the dev set.")
flags.DEFINE_integer(
    "train_batch_size", 32, "Total batch size for training.")
flags.DEFINE_integer(
    "eval_batch_size", 8, "Total batch size for eval.")
flags.DEFINE_float(
    "learning_rate", 5e-5, "The initial learning rate for Adam.")
flags.DEFINE_integer(
    "num_train_steps", 100000, "Number of training steps.")
flags.DEFINE_integer(
    "num_warmup_steps", 10000, "Number of warmup steps.")
flags.DEFINE_integer(
    "save_checkpoints_steps", 1000, "How often to save the model checkpoint.")
flags.DEFINE_integer(
    "iterations_per_loop", 1000, "How many steps to make in each estimator call.")
flags.DEFINE_integer(
    "max_eval_steps", 100, "Maximum number of eval steps.")
flags.DEFINE_bool("use_tpu", False, "Whether to use TPU or GPU/CPU.")
flags.DEFINE_string(
    "tpu_name", None,
    "The Cloud TPU to use for training. This should be either the name "
    "used when creating the Cloud TPU, or a grpc://ip.address.of.tpu:8470 "
    "url.")
flags.DEFINE_string(
    "tpu_zone", None,
    "[Optional] GCE zone where the Cloud TPU is located in. If not "
    "specified, we will attempt to automatically detect the GCE project from "
    "metadata.")
flags.DEFINE_string(
    "gcp_project", None,
    "[Optional] Project name for the Cloud TPU-enabled project. If not "
    "specified, we will attempt to automatically detect the GCE project from "
    "metadata.")
flags.DEFINE_string("master", None, "[Optional] TensorFlow master URL.")
flags.DEFINE_integer(
    "num_tpu_cores", 8,
    "Only used if `use_tpu` is True. Total number of TPU cores to use.")

# Additions of bert_tf.
bert_tf_flags.define_runner_flags()
flags.DEFINE_bool(
    "dynamic_masking", False,
    bert_tf_flags.ADDITION + "Draw new masked-LM targets for every training example on every pass "
    "(the stored masks are undone first); evaluation keeps the stored ones.")
flags.DEFINE_string(
    "vocab_file", None,
    bert_tf_flags.ADDITION + "The vocabulary of the TFRecords; needed by --dynamic_masking.")
flags.DEFINE_bool(
    "do_whole_word_mask", False,
    bert_tf_flags.ADDITION + "With --dynamic_masking: mask whole words (all their ## pieces).")
flags.DEFINE_float(
    "masked_lm_prob", 0.15,
    bert_tf_flags.ADDITION + "With --dynamic_masking: the masking rate.")


main = bert_tf_flags.script_main(run_lib.run, run_lib.PretrainingParams)


if __name__ == "__main__":
    flags.mark_flags_as_required(["input_file", "bert_config_file", "output_dir"])
    app.run(main)
