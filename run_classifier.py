"""BERT finetuning runner.

Drop-in for google-research/bert's run_classifier.py: same flags, same
defaults, same files in --output_dir. The flags after --num_tpu_cores are
additions of bert_tf. Besides the original cola, mnli, mrpc and xnli,
--task_name accepts the other GLUE tasks (sst2, qqp, qnli, rte, wnli and the
regression task stsb).
"""

from absl import app
from absl import flags

from bert_tf import cli
from bert_tf.classifier import run as run_lib

## Required parameters
_DATA_DIR = flags.DEFINE_string(
    "data_dir", None,
    "The input data dir. Should contain the .tsv files (or other data files) "
    "for the task.")
_BERT_CONFIG_FILE = flags.DEFINE_string(
    "bert_config_file", None,
    "The config json file corresponding to the pre-trained BERT model. "
    "This specifies the model architecture.")
_TASK_NAME = flags.DEFINE_string(
    "task_name", None, "The name of the task to train.")
_VOCAB_FILE = flags.DEFINE_string(
    "vocab_file", None,
    "The vocabulary file that the BERT model was trained on.")
_OUTPUT_DIR = flags.DEFINE_string(
    "output_dir", None,
    "The output directory where the model checkpoints will be written.")

## Other parameters
_INIT_CHECKPOINT = flags.DEFINE_string(
    "init_checkpoint", None,
    "Initial checkpoint (usually from a pre-trained BERT model).")
_DO_LOWER_CASE = flags.DEFINE_bool(
    "do_lower_case", True,
    "Whether to lower case the input text. Should be True for uncased "
    "models and False for cased models.")
_MAX_SEQ_LENGTH = flags.DEFINE_integer(
    "max_seq_length", 128,
    "The maximum total input sequence length after WordPiece tokenization. "
    "Sequences longer than this will be truncated, and sequences shorter "
    "than this will be padded.")
_DO_TRAIN = flags.DEFINE_bool("do_train", False, "Whether to run training.")
_DO_EVAL = flags.DEFINE_bool(
    "do_eval", False, "Whether to run eval on the dev set.")
_DO_PREDICT = flags.DEFINE_bool(
    "do_predict", False,
    "Whether to run the model in inference mode on the test set.")
_TRAIN_BATCH_SIZE = flags.DEFINE_integer(
    "train_batch_size", 32, "Total batch size for training.")
_EVAL_BATCH_SIZE = flags.DEFINE_integer(
    "eval_batch_size", 8, "Total batch size for eval.")
_PREDICT_BATCH_SIZE = flags.DEFINE_integer(
    "predict_batch_size", 8, "Total batch size for predict.")
_LEARNING_RATE = flags.DEFINE_float(
    "learning_rate", 5e-5, "The initial learning rate for Adam.")
_NUM_TRAIN_EPOCHS = flags.DEFINE_float(
    "num_train_epochs", 3.0, "Total number of training epochs to perform.")
_WARMUP_PROPORTION = flags.DEFINE_float(
    "warmup_proportion", 0.1,
    "Proportion of training to perform linear learning rate warmup for. "
    "E.g., 0.1 = 10% of training.")
_SAVE_CHECKPOINTS_STEPS = flags.DEFINE_integer(
    "save_checkpoints_steps", 1000, "How often to save the model checkpoint.")
_ITERATIONS_PER_LOOP = flags.DEFINE_integer(
    "iterations_per_loop", 1000,
    "How many steps to make in each estimator call.")
_USE_TPU = flags.DEFINE_bool("use_tpu", False, "Whether to use TPU or GPU/CPU.")
_TPU_NAME = flags.DEFINE_string(
    "tpu_name", None,
    "The Cloud TPU to use for training. This should be either the name "
    "used when creating the Cloud TPU, or a grpc://ip.address.of.tpu:8470 "
    "url.")
_TPU_ZONE = flags.DEFINE_string(
    "tpu_zone", None,
    "[Optional] GCE zone where the Cloud TPU is located in. If not "
    "specified, we will attempt to automatically detect the GCE project from "
    "metadata.")
_GCP_PROJECT = flags.DEFINE_string(
    "gcp_project", None,
    "[Optional] Project name for the Cloud TPU-enabled project. If not "
    "specified, we will attempt to automatically detect the GCE project from "
    "metadata.")
_MASTER = flags.DEFINE_string(
    "master", None, "[Optional] TensorFlow master URL.")
_NUM_TPU_CORES = flags.DEFINE_integer(
    "num_tpu_cores", 8,
    "Only used if `use_tpu` is True. Total number of TPU cores to use.")

# Additions of bert_tf.
_PRECISION = flags.DEFINE_enum(
    "precision", "auto", ["auto", "fp32", "bf16", "fp16"],
    "Compute precision. auto: mixed bfloat16 where the hardware has it "
    "(TPU, Ampere+ GPU, CPU with AVX-512 BF16/AMX), else fp32. fp32 is the "
    "exact mode of the original.")
_USE_XLA = flags.DEFINE_bool(
    "use_xla", False, "Compile the train and eval steps with XLA.")
_OPTIMIZER = flags.DEFINE_enum(
    "optimizer", "adamw", ["adamw", "lamb"],
    "adamw: the original AdamWeightDecayOptimizer; lamb: LAMB.")
_GRADIENT_ACCUMULATION_STEPS = flags.DEFINE_integer(
    "gradient_accumulation_steps", 1,
    "Apply the mean gradient of this many batches per optimizer step.")
_RANDOM_SEED = flags.DEFINE_integer(
    "random_seed", None,
    "Seed for initialization, dropout and the input shuffle; makes a run "
    "(and its resumption) repeatable. Default: not seeded, as the original.")
_EXPORT_DIR = flags.DEFINE_string(
    "export_dir", None,
    "If set, the fine-tuned model is also written here as a TensorFlow "
    "SavedModel, after training / eval / prediction.")
_PRESERVE_UNUSED_TOKENS = flags.DEFINE_bool(
    "preserve_unused_tokens", False,
    "Keep the vocab's [unusedN] tokens whole where they appear in the text "
    "(the flag of the bert-tensorflow 1.0.4 wheel).")
_TPU_JOB_NAME = flags.DEFINE_string(
    "tpu_job_name", None,
    "Name of the TPU workers' job, for TPU setups that do not call it "
    "'worker' (the flag of the bert-tensorflow 1.0.4 wheel).")


@cli.exits_on_user_error
def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    params = run_lib.ClassifierParams(
        data_dir=_DATA_DIR.value,
        bert_config_file=_BERT_CONFIG_FILE.value,
        task_name=_TASK_NAME.value,
        vocab_file=_VOCAB_FILE.value,
        output_dir=_OUTPUT_DIR.value,
        init_checkpoint=_INIT_CHECKPOINT.value,
        do_lower_case=_DO_LOWER_CASE.value,
        preserve_unused_tokens=_PRESERVE_UNUSED_TOKENS.value,
        max_seq_length=_MAX_SEQ_LENGTH.value,
        do_train=_DO_TRAIN.value,
        do_eval=_DO_EVAL.value,
        do_predict=_DO_PREDICT.value,
        train_batch_size=_TRAIN_BATCH_SIZE.value,
        eval_batch_size=_EVAL_BATCH_SIZE.value,
        predict_batch_size=_PREDICT_BATCH_SIZE.value,
        learning_rate=_LEARNING_RATE.value,
        num_train_epochs=_NUM_TRAIN_EPOCHS.value,
        warmup_proportion=_WARMUP_PROPORTION.value,
        save_checkpoints_steps=_SAVE_CHECKPOINTS_STEPS.value,
        iterations_per_loop=_ITERATIONS_PER_LOOP.value,
        use_tpu=_USE_TPU.value,
        tpu_name=_TPU_NAME.value,
        tpu_zone=_TPU_ZONE.value,
        gcp_project=_GCP_PROJECT.value,
        master=_MASTER.value,
        tpu_job_name=_TPU_JOB_NAME.value,
        num_tpu_cores=_NUM_TPU_CORES.value,
        precision=_PRECISION.value,
        use_xla=_USE_XLA.value,
        optimizer=_OPTIMIZER.value,
        gradient_accumulation_steps=_GRADIENT_ACCUMULATION_STEPS.value,
        random_seed=_RANDOM_SEED.value,
        export_dir=_EXPORT_DIR.value,
    )
    run_lib.run(params)


if __name__ == "__main__":
    flags.mark_flags_as_required(
        ["data_dir", "task_name", "vocab_file", "bert_config_file",
         "output_dir"]
    )
    app.run(main)
