"""Run masked LM/next sentence masked_lm pre-training for BERT.

Drop-in for google-research/bert's run_pretraining.py: same flags, same
defaults, same files in --output_dir. The flags after --num_tpu_cores are
additions of bert_tf.
"""

from absl import app
from absl import flags

from bert_tf import cli
from bert_tf.pretraining import run as run_lib

_BERT_CONFIG_FILE = flags.DEFINE_string(
    "bert_config_file", None,
    "The config json file corresponding to the pre-trained BERT model. "
    "This specifies the model architecture.")
_INPUT_FILE = flags.DEFINE_string(
    "input_file", None,
    "Input TF example files (can be a glob or comma separated).")
_OUTPUT_DIR = flags.DEFINE_string(
    "output_dir", None,
    "The output directory where the model checkpoints will be written.")
_INIT_CHECKPOINT = flags.DEFINE_string(
    "init_checkpoint", None,
    "Initial checkpoint (usually from a pre-trained BERT model).")
_MAX_SEQ_LENGTH = flags.DEFINE_integer(
    "max_seq_length", 128,
    "The maximum total input sequence length after WordPiece tokenization. "
    "Sequences longer than this will be truncated, and sequences shorter "
    "than this will be padded. Must match data generation.")
_MAX_PREDICTIONS_PER_SEQ = flags.DEFINE_integer(
    "max_predictions_per_seq", 20,
    "Maximum number of masked LM predictions per sequence. "
    "Must match data generation.")
_DO_TRAIN = flags.DEFINE_bool("do_train", False, "Whether to run training.")
_DO_EVAL = flags.DEFINE_bool("do_eval", False, "Whether to run eval on the dev set.")
_TRAIN_BATCH_SIZE = flags.DEFINE_integer(
    "train_batch_size", 32, "Total batch size for training.")
_EVAL_BATCH_SIZE = flags.DEFINE_integer(
    "eval_batch_size", 8, "Total batch size for eval.")
_LEARNING_RATE = flags.DEFINE_float(
    "learning_rate", 5e-5, "The initial learning rate for Adam.")
_NUM_TRAIN_STEPS = flags.DEFINE_integer(
    "num_train_steps", 100000, "Number of training steps.")
_NUM_WARMUP_STEPS = flags.DEFINE_integer(
    "num_warmup_steps", 10000, "Number of warmup steps.")
_SAVE_CHECKPOINTS_STEPS = flags.DEFINE_integer(
    "save_checkpoints_steps", 1000, "How often to save the model checkpoint.")
_ITERATIONS_PER_LOOP = flags.DEFINE_integer(
    "iterations_per_loop", 1000, "How many steps to make in each estimator call.")
_MAX_EVAL_STEPS = flags.DEFINE_integer(
    "max_eval_steps", 100, "Maximum number of eval steps.")
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
_MASTER = flags.DEFINE_string("master", None, "[Optional] TensorFlow master URL.")
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
    "Seed for initialization and the input pipeline; makes a run "
    "(and its resumption) deterministic. Default: not seeded, as the "
    "original.")
_DYNAMIC_MASKING = flags.DEFINE_bool(
    "dynamic_masking", False,
    "Draw new masked-LM targets for every training example on every pass "
    "(the stored masks are undone first); evaluation keeps the stored ones.")
_VOCAB_FILE = flags.DEFINE_string(
    "vocab_file", None,
    "The vocabulary of the TFRecords; needed by --dynamic_masking.")
_DO_WHOLE_WORD_MASK = flags.DEFINE_bool(
    "do_whole_word_mask", False,
    "With --dynamic_masking: mask whole words (all their ## pieces).")
_MASKED_LM_PROB = flags.DEFINE_float(
    "masked_lm_prob", 0.15, "With --dynamic_masking: the masking rate.")


@cli.exits_on_user_error
def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    params = run_lib.PretrainingParams(
        bert_config_file=_BERT_CONFIG_FILE.value,
        input_file=_INPUT_FILE.value,
        output_dir=_OUTPUT_DIR.value,
        init_checkpoint=_INIT_CHECKPOINT.value,
        max_seq_length=_MAX_SEQ_LENGTH.value,
        max_predictions_per_seq=_MAX_PREDICTIONS_PER_SEQ.value,
        do_train=_DO_TRAIN.value,
        do_eval=_DO_EVAL.value,
        train_batch_size=_TRAIN_BATCH_SIZE.value,
        eval_batch_size=_EVAL_BATCH_SIZE.value,
        learning_rate=_LEARNING_RATE.value,
        num_train_steps=_NUM_TRAIN_STEPS.value,
        num_warmup_steps=_NUM_WARMUP_STEPS.value,
        save_checkpoints_steps=_SAVE_CHECKPOINTS_STEPS.value,
        iterations_per_loop=_ITERATIONS_PER_LOOP.value,
        max_eval_steps=_MAX_EVAL_STEPS.value,
        use_tpu=_USE_TPU.value,
        tpu_name=_TPU_NAME.value,
        tpu_zone=_TPU_ZONE.value,
        gcp_project=_GCP_PROJECT.value,
        master=_MASTER.value,
        num_tpu_cores=_NUM_TPU_CORES.value,
        precision=_PRECISION.value,
        use_xla=_USE_XLA.value,
        optimizer=_OPTIMIZER.value,
        gradient_accumulation_steps=_GRADIENT_ACCUMULATION_STEPS.value,
        random_seed=_RANDOM_SEED.value,
        dynamic_masking=_DYNAMIC_MASKING.value,
        vocab_file=_VOCAB_FILE.value,
        do_whole_word_mask=_DO_WHOLE_WORD_MASK.value,
        masked_lm_prob=_MASKED_LM_PROB.value,
    )
    run_lib.run(params)


if __name__ == "__main__":
    flags.mark_flags_as_required(["input_file", "bert_config_file", "output_dir"])
    app.run(main)
