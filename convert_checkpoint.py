"""Convert BERT weights between Hugging Face and Google's TF1 layout.

An addition of bert_tf (the original has no such script):

  python convert_checkpoint.py --hf_dir=DIR --output_dir=OUT

reads a Hugging Face BERT directory (model.safetensors, config.json,
vocab.txt, tokenizer_config.json) and writes Google's layout
(bert_config.json, vocab.txt, bert_model.ckpt.*), and

  python convert_checkpoint.py --to=hf --tf1_checkpoint=PREFIX
    --bert_config_file=... --vocab_file=... --output_dir=OUT

writes the reverse. Needs the optional safetensors package
(`pip install 'bert_tf[hf]'`). The work is bert_tf.checkpoints.hf_conversion.
"""

from absl import app
from absl import flags

import bert_tf_flags
from bert_tf.checkpoints import hf_conversion

flags.DEFINE_string(
    "hf_dir", None,
    "A Hugging Face BERT directory (model.safetensors, config.json, "
    "vocab.txt, optionally tokenizer_config.json), converted to Google's "
    "layout.")
flags.DEFINE_string(
    "tf1_checkpoint", None,
    "With --to=hf: a Google TF1 BERT checkpoint (the prefix, e.g. "
    ".../bert_model.ckpt, one of its files, or its directory).")
flags.DEFINE_string(
    "bert_config_file", None,
    "With --to=hf: the config json file corresponding to the pre-trained "
    "BERT model. This specifies the model architecture.")
flags.DEFINE_string(
    "vocab_file", None,
    "With --to=hf: the vocabulary file that the BERT model was trained on.")
flags.DEFINE_string(
    "output_dir", None,
    "The directory to write. It must not exist yet or be empty; it appears "
    "only once complete.")
flags.DEFINE_enum(
    "to", "tf1", hf_conversion.DIRECTIONS,
    "tf1: --hf_dir to Google's layout; hf: --tf1_checkpoint to Hugging "
    "Face's.")
flags.DEFINE_bool(
    "do_lower_case", True,
    "Whether to lower case the input text. Should be True for uncased "
    "models and False for cased models. With --to=hf, written to "
    "tokenizer_config.json (with --hf_dir it is read from there).")


main = bert_tf_flags.script_main(hf_conversion.convert, hf_conversion.ConvertParams)


if __name__ == "__main__":
    flags.mark_flags_as_required(["output_dir"])
    app.run(main)
