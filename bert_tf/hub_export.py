"""A BERT checkpoint as TF Hub's text preprocessor and encoder SavedModels.

They implement TF Hub's "Common SavedModel APIs for Text" (text embeddings
with Transformer encoders), so code written for TF Hub's BERT models runs
on any Google checkpoint, including ones pretrained with
run_pretraining.py:

    preprocessor = hub.load("DIR/preprocessor/1")  # or tf.saved_model.load
    encoder = hub.load("DIR/encoder/1")
    outputs = encoder(preprocessor(tf.constant(["the cat sat."])))
    outputs["pooled_output"], outputs["sequence_output"],
    outputs["encoder_outputs"], outputs["default"]

* The preprocessor maps [batch] strings to `input_word_ids`, `input_mask`
  and `input_type_ids`, int32 [batch, seq_length] (seq_length is the
  export's --max_seq_length). Its `tokenize` gives the word-piece ids, an
  int32 RaggedTensor [batch, (tokens)] (`GraphTokenizer`, the ids of
  `FullTokenizer`), and `bert_pack_inputs([segments], seq_length=...)`
  packs one or two tokenized segments as `convert_single_example` does
  (`[CLS] a [SEP] b [SEP]`, the longer segment losing its last tokens
  first). `tokenize.get_special_tokens_dict()` gives the special ids.
* The encoder maps that dict to `pooled_output` [batch, H],
  `sequence_output` [batch, seq_length, H], `encoder_outputs` (the L
  layers) and `default` (= pooled_output), as `BertModel` computes them
  (float32), with `training=True` for dropout when fine-tuned. It has
  `variables`, `trainable_variables` and `regularization_losses`, the
  Reusable SavedModel API. Its `serving_default` signature (TF Serving)
  returns the layers as `encoder_outputs_0` ... `encoder_outputs_{L-1}`.

Not here: the masked-LM head (TF Hub's `mlm` sub-object).
"""

import os

import tensorflow as tf

from bert_tf import serving
from bert_tf.classifier import export as classifier_export
from bert_tf.graph_tokenizer import GraphTokenizer
from bert_tf.tokenization import load_vocab

_INPUT_NAMES = ("input_word_ids", "input_mask", "input_type_ids")


def _pack(segments, cls_id, sep_id, seq_length):
    """bert_pack_inputs: 1 or 2 ragged id tensors to the encoder's inputs."""
    if not 1 <= len(segments) <= 2:
        raise ValueError(
            f"bert_pack_inputs: BERT takes 1 or 2 segments, got {len(segments)}"
        )
    flat = [tf.cast(segment, tf.int32) for segment in segments]
    features = classifier_export.build_features(
        flat[0], flat[1] if len(flat) == 2 else None, cls_id, sep_id,
        seq_length,
    )
    return dict(zip(_INPUT_NAMES, (features["input_ids"],
                                   features["input_mask"],
                                   features["segment_ids"])))


def preprocessor_module(tokenizer, special_tokens, max_seq_length):
    """The preprocessor's root object, with its callable sub-objects.

    Args:
      tokenizer: a `GraphTokenizer`.
      special_tokens: `special_tokens_dict(vocab_file)`.
      max_seq_length: the default seq_length.
    """
    cls_id = special_tokens["start_of_sequence_id"]
    sep_id = special_tokens["end_of_segment_id"]
    text = tf.TensorSpec([None], tf.string)
    root = serving.ExportRoot()
    root.tokenizer = tokenizer
    root.tokenize = serving.ExportRoot()
    root.tokenize.__call__ = tf.function(
        lambda texts: tokenizer(texts), input_signature=[text],
        autograph=False,
    )
    root.tokenize.get_special_tokens_dict = serving.ExportRoot()
    root.tokenize.get_special_tokens_dict.__call__ = tf.function(
        lambda: {k: tf.constant(v) for k, v in special_tokens.items()},
        input_signature=[],
    )

    # No autograph: nothing here branches on tensors, and converting the
    # ragged code takes seconds per trace.
    @tf.function(autograph=False)
    def pack(inputs, seq_length=max_seq_length):
        return _pack(inputs, cls_id, sep_id, seq_length)

    # `tokenize` returns one ragged dimension, so segments come with one.
    for num_segments in (1, 2):
        pack.get_concrete_function(
            [tf.RaggedTensorSpec([None, None], tf.int32)] * num_segments,
            seq_length=tf.TensorSpec([], tf.int32),
        )
    root.bert_pack_inputs = serving.ExportRoot()
    root.bert_pack_inputs.__call__ = pack
    root.__call__ = tf.function(
        lambda sentences: _pack(
            [tokenizer(sentences)], cls_id, sep_id, max_seq_length
        ),
        input_signature=[text], autograph=False,
    )
    return root


def encoder_module(model):
    """(root object, serving signature) of the encoder of a `BertModel`."""
    spec = {name: tf.TensorSpec([None, None], tf.int32, name=name)
            for name in _INPUT_NAMES}

    @tf.function
    def encode(inputs, training=False):
        outputs = model(
            {
                "input_ids": inputs["input_word_ids"],
                "input_mask": inputs["input_mask"],
                "segment_ids": inputs["input_type_ids"],
            },
            training=training,
        )
        return {
            "pooled_output": outputs["pooled_output"],
            "sequence_output": outputs["sequence_output"],
            "encoder_outputs": outputs["all_encoder_layers"],
            "default": outputs["pooled_output"],
        }

    functions = [encode.get_concrete_function(spec, training=training)
                 for training in (False, True)]

    @tf.function(input_signature=[spec])
    def serve(inputs):
        outputs = encode(inputs)
        layers = outputs.pop("encoder_outputs")
        for i, layer in enumerate(layers):
            outputs[f"encoder_outputs_{i}"] = layer
        return outputs

    root = serving.ExportRoot()
    root.__call__ = encode
    root.regularization_losses = []
    serving.track_variables(root, functions)
    return root, serve.get_concrete_function()


def special_tokens_dict(vocab_file):
    """TF Hub's `get_special_tokens_dict()` values, from the vocab."""
    vocab = load_vocab(vocab_file)
    cls_id, sep_id = classifier_export.special_token_ids(vocab_file)
    special = {
        "vocab_size": max(vocab.values()) + 1,
        "start_of_sequence_id": cls_id,
        "end_of_segment_id": sep_id,
        "padding_id": vocab.get("[PAD]", 0),
    }
    if "[MASK]" in vocab:
        special["mask_id"] = vocab["[MASK]"]
    return special


def export_hub_models(model, export_dir, vocab_file, do_lower_case,
                      max_seq_length, preserve_unused_tokens=False,
                      version=None, checkpoint=None):
    """Writes export_dir/preprocessor/<v>/ and export_dir/encoder/<v>/.

    Args:
      model: a float32 `BertModel` holding the checkpoint's weights.
      export_dir: the base directory.
      vocab_file, do_lower_case, preserve_unused_tokens: the tokenizer.
      max_seq_length: the preprocessor's default seq_length.
      version: the version of both, or None for the next free one in both.
      checkpoint: the checkpoint the weights came from, for export_info.

    Returns:
      (preprocessor directory, encoder directory). Both are checked before
      either is written; if the encoder fails, the preprocessor is removed.
    """
    bases = [os.path.join(export_dir, name)
             for name in ("preprocessor", "encoder")]
    if version is None:  # the next version free in both
        version = max(
            int(os.path.basename(serving.version_path(base)))
            for base in bases
        )
    for base in bases:
        serving.version_path(base, version)
    special = special_tokens_dict(vocab_file)
    info = {"do_lower_case": do_lower_case, "checkpoint": checkpoint,
            "preserve_unused_tokens": preserve_unused_tokens,
            "seq_length": max_seq_length}

    def build_preprocessor():
        tokenizer = GraphTokenizer(
            vocab_file, do_lower_case,
            preserve_unused_tokens=preserve_unused_tokens,
        )
        root = preprocessor_module(tokenizer, special, max_seq_length)
        return root, {"serving_default": root.__call__.get_concrete_function()}

    def build_encoder():
        root, signature = encoder_module(model)
        return root, {"serving_default": signature}

    preprocessor = serving.write_saved_model(
        bases[0], version, build_preprocessor,
        dict(info, kind="TF Hub text preprocessor for BERT"),
    )
    try:
        encoder = serving.write_saved_model(
            bases[1], version, build_encoder,
            dict(info, kind="TF Hub BERT encoder"),
        )
    except BaseException:
        tf.io.gfile.rmtree(preprocessor)
        if not tf.io.gfile.listdir(bases[0]):
            tf.io.gfile.rmtree(bases[0])
        raise
    return preprocessor, encoder
