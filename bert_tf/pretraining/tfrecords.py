"""Pre-training TFRecords: the feature spec, the encoder and the readers.

Replaces the `tf.train.Example` building of the reference's
`write_instance_to_example_files` in create_pretraining_data.py. The run
that samples instances and writes the files is
`bert_tf.pretraining.create_data`. `feature_spec` is shared with the
training input pipeline, so writer and reader cannot drift apart.

Examples are serialized by a small hand-written protobuf encoder
(`ExampleEncoder`): about 5x faster than building `tf.train.Example`, and it
parses back to the same `tf.train.Example`.
"""

import struct

import tensorflow as tf

# Feature names in the reference's insertion order.
FEATURE_NAMES = ("input_ids", "input_mask", "segment_ids",
                 "masked_lm_positions", "masked_lm_ids", "masked_lm_weights",
                 "next_sentence_labels")


def feature_spec(max_seq_length, max_predictions_per_seq):
    """The `tf.io.parse_single_example` spec of the pre-training TFRecords."""
    seq = [max_seq_length]
    predictions = [max_predictions_per_seq]
    return {
        "input_ids": tf.io.FixedLenFeature(seq, tf.int64),
        "input_mask": tf.io.FixedLenFeature(seq, tf.int64),
        "segment_ids": tf.io.FixedLenFeature(seq, tf.int64),
        "masked_lm_positions": tf.io.FixedLenFeature(predictions, tf.int64),
        "masked_lm_ids": tf.io.FixedLenFeature(predictions, tf.int64),
        "masked_lm_weights": tf.io.FixedLenFeature(predictions, tf.float32),
        "next_sentence_labels": tf.io.FixedLenFeature([1], tf.int64),
    }


def read_examples(path):
    """Parses a TFRecord file of `tf.train.Example`s into python dicts.

    Returns:
      list of dicts: feature name -> list of int (int64 features) or float.
    """
    examples = []
    for record in tf.data.TFRecordDataset(path).as_numpy_iterator():
        example = tf.train.Example.FromString(record)
        parsed = {}
        for name, feature in example.features.feature.items():
            kind = feature.WhichOneof("kind")
            parsed[name] = list(getattr(feature, kind).value)
        examples.append(parsed)
    return examples


def _varint(value):
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _length_delimited(tag, payload):
    return tag + _varint(len(payload)) + payload


_INT64_LIST = b"\x1a"  # Feature.int64_list
_FLOAT_LIST = b"\x12"  # Feature.float_list
_FLOAT_ONE = struct.pack("<f", 1.0)
_FLOAT_ZERO = struct.pack("<f", 0.0)


def _feature_entry(name, kind_tag, packed_values):
    """One entry of `Features.feature` (a map<string, Feature> field)."""
    value_list = _length_delimited(b"\x0a", packed_values)  # packed values
    feature = _length_delimited(kind_tag, value_list)
    entry = (_length_delimited(b"\x0a", name.encode()) +  # key
             _length_delimited(b"\x12", feature))  # value
    return _length_delimited(b"\x0a", entry)  # Features.feature


class ExampleEncoder:
    """Serializes pre-training examples without building protos.

    The bytes are a valid `tf.train.Example` with the features in the
    reference's insertion order and every int64 as a varint (all values are
    non-negative), so they parse back to what `tf.train.Example` would hold.

    Args:
      max_seq_length, max_predictions_per_seq: padded lengths.
      max_id: largest token id that can occur.
    """

    def __init__(self, max_seq_length, max_predictions_per_seq, max_id):
        self.max_seq_length = max_seq_length
        self.max_predictions_per_seq = max_predictions_per_seq
        largest = max(max_id, max_seq_length)
        self._varints = [_varint(i) for i in range(largest + 1)]
        # Everything of a feature entry before its packed values depends only
        # on the name and the values' byte length: cached per pair.
        self._prefixes = {}

    def _entry(self, name, kind_tag, packed_values):
        key = (name, len(packed_values))
        prefix = self._prefixes.get(key)
        if prefix is None:
            entry = _feature_entry(name, kind_tag, packed_values)
            prefix = entry[:len(entry) - len(packed_values)]
            self._prefixes[key] = prefix
        return prefix + packed_values

    def _ints(self, values):
        varints = self._varints
        return b"".join([varints[v] for v in values])

    def encode(self, input_ids, num_a_tokens, masked_lm_positions,
               masked_lm_ids, next_sentence_label):
        """Returns the serialized example of one instance.

        Args:
          input_ids: unpadded output token ids, [CLS] A [SEP] B [SEP].
          num_a_tokens: len(A).
          masked_lm_positions, masked_lm_ids: unpadded, same length.
          next_sentence_label: 1 for a random next sentence, else 0.
        """
        length = len(input_ids)
        padding = b"\x00" * (self.max_seq_length - length)
        num_masked = len(masked_lm_positions)
        num_padded = self.max_predictions_per_seq - num_masked
        if length > self.max_seq_length or num_padded < 0:
            raise ValueError("instance longer than the padded lengths")
        entry = self._entry
        # 0 and 1 are one-byte varints, so masks and segment ids are bytes.
        features = b"".join([
            entry("input_ids", _INT64_LIST, self._ints(input_ids) + padding),
            entry("input_mask", _INT64_LIST, b"\x01" * length + padding),
            entry("segment_ids", _INT64_LIST,
                  b"\x00" * (num_a_tokens + 2) +
                  b"\x01" * (length - num_a_tokens - 2) + padding),
            entry("masked_lm_positions", _INT64_LIST,
                  self._ints(masked_lm_positions) + b"\x00" * num_padded),
            entry("masked_lm_ids", _INT64_LIST,
                  self._ints(masked_lm_ids) + b"\x00" * num_padded),
            entry("masked_lm_weights", _FLOAT_LIST,
                  _FLOAT_ONE * num_masked + _FLOAT_ZERO * num_padded),
            entry("next_sentence_labels", _INT64_LIST,
                  b"\x01" if next_sentence_label else b"\x00"),
        ])
        return b"\x0a" + self._varint_of(len(features)) + features

    def _varint_of(self, value):
        if value < len(self._varints):
            return self._varints[value]
        return _varint(value)


def decode_example(data):
    """The `ExampleEncoder.encode` arguments of a serialized example.

    Returns:
      (input_ids, len(A), masked_lm_positions, masked_lm_ids,
      next_sentence_label), unpadded.
    """
    feature = tf.train.Example.FromString(data).features.feature
    length = sum(feature["input_mask"].int64_list.value)
    segment_ids = list(feature["segment_ids"].int64_list.value[:length])
    num_masked = int(sum(feature["masked_lm_weights"].float_list.value))
    return (list(feature["input_ids"].int64_list.value[:length]),
            segment_ids.count(0) - 2,
            list(feature["masked_lm_positions"].int64_list.value[:num_masked]),
            list(feature["masked_lm_ids"].int64_list.value[:num_masked]),
            feature["next_sentence_labels"].int64_list.value[0])
