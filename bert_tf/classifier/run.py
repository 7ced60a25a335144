"""run_classifier.py's work: fine-tune, evaluate and predict on a GLUE task.

`run(ClassifierParams(...))` does what the original `main` did, on the
shared `Estimator`: `train.tf_record` / `eval.tf_record` /
`predict.tf_record` in `output_dir`, checkpoints there (resumed from, with
`init_checkpoint` only warm-starting a fresh `output_dir`),
`eval_results.txt` and `test_results.tsv`.

Differences from the original, all visible in the logs:

* Eval and predict sets are always padded with `PaddingInputExample`s to a
  whole number of batches (the original did this on TPU only). Metrics
  weight the padding 0; `loss` is the mean of the per-batch losses, which
  include it, exactly as on the original's TPU path.
* Every input file is read and checked before any work starts, so a bad
  dev or test file fails the run before training instead of after.
* STS-B (regression) reports `eval_pearson` and `eval_spearman`; the
  original had no regression task.
"""

import dataclasses
import os
from typing import Optional

import numpy as np
import tensorflow as tf
from absl import logging

from bert_tf import checkpoints
from bert_tf import errors
from bert_tf import estimator
from bert_tf import file_io
from bert_tf import runner_settings
from bert_tf import serving
from bert_tf import tokenization
from bert_tf.classifier import examples
from bert_tf.classifier import export
from bert_tf.classifier import features
from bert_tf.classifier import input_pipeline
from bert_tf.classifier import model as model_lib
from bert_tf.classifier import processors
from bert_tf.classifier import task as task_lib
from bert_tf.config import BertConfig

@dataclasses.dataclass(kw_only=True)
class ClassifierParams:
    """The flags of run_classifier.py (original names, order and defaults).

    The flags every runner shares are in `runner`.
    """

    data_dir: str
    bert_config_file: str
    task_name: str
    vocab_file: str
    do_lower_case: bool = True
    max_seq_length: int = 128
    do_train: bool = False
    do_eval: bool = False
    do_predict: bool = False
    train_batch_size: int = 32
    eval_batch_size: int = 8
    predict_batch_size: int = 8
    learning_rate: float = 5e-5
    num_train_epochs: float = 3.0
    warmup_proportion: float = 0.1
    # Additions of bert_tf (not in the original).
    export_dir: Optional[str] = None
    preserve_unused_tokens: bool = False
    runner: runner_settings.RunnerSettings


@dataclasses.dataclass
class TaskData:
    """What `validate` read and checked: everything `run` needs as input.

    Example lists are None for the modes that were not requested.
    """

    config: BertConfig
    processor: examples.DataProcessor
    label_list: Optional[list]
    tokenizer: tokenization.FullTokenizer
    train_examples: Optional[list] = None
    eval_examples: Optional[list] = None
    predict_examples: Optional[list] = None
    num_train_steps: Optional[int] = None
    num_warmup_steps: Optional[int] = None


def _read_examples(processor, params, split):
    """The examples of one split; a clear error when it is empty."""
    reader = {
        "train": processor.get_train_examples,
        "dev": processor.get_dev_examples,
        "test": processor.get_test_examples,
    }[split]
    try:
        examples = reader(params.data_dir)
    except NotImplementedError:
        flag = {"train": "do_train", "dev": "do_eval", "test": "do_predict"}
        raise errors.UserInputError(
            f"--{flag[split]}: task {params.task_name!r} has no {split} set"
        ) from None
    if not examples:
        raise errors.UserInputError(
            f"--data_dir={params.data_dir!r}: the {split} set of task "
            f"{params.task_name!r} has no examples"
        )
    return examples


def _check_flags(params):
    """The original's checks, in its order and words; returns config, processor."""
    errors.require_set(
        params, ("data_dir", "task_name", "vocab_file", "bert_config_file")
    )
    params.runner.check()
    tokenization.validate_case_matches_checkpoint(
        params.do_lower_case, params.runner.init_checkpoint
    )
    if not (params.do_train or params.do_eval or params.do_predict):
        raise errors.UserInputError(
            "At least one of `do_train`, `do_eval` or `do_predict' must be "
            "True."
        )
    config = BertConfig.from_json_file(params.bert_config_file)
    config.check_max_seq_length(params.max_seq_length)
    return config, processors.get_processor(params.task_name)


def _check_settings(params):
    """Values the original accepted but then crashed or hung on."""
    if params.max_seq_length < 3:
        raise errors.UserInputError(
            f"--max_seq_length={params.max_seq_length}: expected at least 3 "
            "([CLS], [SEP] and one token)"
        )
    errors.require_positive(
        params, ("train_batch_size", "eval_batch_size", "predict_batch_size")
    )


def _check_files(params, config):
    """The vocab, checkpoint and directories; returns the tokenizer."""
    tokenizer = tokenization.FullTokenizer(
        params.vocab_file,
        do_lower_case=params.do_lower_case,
        preserve_unused_tokens=params.preserve_unused_tokens,
    )
    config.check_vocab(tokenizer.vocab, params.vocab_file)
    init_checkpoint = params.runner.init_checkpoint
    if init_checkpoint:
        checkpoints.resolve_checkpoint_path(init_checkpoint)
    serving.check_export_dir(
        params.export_dir, params.do_train, params.runner, "output_weights",
        "classifier", "run_classifier.py",
    )
    if not tf.io.gfile.isdir(params.data_dir):
        raise errors.UserInputError(
            f"--data_dir={params.data_dir!r}: directory not found"
        )
    return tokenizer


def _read_train_examples(params, data):
    data.train_examples = _read_examples(data.processor, params, "train")
    data.num_train_steps, data.num_warmup_steps = (
        runner_settings.fine_tuning_steps(
            len(data.train_examples), params,
            f"--data_dir={params.data_dir!r}: the train set of task "
            f"{params.task_name!r} has {len(data.train_examples)} examples",
        )
    )


def validate(params):
    """Every check and read before any work; returns a `TaskData`.

    The original's checks come first, in its order and words. Then every
    data file the requested modes need is read, so that a bad dev or test
    file fails the run before training instead of after it. Raises
    UserInputError, one line naming the flag or file.
    """
    config, processor = _check_flags(params)
    _check_settings(params)
    tokenizer = _check_files(params, config)
    data = TaskData(config, processor, processor.get_labels(), tokenizer)
    if params.do_train:
        _read_train_examples(params, data)
    if params.do_eval:
        data.eval_examples = _read_examples(processor, params, "dev")
    if params.do_predict:
        data.predict_examples = _read_examples(processor, params, "test")
    return data


def _format_prediction(probabilities):
    """One test_results.tsv line: str(np.float32) per class, TAB-joined."""
    values = np.atleast_1d(np.asarray(probabilities, dtype=np.float32))
    return "\t".join(str(v) for v in values) + "\n"


def _write_records(params, data, examples, name):
    path = os.path.join(params.runner.output_dir, name)
    features.file_based_convert_examples_to_features(
        examples, data.label_list, params.max_seq_length, data.tokenizer, path
    )
    return path


def _input_fn(params, data, path, is_training, batch_size):
    return input_pipeline.file_based_input_fn_builder(
        input_file=path,
        seq_length=params.max_seq_length,
        is_training=is_training,
        drop_remainder=is_training,
        batch_size=batch_size,
        is_regression=data.label_list is None,
        seed=params.runner.random_seed,
        vocab_size=data.config.vocab_size,
    )


def _padded_input_fn(params, data, examples, batch_size, name, title):
    """Writes `examples`, padded to whole batches, as `name`; its input_fn."""
    padded = features.pad_examples_to_batch(examples, batch_size)
    path = _write_records(params, data, padded, name)
    logging.info(title)
    logging.info(
        "  Num examples = %d (%d actual, %d padding)",
        len(padded), len(examples), len(padded) - len(examples),
    )
    logging.info("  Batch size = %d", batch_size)
    return _input_fn(params, data, path, False, batch_size)


def _train(params, data, runner):
    path = _write_records(params, data, data.train_examples, "train.tf_record")
    logging.info("***** Running training *****")
    logging.info("  Num examples = %d", len(data.train_examples))
    logging.info("  Batch size = %d", params.train_batch_size)
    logging.info("  Num steps = %d", data.num_train_steps)
    runner.train(
        _input_fn(params, data, path, True, params.train_batch_size),
        max_steps=data.num_train_steps,
        batch_size=params.train_batch_size,
    )


def _evaluate(params, data, runner):
    num_actual = len(data.eval_examples)
    input_fn = _padded_input_fn(
        params, data, data.eval_examples, params.eval_batch_size,
        "eval.tf_record", "***** Running evaluation *****",
    )
    results = runner.evaluate(input_fn, steps=None)
    if data.label_list is None:
        predictions = [p["probabilities"] for p in runner.predict(input_fn)]
        labels = [example.label for example in data.eval_examples]
        pearson, spearman = task_lib.pearson_and_spearman(
            predictions[:num_actual], labels
        )
        results["eval_pearson"] = np.float32(pearson)
        results["eval_spearman"] = np.float32(spearman)
    estimator.write_eval_results(
        os.path.join(params.runner.output_dir, "eval_results.txt"),
        results,
        runner.is_chief,
    )
    return results


def _predict(params, data, runner):
    if not runner.is_chief:
        logging.info("Prediction runs on the chief worker only; skipped here")
        return
    num_actual = len(data.predict_examples)
    input_fn = _padded_input_fn(
        params, data, data.predict_examples, params.predict_batch_size,
        "predict.tf_record", "***** Running prediction*****",
    )
    output_file = os.path.join(params.runner.output_dir, "test_results.tsv")
    with file_io.atomic_write(output_file) as writer:
        logging.info("***** Predict results *****")
        num_written = 0
        for i, prediction in enumerate(runner.predict(input_fn)):
            if i >= num_actual:
                break
            writer.write(_format_prediction(prediction["probabilities"]))
            num_written += 1
        if num_written != num_actual:
            raise RuntimeError(
                f"wrote {num_written} predictions for {num_actual} examples"
            )


def _export(params, data, task):
    """Exports a raw-text SavedModel of the final weights."""
    # A float32 copy outside any distribution strategy, whatever the
    # training precision: the checkpoint holds float32 weights anyway.
    model = model_lib.BertClassifier(
        task.bert_config, task.num_labels, dtype="float32"
    )
    source = serving.fine_tuned_source(params.runner)
    try:
        checkpoints.load_tf1_checkpoint(model, source)
    except errors.UserInputError as e:
        raise errors.UserInputError(f"--export_dir: {e}") from None
    logging.info("Exporting %s to %s", source, params.export_dir)
    export.export_saved_model(
        model,
        params.export_dir,
        params.vocab_file,
        params.do_lower_case,
        params.max_seq_length,
        data.label_list,
        data.processor.is_pair_task,
        preserve_unused_tokens=params.preserve_unused_tokens,
        version=serving.export_version(source),
        checkpoint=source,
    )


def run(params):
    """Runs the requested modes in the original's order.

    Returns:
      the eval results dict (numpy values, as written to eval_results.txt)
      when `do_eval`, else None.
    """
    data = validate(params)
    task = task_lib.ClassifierTask(
        bert_config=data.config,
        num_labels=1 if data.label_list is None else len(data.label_list),
        learning_rate=params.learning_rate,
        num_train_steps=data.num_train_steps,
        num_warmup_steps=data.num_warmup_steps,
        **params.runner.optimizer_fields(),
    )
    results = None
    with runner_settings.running(params.runner, task) as runner:
        if params.do_train:
            _train(params, data, runner)
        if params.do_eval:
            results = _evaluate(params, data, runner)
        if params.do_predict:
            _predict(params, data, runner)
        if params.export_dir and runner.is_chief:
            _export(params, data, task)
    return results
