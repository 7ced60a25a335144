"""Create masked LM/next sentence masked_lm TF examples for BERT.

Drop-in for google-research/bert's create_pretraining_data.py: the same
flags, defaults and output. New: --num_workers (default 1, the reference's
exact output); with more workers the documents are sharded over processes
(see bert_tf.pretraining.create_data).
"""

from absl import app
from absl import flags
from absl import logging

from bert_tf import cli
from bert_tf.pretraining import create_data

_INPUT_FILE = flags.DEFINE_string(
    "input_file", None,
    "Input raw text file (or comma-separated list of files).")

_OUTPUT_FILE = flags.DEFINE_string(
    "output_file", None,
    "Output TF example file (or comma-separated list of files).")

_VOCAB_FILE = flags.DEFINE_string(
    "vocab_file", None,
    "The vocabulary file that the BERT model was trained on.")

_DO_LOWER_CASE = flags.DEFINE_bool(
    "do_lower_case", True,
    "Whether to lower case the input text. Should be True for uncased "
    "models and False for cased models.")

_DO_WHOLE_WORD_MASK = flags.DEFINE_bool(
    "do_whole_word_mask", False,
    "Whether to use whole word masking rather than per-WordPiece masking.")

_MAX_SEQ_LENGTH = flags.DEFINE_integer(
    "max_seq_length", 128, "Maximum sequence length.")

_MAX_PREDICTIONS_PER_SEQ = flags.DEFINE_integer(
    "max_predictions_per_seq", 20,
    "Maximum number of masked LM predictions per sequence.")

_RANDOM_SEED = flags.DEFINE_integer(
    "random_seed", 12345, "Random seed for data generation.")

_DUPE_FACTOR = flags.DEFINE_integer(
    "dupe_factor", 10,
    "Number of times to duplicate the input data (with different masks).")

_MASKED_LM_PROB = flags.DEFINE_float(
    "masked_lm_prob", 0.15, "Masked LM probability.")

_SHORT_SEQ_PROB = flags.DEFINE_float(
    "short_seq_prob", 0.1,
    "Probability of creating sequences which are shorter than the "
    "maximum length.")

_NUM_WORKERS = flags.DEFINE_integer(
    "num_workers", 1,
    "Number of processes. 1 reproduces the original script exactly; more "
    "shard the documents over processes (each with its own random seed "
    "derived from --random_seed), which is faster but gives different, "
    "equally valid instances.")

_PRESERVE_UNUSED_TOKENS = flags.DEFINE_bool(
    "preserve_unused_tokens", False,
    "Keep the vocab's [unusedN] tokens whole where they appear in the text "
    "(the flag of the bert-tensorflow 1.0.4 wheel).")


@cli.exits_on_user_error
def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    logging.set_verbosity(logging.INFO)
    params = create_data.CreatePretrainingDataParams(
        input_file=_INPUT_FILE.value,
        output_file=_OUTPUT_FILE.value,
        vocab_file=_VOCAB_FILE.value,
        do_lower_case=_DO_LOWER_CASE.value,
        preserve_unused_tokens=_PRESERVE_UNUSED_TOKENS.value,
        do_whole_word_mask=_DO_WHOLE_WORD_MASK.value,
        max_seq_length=_MAX_SEQ_LENGTH.value,
        max_predictions_per_seq=_MAX_PREDICTIONS_PER_SEQ.value,
        random_seed=_RANDOM_SEED.value,
        dupe_factor=_DUPE_FACTOR.value,
        masked_lm_prob=_MASKED_LM_PROB.value,
        short_seq_prob=_SHORT_SEQ_PROB.value,
        num_workers=_NUM_WORKERS.value,
    )
    create_data.run(params)


if __name__ == "__main__":
    flags.mark_flags_as_required(["input_file", "output_file", "vocab_file"])
    app.run(main)
