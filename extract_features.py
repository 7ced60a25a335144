"""Extract pre-computed feature vectors from BERT.

Drop-in for google-research/bert's extract_features.py: same flags, same
defaults, same JSON Lines output. --precision, --export_dir and
--preserve_unused_tokens are additions of bert_tf, and their help says so
("[bert_tf addition]"); they are defined in bert_tf_flags.py. The values are rounded to 6 decimals in every precision,
as the original's. --export_dir writes TF Hub's preprocessor and encoder
SavedModels of the checkpoint; --input_file is then optional.
"""

from absl import app
from absl import flags

import bert_tf_flags
from bert_tf import feature_extraction

flags.DEFINE_string("input_file", None, "")
flags.DEFINE_string("output_file", None, "")
flags.DEFINE_string("layers", "-1,-2,-3,-4", "")
flags.DEFINE_string(
    "bert_config_file", None,
    "The config json file corresponding to the pre-trained BERT model. "
    "This specifies the model architecture.")
flags.DEFINE_integer(
    "max_seq_length", 128,
    "The maximum total input sequence length after WordPiece tokenization. "
    "Sequences longer than this will be truncated, and sequences shorter "
    "than this will be padded.")
flags.DEFINE_string(
    "init_checkpoint", None,
    "Initial checkpoint (usually from a pre-trained BERT model).")
flags.DEFINE_string(
    "vocab_file", None,
    "The vocabulary file that the BERT model was trained on.")
flags.DEFINE_bool(
    "do_lower_case", True,
    "Whether to lower case the input text. Should be True for uncased "
    "models and False for cased models.")
flags.DEFINE_integer(
    "batch_size", 32, "Batch size for predictions.")
flags.DEFINE_bool("use_tpu", False, "Whether to use TPU or GPU/CPU.")
flags.DEFINE_string(
    "master", None, "If using a TPU, the address of the master.")
flags.DEFINE_integer(
    "num_tpu_cores", 8,
    "Only used if `use_tpu` is True. Total number of TPU cores to use.")
flags.DEFINE_bool(
    "use_one_hot_embeddings", False,
    "If True, tf.one_hot will be used for embedding lookups, otherwise "
    "tf.nn.embedding_lookup will be used. On TPUs, this should be True "
    "since it is much faster.")

# Additions of bert_tf.
bert_tf_flags.define_precision("fp32")
bert_tf_flags.define_export_dir()
bert_tf_flags.define_preserve_unused_tokens()


main = bert_tf_flags.script_main(
    feature_extraction.extract, feature_extraction.ExtractParams
)


if __name__ == "__main__":
    flags.mark_flags_as_required(
        ["vocab_file", "bert_config_file", "init_checkpoint"]
    )
    # The original required both; an export-only run (--export_dir) needs
    # neither.
    flags.register_multi_flags_validator(
        ["input_file", "output_file", "export_dir"],
        lambda values: values["export_dir"] or (
            values["input_file"] is not None
            and values["output_file"] is not None
        ),
        message="--input_file and --output_file must have a value (unless "
        "--export_dir is set)",
    )
    app.run(main)
