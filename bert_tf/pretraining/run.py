"""run_pretraining.py's work: train and/or evaluate MLM + NSP.

`run(PretrainingParams(...))` does what the original `main` did, on the
shared `Estimator`: checkpoints in `output_dir`, resume, `init_checkpoint`
warm start, `eval_results.txt`.
"""

import dataclasses
import os

import keras
import tensorflow as tf
from absl import logging

from bert_tf import cli
from bert_tf import distribution
from bert_tf import errors
from bert_tf import estimator
from bert_tf import file_io
from bert_tf.config import BertConfig
from bert_tf.pretraining import dynamic_masking
from bert_tf.pretraining import input_pipeline
from bert_tf.pretraining import task as task_lib


@dataclasses.dataclass
class PretrainingParams:
    """The flags of run_pretraining.py (original names and defaults)."""

    bert_config_file: str
    input_file: str
    output_dir: str
    init_checkpoint: str = None
    max_seq_length: int = 128
    max_predictions_per_seq: int = 20
    do_train: bool = False
    do_eval: bool = False
    train_batch_size: int = 32
    eval_batch_size: int = 8
    learning_rate: float = 5e-5
    num_train_steps: int = 100000
    num_warmup_steps: int = 10000
    save_checkpoints_steps: int = 1000
    iterations_per_loop: int = 1000
    max_eval_steps: int = 100
    use_tpu: bool = False
    tpu_name: str = None
    tpu_zone: str = None
    gcp_project: str = None
    master: str = None
    num_tpu_cores: int = 8
    # Additions of bert_tf (not in the original).
    precision: str = "auto"
    use_xla: bool = False
    optimizer: str = "adamw"
    gradient_accumulation_steps: int = 1
    random_seed: int = None
    dynamic_masking: bool = False
    vocab_file: str = None
    do_whole_word_mask: bool = False
    masked_lm_prob: float = 0.15


def validate(params):
    """The original's checks, plus clear errors for bad paths and sizes."""
    if not params.do_train and not params.do_eval:
        raise errors.UserInputError(
            "At least one of `do_train` or `do_eval` must be True."
        )
    config = BertConfig.from_json_file(params.bert_config_file)
    if params.max_seq_length > config.max_position_embeddings:
        raise errors.UserInputError(
            f"--max_seq_length={params.max_seq_length}: cannot use sequence "
            f"length {params.max_seq_length} because the BERT model was only "
            f"trained up to sequence length {config.max_position_embeddings}"
        )
    cli.require_positive(params, (
        "train_batch_size", "eval_batch_size", "num_train_steps",
        "save_checkpoints_steps", "iterations_per_loop",
    ))
    cli.check_runner_settings(params)
    if params.dynamic_masking and not params.vocab_file:
        raise errors.UserInputError(
            "--dynamic_masking needs --vocab_file (the vocab of the TFRecords)"
        )
    if not 0.0 < params.masked_lm_prob < 1.0:
        raise errors.UserInputError(
            f"--masked_lm_prob={params.masked_lm_prob}: expected a value in (0, 1)"
        )
    input_files = file_io.expand_patterns(params.input_file, "--input_file")
    return config, input_files


def run(params):
    """Runs training and/or evaluation; returns the eval results or None."""
    config, input_files = validate(params)
    # Before any other TensorFlow op: multi-worker collectives are
    # configured at program start.
    strategy = distribution.get_strategy(
        params.use_tpu, params.tpu_name, params.tpu_zone, params.gcp_project,
        params.master,
    )
    input_pipeline.check_record_lengths(
        input_files, params.max_seq_length, params.max_predictions_per_seq
    )
    if params.random_seed is not None:
        keras.utils.set_random_seed(params.random_seed)
    logging.info("*** Input Files ***")
    for input_file in input_files:
        logging.info("  %s", input_file)
    distribution.set_precision(params.precision)
    masking_vocab = None
    if params.dynamic_masking:
        masking_vocab = dynamic_masking.MaskingVocab.from_file(params.vocab_file)
        if masking_vocab.size > config.vocab_size:
            raise errors.UserInputError(
                f"--vocab_file={params.vocab_file!r} has {masking_vocab.size} "
                f"entries but bert_config.json says vocab_size="
                f"{config.vocab_size}"
            )
    task = task_lib.PretrainingTask(
        bert_config=config,
        learning_rate=params.learning_rate,
        num_train_steps=params.num_train_steps,
        num_warmup_steps=params.num_warmup_steps,
        optimizer_type=params.optimizer,
        gradient_accumulation_steps=params.gradient_accumulation_steps,
    )
    runner = estimator.Estimator.from_flags(task, params, strategy)

    def input_fn(is_training, batch_size):
        return input_pipeline.input_fn_builder(
            input_files,
            params.max_seq_length,
            params.max_predictions_per_seq,
            is_training=is_training,
            batch_size=batch_size,
            seed=params.random_seed,
            masking_vocab=masking_vocab,
            masked_lm_prob=params.masked_lm_prob,
            do_whole_word_mask=params.do_whole_word_mask,
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
        os.path.join(params.output_dir, "eval_results.txt"),
        results,
        chief=distribution.is_chief(strategy),
    )
    return results
