"""run_pretraining.py's work: train and/or evaluate MLM + NSP.

`run(PretrainingParams(...))` does what the original `main` did, on the
shared `Estimator`: checkpoints in `output_dir`, resume, `init_checkpoint`
warm start, `eval_results.txt`.
"""

import dataclasses
import os
from typing import Optional

from absl import logging

from bert_tf import errors
from bert_tf import estimator
from bert_tf import file_io
from bert_tf import runner_settings
from bert_tf.config import BertConfig
from bert_tf.pretraining import dynamic_masking
from bert_tf.pretraining import input_pipeline
from bert_tf.pretraining import task as task_lib


@dataclasses.dataclass(kw_only=True)
class PretrainingParams:
    """The flags of run_pretraining.py (original names, order and defaults).

    The flags every runner shares are in `runner`.
    """

    bert_config_file: str
    input_file: str
    max_seq_length: int = 128
    max_predictions_per_seq: int = 20
    do_train: bool = False
    do_eval: bool = False
    train_batch_size: int = 32
    eval_batch_size: int = 8
    learning_rate: float = 5e-5
    num_train_steps: int = 100000
    num_warmup_steps: int = 10000
    max_eval_steps: int = 100
    # Additions of bert_tf (not in the original).
    dynamic_masking: bool = False
    vocab_file: Optional[str] = None
    do_whole_word_mask: bool = False
    masked_lm_prob: float = 0.15
    runner: runner_settings.RunnerSettings


def validate(params):
    """The original's checks, plus clear errors for bad paths and sizes.

    Returns:
      (config, input_files, masking_vocab); masking_vocab is None without
      --dynamic_masking.
    """
    params.runner.check()
    if not params.do_train and not params.do_eval:
        raise errors.UserInputError(
            "At least one of `do_train` or `do_eval` must be True."
        )
    config = BertConfig.from_json_file(params.bert_config_file)
    config.check_max_seq_length(params.max_seq_length)
    errors.require_positive(
        params, ("train_batch_size", "eval_batch_size", "num_train_steps")
    )
    if params.dynamic_masking and not params.vocab_file:
        raise errors.UserInputError(
            "--dynamic_masking needs --vocab_file (the vocab of the TFRecords)"
        )
    if not 0.0 < params.masked_lm_prob < 1.0:
        raise errors.UserInputError(
            f"--masked_lm_prob={params.masked_lm_prob}: expected a value in (0, 1)"
        )
    input_files = file_io.expand_patterns(params.input_file, "--input_file")
    return config, input_files, _masking_vocab(params, config)


def _masking_vocab(params, config):
    """The vocab --dynamic_masking draws from, or None without it."""
    if not params.dynamic_masking:
        return None
    masking_vocab = dynamic_masking.MaskingVocab.from_file(params.vocab_file)
    if masking_vocab.size > config.vocab_size:
        raise errors.UserInputError(
            f"--vocab_file={params.vocab_file!r} has {masking_vocab.size} "
            f"entries but bert_config.json says vocab_size={config.vocab_size}"
        )
    return masking_vocab


def run(params):
    """Runs training and/or evaluation; returns the eval results or None."""
    config, input_files, masking_vocab = validate(params)
    task = task_lib.PretrainingTask(
        bert_config=config,
        learning_rate=params.learning_rate,
        num_train_steps=params.num_train_steps,
        num_warmup_steps=params.num_warmup_steps,
        **params.runner.optimizer_fields(),
    )
    # The strategy comes before any TensorFlow op (multi-worker).
    with runner_settings.running(params.runner, task) as runner:
        input_pipeline.check_record_lengths(
            input_files, params.max_seq_length, params.max_predictions_per_seq
        )
        logging.info("*** Input Files ***")
        for input_file in input_files:
            logging.info("  %s", input_file)
        return _train_and_evaluate(params, runner, input_files, masking_vocab)


def _train_and_evaluate(params, runner, input_files, masking_vocab):
    def input_fn(is_training, batch_size):
        return input_pipeline.input_fn_builder(
            input_files,
            params.max_seq_length,
            params.max_predictions_per_seq,
            is_training=is_training,
            batch_size=batch_size,
            seed=params.runner.random_seed,
            masking_vocab=masking_vocab,
            masked_lm_prob=params.masked_lm_prob,
            do_whole_word_mask=params.do_whole_word_mask,
            vocab_size=runner.task.bert_config.vocab_size,
        )

    if params.do_train:
        logging.info("***** Running training *****")
        logging.info("  Batch size = %d", params.train_batch_size)
        runner.train(
            input_fn(True, params.train_batch_size),
            max_steps=params.num_train_steps,
            batch_size=params.train_batch_size,
        )

    if not params.do_eval:
        return None
    logging.info("***** Running evaluation *****")
    logging.info("  Batch size = %d", params.eval_batch_size)
    results = runner.evaluate(
        input_fn(False, params.eval_batch_size), steps=params.max_eval_steps
    )
    estimator.write_eval_results(
        os.path.join(params.runner.output_dir, "eval_results.txt"),
        results,
        chief=runner.is_chief,
    )
    return results
