"""Create masked LM/next sentence masked_lm TF examples for BERT.

Drop-in for google-research/bert's create_pretraining_data.py: the same
flags, defaults and output. New: --num_workers (default 1, the reference's
exact output); with more workers the documents are sharded over processes
(see bert_tf.pretraining.create_data). The help of each addition says so
("[bert_tf addition]").
"""

from absl import app
from absl import flags

import bert_tf_flags
from bert_tf.pretraining import create_data

flags.DEFINE_string(
    "input_file", None,
    "Input raw text file (or comma-separated list of files).")

flags.DEFINE_string(
    "output_file", None,
    "Output TF example file (or comma-separated list of files).")

flags.DEFINE_string(
    "vocab_file", None,
    "The vocabulary file that the BERT model was trained on.")

flags.DEFINE_bool(
    "do_lower_case", True,
    "Whether to lower case the input text. Should be True for uncased "
    "models and False for cased models.")

flags.DEFINE_bool(
    "do_whole_word_mask", False,
    "Whether to use whole word masking rather than per-WordPiece masking.")

flags.DEFINE_integer(
    "max_seq_length", 128, "Maximum sequence length.")

flags.DEFINE_integer(
    "max_predictions_per_seq", 20,
    "Maximum number of masked LM predictions per sequence.")

flags.DEFINE_integer(
    "random_seed", 12345, "Random seed for data generation.")

flags.DEFINE_integer(
    "dupe_factor", 10,
    "Number of times to duplicate the input data (with different masks).")

flags.DEFINE_float(
    "masked_lm_prob", 0.15, "Masked LM probability.")

flags.DEFINE_float(
    "short_seq_prob", 0.1,
    "Probability of creating sequences which are shorter than the "
    "maximum length.")

flags.DEFINE_integer(
    "num_workers", 1,
    bert_tf_flags.ADDITION + "Number of processes. 1 reproduces the original script exactly; more "
    "shard the documents over processes (each with its own random seed "
    "derived from --random_seed), which is faster but gives different, "
    "equally valid instances.")

bert_tf_flags.define_preserve_unused_tokens()


main = bert_tf_flags.script_main(
    create_data.run, create_data.CreatePretrainingDataParams
)


if __name__ == "__main__":
    flags.mark_flags_as_required(["input_file", "output_file", "vocab_file"])
    app.run(main)
