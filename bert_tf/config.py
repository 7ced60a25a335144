"""BertConfig: the `bert_config.json` of Google's checkpoints, unchanged.

Field names and defaults are the original `modeling.BertConfig`'s, so every
released `bert_config.json` loads as is and writes back identically. Keys the
model does not use (the multilingual and Chinese configs carry
`directionality` and `pooler_*`) are kept in `extra` and written back, never
read by the model.
"""

import copy
import dataclasses
import json

from absl import logging

from bert_tf import errors
from bert_tf import file_io

# Fields the model uses as sizes: ints of at least 1.
_SIZE_FIELDS = (
    "vocab_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "max_position_embeddings",
    "type_vocab_size",
)
_PROBABILITY_FIELDS = ("hidden_dropout_prob", "attention_probs_dropout_prob")

# Keys found in released configs that the original code ignores too.
KNOWN_UNUSED_KEYS = frozenset(
    [
        "directionality",
        "pooler_fc_size",
        "pooler_num_attention_heads",
        "pooler_num_fc_layers",
        "pooler_size_per_head",
        "pooler_type",
    ]
)


@dataclasses.dataclass
class BertConfig:
    """Configuration of a `BertModel`, as in google-research/bert.

    Example:

    >>> config = BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2,
    ...                     num_attention_heads=4, intermediate_size=37)
    >>> BertConfig.from_dict(config.to_dict()) == config
    True
    """

    vocab_size: int  # size of the WordPiece vocabulary
    hidden_size: int = 768  # H, width of every encoder layer and the pooler
    num_hidden_layers: int = 12  # L, number of transformer layers
    num_attention_heads: int = 12  # A, heads per layer; H % A == 0
    intermediate_size: int = 3072  # width of the feed-forward layer
    hidden_act: str = "gelu"  # feed-forward activation (tanh-approximate gelu)
    hidden_dropout_prob: float = 0.1  # dropout on embeddings and sublayers
    attention_probs_dropout_prob: float = 0.1  # dropout on attention probs
    max_position_embeddings: int = 512  # longest sequence the model supports
    type_vocab_size: int = 16  # number of segment ids (released configs: 2)
    initializer_range: float = 0.02  # stddev of the truncated normal init
    # Keys of bert_config.json that the model does not use, kept verbatim.
    extra: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def from_dict(cls, json_object, source="bert_config"):
        """Builds a config from a dict with the `bert_config.json` keys.

        Args:
          json_object: dict of `bert_config.json` keys to values.
          source: where the dict came from, for messages (the file).

        Raises:
          UserInputError: a missing `vocab_size` or a value of the wrong type
            or range (see `check_fields`), naming `source`, key and value.
        """
        fields = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        known = {k: v for k, v in json_object.items() if k in fields}
        extra = {k: v for k, v in json_object.items() if k not in fields}
        for key in sorted(set(extra) - KNOWN_UNUSED_KEYS):
            logging.warning("bert_config: unknown key %r is kept but unused", key)
        if "vocab_size" not in known:
            raise errors.UserInputError(f"{source}: required key 'vocab_size' is missing")
        config = cls(**known, extra=copy.deepcopy(extra))
        config.check_fields(source)
        return config

    def check_fields(self, source="bert_config"):
        """Raises UserInputError for a value the model cannot be built with.

        Sizes must be ints of at least 1 (a bool is not an int), dropout
        probabilities numbers in [0, 1), `initializer_range` a number of at
        least 0, `hidden_act` a known activation name, and `hidden_size` a
        multiple of `num_attention_heads`. Otherwise Keras fails later
        with a traceback.
        """
        def bad(key, expected):
            value = json.dumps(getattr(self, key), default=repr)
            return errors.UserInputError(
                f'{source}: "{key}": {value} is not {expected}')

        def is_number(value):
            return isinstance(value, (int, float)) and not isinstance(value, bool)

        for key in _SIZE_FIELDS:
            value = getattr(self, key)
            if not (isinstance(value, int) and not isinstance(value, bool)
                    and value >= 1):
                raise bad(key, "a positive integer")
        for key in _PROBABILITY_FIELDS:
            value = getattr(self, key)
            if not (is_number(value) and 0.0 <= value < 1.0):
                raise bad(key, "a probability in [0, 1)")
        if not (is_number(self.initializer_range) and self.initializer_range >= 0):
            raise bad("initializer_range", "a number of at least 0")
        if not _is_activation(self.hidden_act):
            raise bad("hidden_act", 'an activation ("gelu", "gelu_exact", '
                      '"relu", "tanh" or "linear")')
        if self.hidden_size % self.num_attention_heads:
            raise errors.UserInputError(
                f"{source}: The hidden size ({self.hidden_size}) is not a "
                "multiple of the number of attention heads "
                f"({self.num_attention_heads})")

    @classmethod
    def from_json_file(cls, json_file):
        """Reads a `bert_config.json` (local or gs:// path)."""
        file_io.require_file(json_file, "bert_config_file")
        with file_io.open_text(json_file) as f:
            text = f.read()
        try:
            json_object = json.loads(text)
        except json.JSONDecodeError as e:
            raise errors.UserInputError(
                f"bert_config_file={json_file!r} is not valid JSON: {e}"
            ) from None
        if not isinstance(json_object, dict):
            raise errors.UserInputError(
                f"bert_config_file={json_file!r}: expected a JSON object"
            )
        return cls.from_dict(json_object, f"bert_config_file={json_file!r}")

    def check_vocab(self, vocab, vocab_file):
        """Raises UserInputError if the vocab has ids beyond `vocab_size`.

        Out-of-range ids would give NaNs on GPU/TPU instead of an error. A
        smaller vocab works (some embedding rows are never used) but often
        means the vocab of another model: it is logged as a warning.

        Args:
          vocab: the vocab dict token -> id (`FullTokenizer.vocab`).
          vocab_file: its path, for the message.
        """
        vocab_rows = max(vocab.values(), default=-1) + 1
        if vocab_rows > self.vocab_size:
            raise errors.UserInputError(
                f"--vocab_file={vocab_file!r} has {vocab_rows} entries but "
                f"bert_config.json says vocab_size={self.vocab_size}; they "
                "must belong to the same model"
            )
        if vocab_rows < self.vocab_size:
            logging.warning(
                "--vocab_file=%r has %d entries, %d fewer than vocab_size=%d "
                "of bert_config.json: those embedding rows are never used; "
                "check that the vocab belongs to the model",
                vocab_file, vocab_rows, self.vocab_size - vocab_rows,
                self.vocab_size,
            )

    def check_max_seq_length(self, max_seq_length):
        """Raises UserInputError if `max_seq_length` exceeds the position table.

        The message is the original's, after the flag and its value.
        """
        if max_seq_length > self.max_position_embeddings:
            raise errors.UserInputError(
                f"--max_seq_length={max_seq_length}: Cannot use sequence "
                f"length {max_seq_length} because the BERT model was only "
                "trained up to sequence length "
                f"{self.max_position_embeddings}"
            )

    def to_dict(self):
        """All keys as in `bert_config.json`, unused ones included."""
        output = {
            f.name: copy.deepcopy(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.name != "extra"
        }
        output.update(copy.deepcopy(self.extra))
        return output

    def to_json_string(self):
        """Serializes as the original does: sorted keys, 2-space indent."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def to_json_file(self, json_file):
        with file_io.atomic_write(json_file) as f:
            f.write(self.to_json_string())


def _is_activation(hidden_act):
    # Imported here: bert_tf.modeling imports this module.
    from bert_tf.modeling import activations

    if callable(hidden_act):
        return True
    if not isinstance(hidden_act, str):
        return False
    try:
        activations.get_activation(hidden_act)
    except ValueError:
        return False
    return True
