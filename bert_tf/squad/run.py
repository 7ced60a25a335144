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
  `output_dir`, scored by the official evaluate-v1.1.py / evaluate-v2.0.py.

Differences from the original: every input is read and checked before
any work starts (a bad predict file fails before training, not after);
bad input is one line naming the flag or file; output files appear only
when complete; a SQuAD 2.0 question whose n-best list holds only the null
answer is predicted "" instead of crashing (see `postprocess`).
"""

import dataclasses
import os
import random
from typing import Optional

from absl import logging

from bert_tf import checkpoints
from bert_tf import errors
from bert_tf import file_io
from bert_tf import runner_settings
from bert_tf import tokenization
from bert_tf.config import BertConfig
from bert_tf.squad import examples as examples_lib
from bert_tf.squad import features as features_lib
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
    # Addition of bert_tf (not in the original).
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


def _train(params, data, runner):
    path, _ = _write_features(
        params, data, data.train_examples, True, "train.tf_record",
        "***** Running training *****",
    )
    logging.info("  Num steps = %d", data.num_train_steps)
    input_fn = features_lib.input_fn_builder(
        input_file=path,
        seq_length=params.max_seq_length,
        is_training=True,
        drop_remainder=True,
        batch_size=params.train_batch_size,
        seed=params.runner.random_seed,
    )
    runner.train(input_fn, max_steps=data.num_train_steps,
                 batch_size=params.train_batch_size)


def _predict(params, data, runner):
    if not runner.is_chief:
        logging.info("Prediction runs on the chief worker only; skipped here")
        return None
    path, eval_features = _write_features(
        params, data, data.predict_examples, False, "eval.tf_record",
        "***** Running predictions *****",
    )
    input_fn = features_lib.input_fn_builder(
        input_file=path,
        seq_length=params.max_seq_length,
        is_training=False,
        drop_remainder=False,
        batch_size=params.predict_batch_size,
    )
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
    postprocess.write_predictions(
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
    return all_results


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
    runner = runner_settings.build_estimator(params.runner, task)
    if params.do_train:
        _train(params, data, runner)
    if params.do_predict:
        return _predict(params, data, runner)
    return None
