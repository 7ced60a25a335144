"""run_squad.py's work: fine-tune on SQuAD 1.1 / 2.0 and write predictions.

`run(SquadParams(...))` does what the original `main` did, on the shared
`Estimator`:

* `--do_train`: the training questions are shuffled with
  `random.Random(12345)` (as the original, so the same windows land in the
  same batches), written to `output_dir/train.tf_record`, and trained on
  for `int(num_questions / train_batch_size * num_train_epochs)` steps
  (counted in questions, not windows, as the original). Checkpoints go to
  `output_dir`, which is resumed from; `init_checkpoint` only warm-starts a
  fresh `output_dir`.
* `--do_predict`: `output_dir/eval.tf_record`, then `predictions.json`,
  `nbest_predictions.json` and, for SQuAD 2.0, `null_odds.json` in
  `output_dir`. When the predict file has answers, also `eval_results.txt`:
  exact match and F1 as the official evaluate-v1.1.py / evaluate-v2.0.py
  compute them (`evaluation`), which the original left to those scripts.
* `--export_dir`: a SavedModel of the final weights that answers from raw
  question and context (`bert_tf.squad.export`).

Differences from the original: every input is read and checked before
any work starts (a bad predict file fails before training, not after);
bad input is one line naming the flag or file; output files appear only
when complete; a SQuAD 2.0 question whose n-best list holds only the null
answer is predicted "" instead of crashing (see `postprocess`).
"""

import dataclasses
import json
import os
import random
from typing import Optional

import tensorflow as tf
from absl import logging

from bert_tf import checkpoints
from bert_tf import errors
from bert_tf import estimator
from bert_tf import file_io
from bert_tf import runner_settings
from bert_tf import serving
from bert_tf import tokenization
from bert_tf.config import BertConfig
from bert_tf.squad import evaluation
from bert_tf.squad import examples as examples_lib
from bert_tf.squad import export as export_lib
from bert_tf.squad import features as features_lib
from bert_tf.squad import model as model_lib
from bert_tf.squad import postprocess
from bert_tf.squad import task as task_lib

# The original pre-shuffled the training questions with this seed, so a
# large shuffle buffer is not needed.
_TRAIN_SHUFFLE_SEED = 12345
_PROGRESS_EVERY = 1000


@dataclasses.dataclass(kw_only=True)
class SquadParams:
    """The flags of run_squad.py (original names, order and defaults).

    The flags every runner shares are in `runner`.
    """

    bert_config_file: str
    vocab_file: str
    train_file: Optional[str] = None
    predict_file: Optional[str] = None
    do_lower_case: bool = True
    max_seq_length: int = 384
    doc_stride: int = 128
    max_query_length: int = 64
    do_train: bool = False
    do_predict: bool = False
    train_batch_size: int = 32
    predict_batch_size: int = 8
    learning_rate: float = 5e-5
    num_train_epochs: float = 3.0
    warmup_proportion: float = 0.1
    n_best_size: int = 20
    max_answer_length: int = 30
    verbose_logging: bool = False
    version_2_with_negative: bool = False
    null_score_diff_threshold: float = 0.0
    # Additions of bert_tf (not in the original).
    export_dir: Optional[str] = None
    preserve_unused_tokens: bool = False
    runner: runner_settings.RunnerSettings


@dataclasses.dataclass
class SquadData:
    """What `validate` read and checked: everything `run` needs as input.

    Example lists are None for the modes that were not requested; the
    training examples are already shuffled.
    """

    config: BertConfig
    tokenizer: tokenization.FullTokenizer
    train_examples: Optional[list] = None
    predict_examples: Optional[list] = None
    num_train_steps: Optional[int] = None
    num_warmup_steps: Optional[int] = None


def _check_flags(params, config):
    """validate_flags_or_throw of the original, in its order and words."""
    tokenization.validate_case_matches_checkpoint(
        params.do_lower_case, params.runner.init_checkpoint
    )
    if not params.do_train and not params.do_predict:
        raise errors.UserInputError(
            "At least one of `do_train` or `do_predict` must be True."
        )
    if params.do_train and not params.train_file:
        raise errors.UserInputError(
            "If `do_train` is True, then `train_file` must be specified."
        )
    if params.do_predict and not params.predict_file:
        raise errors.UserInputError(
            "If `do_predict` is True, then `predict_file` must be specified."
        )
    config.check_max_seq_length(params.max_seq_length)
    if params.max_seq_length <= params.max_query_length + 3:
        raise errors.UserInputError(
            f"The max_seq_length ({params.max_seq_length}) must be greater "
            f"than max_query_length ({params.max_query_length}) + 3"
        )


def _check_settings(params):
    """Values the original accepted but then hung or crashed on."""
    errors.require_positive(params, (
        "train_batch_size", "predict_batch_size", "doc_stride",
        "n_best_size", "max_answer_length",
    ))
    if params.max_query_length < 0:
        raise errors.UserInputError(
            f"--max_query_length={params.max_query_length}: expected >= 0"
        )


def _read_train_examples(params, data):
    examples = examples_lib.read_squad_examples(
        params.train_file, is_training=True,
        version_2_with_negative=params.version_2_with_negative,
        what="train_file",
    )
    data.num_train_steps, data.num_warmup_steps = (
        runner_settings.fine_tuning_steps(
            len(examples), params,
            f"--train_file={params.train_file!r} has {len(examples)} usable "
            "questions",
        )
    )
    random.Random(_TRAIN_SHUFFLE_SEED).shuffle(examples)
    data.train_examples = examples


def validate(params):
    """validate_flags_or_throw, then the inputs; returns a `SquadData`.

    The SQuAD files the requested modes need are read here, so that a bad
    predict file fails the run before training. Raises UserInputError, one
    line naming the flag or file.
    """
    errors.require_set(params, ("bert_config_file", "vocab_file"))
    params.runner.check()
    config = BertConfig.from_json_file(params.bert_config_file)
    _check_flags(params, config)
    _check_settings(params)
    tokenizer = tokenization.FullTokenizer(
        params.vocab_file,
        do_lower_case=params.do_lower_case,
        preserve_unused_tokens=params.preserve_unused_tokens,
    )
    config.check_vocab(tokenizer.vocab, params.vocab_file)
    if params.runner.init_checkpoint:
        checkpoints.resolve_checkpoint_path(params.runner.init_checkpoint)
    serving.check_export_dir(
        params.export_dir, params.do_train, params.runner,
        "cls/squad/output_weights", "SQuAD head", "run_squad.py",
    )

    data = SquadData(config, tokenizer)
    if params.do_train:
        _read_train_examples(params, data)
    if params.do_predict:
        data.predict_examples = examples_lib.read_squad_examples(
            params.predict_file, is_training=False, what="predict_file"
        )
        if not data.predict_examples:
            raise errors.UserInputError(
                f"--predict_file={params.predict_file!r} has no questions"
            )
    return data


def _write_features(params, data, examples, is_training, name, title):
    """Windows of `examples` into `name` in output_dir; (path, features).

    The features are kept for prediction only: postprocessing needs them.
    """
    path = os.path.join(params.runner.output_dir, name)
    kept = []
    with features_lib.FeatureWriter(path, is_training=is_training) as writer:

        def output_fn(feature):
            writer.process_feature(feature)
            if not is_training:
                kept.append(feature)

        num_features = features_lib.convert_examples_to_features(
            examples=examples,
            tokenizer=data.tokenizer,
            max_seq_length=params.max_seq_length,
            doc_stride=params.doc_stride,
            max_query_length=params.max_query_length,
            is_training=is_training,
            output_fn=output_fn,
        )
    batch_size = (
        params.train_batch_size if is_training else params.predict_batch_size
    )
    logging.info(title)
    logging.info("  Num orig examples = %d", len(examples))
    logging.info("  Num split examples = %d", num_features)
    logging.info("  Batch size = %d", batch_size)
    return path, kept


def _input_fn(params, data, path, is_training):
    """The runner's input_fn over a TFRecord file of `_write_features`."""
    return features_lib.input_fn_builder(
        input_file=path,
        seq_length=params.max_seq_length,
        is_training=is_training,
        drop_remainder=is_training,
        batch_size=(
            params.train_batch_size if is_training else params.predict_batch_size
        ),
        seed=params.runner.random_seed,
        vocab_size=data.config.vocab_size,
    )


def _train(params, data, runner):
    path, _ = _write_features(
        params, data, data.train_examples, True, "train.tf_record",
        "***** Running training *****",
    )
    logging.info("  Num steps = %d", data.num_train_steps)
    runner.train(_input_fn(params, data, path, is_training=True),
                 max_steps=data.num_train_steps,
                 batch_size=params.train_batch_size)


def _predict(params, data, runner):
    if not runner.is_chief:
        logging.info("Prediction runs on the chief worker only; skipped here")
        return None
    path, eval_features = _write_features(
        params, data, data.predict_examples, False, "eval.tf_record",
        "***** Running predictions *****",
    )
    input_fn = _input_fn(params, data, path, is_training=False)
    all_results = []
    for result in runner.predict(input_fn):
        if len(all_results) % _PROGRESS_EVERY == 0:
            logging.info("Processing example: %d", len(all_results))
        all_results.append(postprocess.RawResult(
            unique_id=int(result["unique_ids"]),
            start_logits=[float(x) for x in result["start_logits"].flat],
            end_logits=[float(x) for x in result["end_logits"].flat],
        ))
    if len(all_results) != len(eval_features):
        raise RuntimeError(
            f"got {len(all_results)} predictions for {len(eval_features)} "
            "features"
        )
    output_dir = params.runner.output_dir
    all_predictions = postprocess.write_predictions(
        data.predict_examples,
        eval_features,
        all_results,
        n_best_size=params.n_best_size,
        max_answer_length=params.max_answer_length,
        do_lower_case=params.do_lower_case,
        output_prediction_file=os.path.join(output_dir, "predictions.json"),
        output_nbest_file=os.path.join(output_dir, "nbest_predictions.json"),
        output_null_log_odds_file=os.path.join(output_dir, "null_odds.json"),
        version_2_with_negative=params.version_2_with_negative,
        null_score_diff_threshold=params.null_score_diff_threshold,
        verbose_logging=params.verbose_logging,
    )
    _evaluate(params, all_predictions)
    return all_results


def _evaluate(params, predictions):
    """eval_results.txt: the official EM/F1, when the predict file has answers.

    SQuAD 2.0 is scored as Google's README runs evaluate-v2.0.py: with
    null_odds.json as the --na-prob-file.
    """
    dataset = evaluation.read_dataset(params.predict_file)
    if not evaluation.has_answers(dataset):
        return None
    output_dir = params.runner.output_dir
    if params.version_2_with_negative:
        path = os.path.join(output_dir, "null_odds.json")
        with file_io.open_text(path) as f:
            results = evaluation.evaluate_v2(dataset, predictions, json.load(f))
    else:
        results = evaluation.evaluate_v1(dataset, predictions)
    estimator.write_eval_results(
        os.path.join(output_dir, "eval_results.txt"), results
    )
    return results


def _export(params, data):
    """Exports the raw-text SQuAD SavedModel of the final weights."""
    # float32 whatever the training precision: the checkpoint's weights,
    # and outputs equal to --precision=fp32 predictions.
    model = model_lib.BertSpanModel(data.config, dtype="float32")
    source = serving.fine_tuned_source(params.runner)
    try:
        checkpoints.load_tf1_checkpoint(model, source)
    except errors.UserInputError as e:
        raise errors.UserInputError(f"--export_dir: {e}") from None
    settings = export_lib.SpanSettings(**{
        field.name: getattr(params, field.name)
        for field in dataclasses.fields(export_lib.SpanSettings)
    })
    logging.info("Exporting %s to %s", source, params.export_dir)
    export_lib.export_saved_model(
        model, params.export_dir, params.vocab_file, params.do_lower_case,
        settings, preserve_unused_tokens=params.preserve_unused_tokens,
        version=serving.export_version(source), checkpoint=source,
    )


def run(params):
    """Trains and/or predicts, in the original's order.

    Returns:
      with do_predict (on the chief), the list of `postprocess.RawResult`
      (one per window, in eval.tf_record order) that the prediction files
      were computed from; else None.
    """
    data = validate(params)
    task = task_lib.SquadTask(
        bert_config=data.config,
        learning_rate=params.learning_rate,
        num_train_steps=data.num_train_steps,
        num_warmup_steps=data.num_warmup_steps,
        **params.runner.optimizer_fields(),
    )
    with runner_settings.running(params.runner, task) as runner:
        if params.do_train:
            _train(params, data, runner)
        results = None
        if params.do_predict:
            results = _predict(params, data, runner)
        if params.export_dir and runner.is_chief:
            _export(params, data)
    return results
