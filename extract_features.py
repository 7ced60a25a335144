"""Extract pre-computed feature vectors from BERT.

Drop-in for google-research/bert's extract_features.py: same flags, same
defaults, same JSON Lines output. --precision is an addition of bert_tf.
"""

from absl import app
from absl import flags

from bert_tf import cli
from bert_tf import feature_extraction

_INPUT_FILE = flags.DEFINE_string("input_file", None, "")
_OUTPUT_FILE = flags.DEFINE_string("output_file", None, "")
_LAYERS = flags.DEFINE_string("layers", "-1,-2,-3,-4", "")
_BERT_CONFIG_FILE = flags.DEFINE_string(
    "bert_config_file", None,
    "The config json file corresponding to the pre-trained BERT model. "
    "This specifies the model architecture.")
_MAX_SEQ_LENGTH = flags.DEFINE_integer(
    "max_seq_length", 128,
    "The maximum total input sequence length after WordPiece tokenization. "
    "Sequences longer than this will be truncated, and sequences shorter "
    "than this will be padded.")
_INIT_CHECKPOINT = flags.DEFINE_string(
    "init_checkpoint", None,
    "Initial checkpoint (usually from a pre-trained BERT model).")
_VOCAB_FILE = flags.DEFINE_string(
    "vocab_file", None,
    "The vocabulary file that the BERT model was trained on.")
_DO_LOWER_CASE = flags.DEFINE_bool(
    "do_lower_case", True,
    "Whether to lower case the input text. Should be True for uncased "
    "models and False for cased models.")
_BATCH_SIZE = flags.DEFINE_integer(
    "batch_size", 32, "Batch size for predictions.")
_USE_TPU = flags.DEFINE_bool("use_tpu", False, "Whether to use TPU or GPU/CPU.")
_MASTER = flags.DEFINE_string(
    "master", None, "If using a TPU, the address of the master.")
_NUM_TPU_CORES = flags.DEFINE_integer(
    "num_tpu_cores", 8,
    "Only used if `use_tpu` is True. Total number of TPU cores to use.")
_USE_ONE_HOT_EMBEDDINGS = flags.DEFINE_bool(
    "use_one_hot_embeddings", False,
    "If True, tf.one_hot will be used for embedding lookups, otherwise "
    "tf.nn.embedding_lookup will be used. On TPUs, this should be True "
    "since it is much faster.")

# Addition of bert_tf.
_PRECISION = flags.DEFINE_enum(
    "precision", "fp32", ["auto", "fp32", "bf16", "fp16"],
    "Compute precision. fp32 (the default here) is the exact mode of the "
    "original; auto: mixed bfloat16 where the hardware has it, else fp32. "
    "The values are rounded to 6 decimals either way.")

_PRESERVE_UNUSED_TOKENS = flags.DEFINE_bool(
    "preserve_unused_tokens", False,
    "Keep the vocab's [unusedN] tokens whole where they appear in the text "
    "(the flag of the bert-tensorflow 1.0.4 wheel).")


@cli.exits_on_user_error
def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    params = feature_extraction.ExtractParams(
        input_file=_INPUT_FILE.value,
        output_file=_OUTPUT_FILE.value,
        layers=_LAYERS.value,
        bert_config_file=_BERT_CONFIG_FILE.value,
        max_seq_length=_MAX_SEQ_LENGTH.value,
        init_checkpoint=_INIT_CHECKPOINT.value,
        vocab_file=_VOCAB_FILE.value,
        do_lower_case=_DO_LOWER_CASE.value,
        preserve_unused_tokens=_PRESERVE_UNUSED_TOKENS.value,
        batch_size=_BATCH_SIZE.value,
        use_tpu=_USE_TPU.value,
        master=_MASTER.value,
        num_tpu_cores=_NUM_TPU_CORES.value,
        use_one_hot_embeddings=_USE_ONE_HOT_EMBEDDINGS.value,
        precision=_PRECISION.value,
    )
    feature_extraction.extract(params)


if __name__ == "__main__":
    flags.mark_flags_as_required([
        "input_file", "vocab_file", "bert_config_file", "init_checkpoint",
        "output_file",
    ])
    app.run(main)
