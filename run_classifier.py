"""BERT finetuning runner.

Drop-in for google-research/bert's run_classifier.py: same flags, same
defaults, same files in --output_dir. The flags after --num_tpu_cores are
additions of bert_tf, and their help says so ("[bert_tf addition]"); the
shared ones are defined in bert_tf_flags.py. Besides the original cola, mnli, mrpc and xnli, --task_name accepts the
other GLUE tasks (sst2, qqp, qnli, rte, wnli and the regression task stsb).
"""

from absl import app
from absl import flags

import bert_tf_flags
from bert_tf.classifier import run as run_lib

## Required parameters
flags.DEFINE_string(
    "data_dir", None,
    "The input data dir. Should contain the .tsv files (or other data files) "
    "for the task.")
flags.DEFINE_string(
    "bert_config_file", None,
    "The config json file corresponding to the pre-trained BERT model. "
    "This specifies the model architecture.")
flags.DEFINE_string(
    "task_name", None, "The name of the task to train.")
flags.DEFINE_string(
    "vocab_file", None,
    "The vocabulary file that the BERT model was trained on.")
flags.DEFINE_string(
    "output_dir", None,
    "The output directory where the model checkpoints will be written.")

## Other parameters
flags.DEFINE_string(
    "init_checkpoint", None,
    "Initial checkpoint (usually from a pre-trained BERT model).")
flags.DEFINE_bool(
    "do_lower_case", True,
    "Whether to lower case the input text. Should be True for uncased "
    "models and False for cased models.")
flags.DEFINE_integer(
    "max_seq_length", 128,
    "The maximum total input sequence length after WordPiece tokenization. "
    "Sequences longer than this will be truncated, and sequences shorter "
    "than this will be padded.")
flags.DEFINE_bool("do_train", False, "Whether to run training.")
flags.DEFINE_bool(
    "do_eval", False, "Whether to run eval on the dev set.")
flags.DEFINE_bool(
    "do_predict", False,
    "Whether to run the model in inference mode on the test set.")
flags.DEFINE_integer(
    "train_batch_size", 32, "Total batch size for training.")
flags.DEFINE_integer(
    "eval_batch_size", 8, "Total batch size for eval.")
flags.DEFINE_integer(
    "predict_batch_size", 8, "Total batch size for predict.")
flags.DEFINE_float(
    "learning_rate", 5e-5, "The initial learning rate for Adam.")
flags.DEFINE_float(
    "num_train_epochs", 3.0, "Total number of training epochs to perform.")
flags.DEFINE_float(
    "warmup_proportion", 0.1,
    "Proportion of training to perform linear learning rate warmup for. "
    "E.g., 0.1 = 10% of training.")
flags.DEFINE_integer(
    "save_checkpoints_steps", 1000, "How often to save the model checkpoint.")
flags.DEFINE_integer(
    "iterations_per_loop", 1000,
    "How many steps to make in each estimator call.")
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
flags.DEFINE_string(
    "master", None, "[Optional] TensorFlow master URL.")
flags.DEFINE_integer(
    "num_tpu_cores", 8,
    "Only used if `use_tpu` is True. Total number of TPU cores to use.")

# Additions of bert_tf.
bert_tf_flags.define_runner_flags()
bert_tf_flags.define_export_dir()
bert_tf_flags.define_preserve_unused_tokens()
flags.DEFINE_string(
    "tpu_job_name", None,
    bert_tf_flags.ADDITION + "Name of the TPU workers' job, for TPU setups that do not call it "
    "'worker' (the flag of the bert-tensorflow 1.0.4 wheel).")


main = bert_tf_flags.script_main(run_lib.run, run_lib.ClassifierParams)


if __name__ == "__main__":
    flags.mark_flags_as_required(
        ["data_dir", "task_name", "vocab_file", "bert_config_file",
         "output_dir"]
    )
    app.run(main)
