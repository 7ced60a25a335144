"""Exports a fine-tuned SQuAD model as a SavedModel: raw text in, answer out.

`serving_default` takes `question` and `context`, [batch] strings, and
returns for each question:

* `answer`: string, as `predictions.json` would have it;
* `start_char`, `end_char`: int32 offsets of the answer in `context`
  (Python string indexes, end exclusive), -1 when there is no answer;
* `score`: float32, the best span's start logit + end logit;
* SQuAD 2.0 models also `null_score_diff` (the value `null_odds.json`
  holds), and `answer` is "" where it exceeds the
  --null_score_diff_threshold the model was exported with.

Everything run_squad.py does between the JSON file and predictions.json
runs in the graph, in the original's steps: `graph_features` cuts the
context into the windows of `convert_examples_to_features`, the model
scores every window, and `graph_postprocess` picks the answer as
`write_predictions` does.

Where the answers can differ from predictions.json on the same weights:
logits differ in the last float32 bits from the runner's (other kernels),
which can swap two spans whose scores tie to ~1e-6; the original answers
"empty" when no span is valid at all (no window, or every top start in the
question), the export answers "" with offsets -1; with
--preserve_unused_tokens, `get_final_text` here keeps "[unusedN]" whole in
the text it searches (the original splits it and falls back to the whole
words). `answer` joins the words with one space, as predictions.json does,
so it equals `context[start_char:end_char]` up to runs of whitespace.
"""

import dataclasses

import tensorflow as tf

from bert_tf import serving
from bert_tf.classifier import export as classifier_export
from bert_tf.graph_tokenizer import GraphTokenizer
from bert_tf.squad import graph_features
from bert_tf.squad import graph_postprocess


@dataclasses.dataclass(frozen=True)
class SpanSettings:
    """The run_squad.py flags that the export bakes in (same names)."""

    max_seq_length: int = 384
    doc_stride: int = 128
    max_query_length: int = 64
    n_best_size: int = 20
    max_answer_length: int = 30
    version_2_with_negative: bool = False
    null_score_diff_threshold: float = 0.0


def _answer_function(model, tokenizer, tokens, cls_id, sep_id, settings):
    """The serving function: question and context in, answer out."""

    # No autograph: nothing branches on tensors (map_fn is an op), and
    # converting this much ragged code takes seconds.
    @tf.function(
        input_signature=[tf.TensorSpec([None], tf.string)] * 2,
        autograph=False,
    )
    def answer(question, context):
        windows = graph_features.doc_windows(
            tokenizer, question, context, cls_id, sep_id, settings
        )
        features = {
            name: windows[name]
            for name in ("input_ids", "input_mask", "segment_ids")
        }
        logits = model(features, training=False)
        return graph_postprocess.choose_answers(
            windows, logits["start_logits"], logits["end_logits"],
            tf.constant(tokens), tokenizer.basic_tokenize, settings,
        )

    return answer


def export_saved_model(model, export_dir, vocab_file, do_lower_case, settings,
                       preserve_unused_tokens=False, version=None,
                       checkpoint=None):
    """Writes `export_dir/<version>/`: question and context in, answer out.

    Args:
      model: a fine-tuned float32 `BertSpanModel`.
      export_dir: the base directory (see `bert_tf.serving`).
      vocab_file, do_lower_case, preserve_unused_tokens: the tokenizer of
        the fine-tuning run.
      settings: a `SpanSettings`, the run_squad.py flags to bake in.
      version: the subdirectory number; None for the next free one.
      checkpoint: the checkpoint the weights came from, for export_info.

    Returns:
      the directory written.
    """
    cls_id, sep_id = classifier_export.special_token_ids(vocab_file)
    tokens = graph_postprocess.vocab_tokens(vocab_file)

    def build():
        tokenizer = GraphTokenizer(
            vocab_file, do_lower_case,
            preserve_unused_tokens=preserve_unused_tokens,
        )
        answer = _answer_function(
            model, tokenizer, tokens, cls_id, sep_id, settings
        )
        root = serving.ExportRoot()
        root.tokenizer = tokenizer
        root.answer = answer
        concrete = answer.get_concrete_function()
        serving.track_variables(root, [concrete])
        return root, {"serving_default": concrete}

    info = dict(
        dataclasses.asdict(settings),
        kind="bert_tf raw-text SQuAD",
        inputs=["question", "context"],
        do_lower_case=do_lower_case,
        preserve_unused_tokens=preserve_unused_tokens,
        checkpoint=checkpoint,
    )
    return serving.write_saved_model(export_dir, version, build, info)
