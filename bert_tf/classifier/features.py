"""InputExample -> fixed-length ids, and the classifier TFRecord files.

Replaces `convert_single_example`, `convert_examples_to_features`,
`file_based_convert_examples_to_features` and the parse spec of
`file_based_input_fn_builder` in google-research/bert's run_classifier.py.
The TFRecords hold the original's features (`input_ids`, `input_mask`,
`segment_ids`, `label_ids`, `is_real_example`), so files written by either
implementation can be read by the other.

Truncation, `[CLS]`/`[SEP]` and zero padding are `bert_tf.packing`'s,
shared with feature extraction.

Regression tasks (STS-B) are marked by `label_list=None`: their `label_id` is
the float score and `label_ids` is stored as a float feature.

This module builds no `tf.data` pipeline and no model.
"""

import collections
import dataclasses
from typing import List, Union

import tensorflow as tf
from absl import logging

from bert_tf import errors
from bert_tf import file_io
from bert_tf import packing
from bert_tf import records
from bert_tf.classifier import examples as examples_lib


@dataclasses.dataclass
class InputFeatures:
    """A single set of features of data.

    Attributes:
      input_ids: list of max_seq_length int token ids, zero-padded.
      input_mask: list of max_seq_length ints, 1 for real tokens, 0 for
        padding.
      segment_ids: list of max_seq_length ints, 0 for `[CLS] a [SEP]`, 1 for
        `b [SEP]`, 0 for padding.
      label_id: int index into the label list, or float score for regression.
      is_real_example: False for the features of a PaddingInputExample.
    """

    input_ids: List[int]
    input_mask: List[int]
    segment_ids: List[int]
    label_id: Union[int, float]
    is_real_example: bool = True


def _label_id(example, label_list):
    if label_list is None:
        return float(example.label)
    label_map = {label: i for i, label in enumerate(label_list)}
    if example.label not in label_map:
        raise errors.UserInputError(
            f"Example {example.guid}: label {example.label!r} is not one of "
            f"{label_list}"
        )
    return label_map[example.label]


def convert_single_example(
    ex_index, example, label_list, max_seq_length, tokenizer
):
    """Converts a single `InputExample` into a single `InputFeatures`.

    Args:
      ex_index: position of the example; the first five are logged.
      example: an `InputExample` or a `PaddingInputExample`.
      label_list: list of label strings (label id = position), or None for a
        regression task.
      max_seq_length: int, the length of every id list.
      tokenizer: a `FullTokenizer`.

    Returns:
      `InputFeatures`. A PaddingInputExample gives all zeros, label_id 0 and
      is_real_example False.

    Raises:
      UserInputError: if the example's label is not in label_list.
    """
    if isinstance(example, examples_lib.PaddingInputExample):
        return InputFeatures(
            input_ids=[0] * max_seq_length,
            input_mask=[0] * max_seq_length,
            segment_ids=[0] * max_seq_length,
            label_id=0.0 if label_list is None else 0,
            is_real_example=False,
        )

    tokens, segment_ids = packing.tokenize_pair(
        example.text_a, example.text_b, max_seq_length, tokenizer
    )
    input_ids, input_mask, segment_ids = packing.pad_inputs(
        tokenizer.convert_tokens_to_ids(tokens), segment_ids, max_seq_length
    )
    feature = InputFeatures(
        input_ids=input_ids,
        input_mask=input_mask,
        segment_ids=segment_ids,
        label_id=_label_id(example, label_list),
        is_real_example=True,
    )
    if ex_index < 5:
        _log_example(example, tokens, feature, label_list)
    return feature


def _log_example(example, tokens, feature, label_list):
    """The original's "*** Example ***" block of one converted example."""
    logging.info("*** Example ***")
    logging.info("guid: %s", example.guid)
    logging.info("tokens: %s", " ".join(tokens))
    logging.info("input_ids: %s", " ".join(str(x) for x in feature.input_ids))
    logging.info(
        "input_mask: %s", " ".join(str(x) for x in feature.input_mask)
    )
    logging.info(
        "segment_ids: %s", " ".join(str(x) for x in feature.segment_ids)
    )
    if label_list is None:
        logging.info("label: %s (id = %s)", example.label, feature.label_id)
    else:
        logging.info("label: %s (id = %d)", example.label, feature.label_id)


def convert_examples_to_features(
    examples, label_list, max_seq_length, tokenizer
):
    """Converts a list of examples into a list of `InputFeatures`."""
    features = []
    for ex_index, example in enumerate(examples):
        if ex_index % 10000 == 0:
            logging.info("Writing example %d of %d", ex_index, len(examples))
        features.append(
            convert_single_example(
                ex_index, example, label_list, max_seq_length, tokenizer
            )
        )
    return features


def _float_feature(values):
    return tf.train.Feature(float_list=tf.train.FloatList(value=list(values)))


def _to_tf_example(feature, is_regression):
    features = collections.OrderedDict()
    features["input_ids"] = records.int64_feature(feature.input_ids)
    features["input_mask"] = records.int64_feature(feature.input_mask)
    features["segment_ids"] = records.int64_feature(feature.segment_ids)
    if is_regression:
        features["label_ids"] = _float_feature([feature.label_id])
    else:
        features["label_ids"] = records.int64_feature([feature.label_id])
    features["is_real_example"] = records.int64_feature([int(feature.is_real_example)])
    return tf.train.Example(features=tf.train.Features(feature=features))


def file_based_convert_examples_to_features(
    examples, label_list, max_seq_length, tokenizer, output_file
):
    """Converts examples and writes them, in order, to a TFRecord file.

    The file appears under its final name only once every example has been
    written.

    Args:
      examples: list of `InputExample` / `PaddingInputExample`.
      label_list: list of label strings, or None for regression.
      max_seq_length: int.
      tokenizer: a `FullTokenizer`.
      output_file: path of the TFRecord file to write (gs:// works).
    """
    is_regression = label_list is None
    with file_io.atomic_outputs([output_file]) as (temporary,):
        with tf.io.TFRecordWriter(temporary) as writer:
            for ex_index, example in enumerate(examples):
                if ex_index % 10000 == 0:
                    logging.info(
                        "Writing example %d of %d", ex_index, len(examples)
                    )
                feature = convert_single_example(
                    ex_index, example, label_list, max_seq_length, tokenizer
                )
                tf_example = _to_tf_example(feature, is_regression)
                writer.write(tf_example.SerializeToString())


def name_to_features(seq_length, is_regression=False):
    """The parse spec of the classifier TFRecords.

    Args:
      seq_length: int, the max_seq_length the file was written with.
      is_regression: whether `label_ids` is a float feature.

    Returns:
      dict of feature name -> `tf.io.FixedLenFeature`; `label_ids` and
      `is_real_example` parse as scalars.
    """
    return {
        "input_ids": tf.io.FixedLenFeature([seq_length], tf.int64),
        "input_mask": tf.io.FixedLenFeature([seq_length], tf.int64),
        "segment_ids": tf.io.FixedLenFeature([seq_length], tf.int64),
        "label_ids": tf.io.FixedLenFeature(
            [], tf.float32 if is_regression else tf.int64
        ),
        "is_real_example": tf.io.FixedLenFeature([], tf.int64),
    }


def pad_examples_to_batch(examples, batch_size):
    """Appends PaddingInputExamples until len is a multiple of batch_size.

    Eval and predict then run in fixed-size batches and still cover every real
    example; the padding has is_real_example False.

    Args:
      examples: list of `InputExample`; not modified.
      batch_size: positive int.

    Returns:
      a new list: `examples` followed by the padding.
    """
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    num_padding = -len(examples) % batch_size
    return list(examples) + [
        examples_lib.PaddingInputExample() for _ in range(num_padding)
    ]
