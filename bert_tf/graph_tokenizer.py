"""BERT tokenization as TensorFlow ops, with the same ids as FullTokenizer.

`GraphTokenizer` runs inside tf.data pipelines and SavedModels. It is
built on tensorflow-text's FastWordpieceTokenizer, but does NOT use
tensorflow-text's BertTokenizer/BasicTokenizer: their normalisation differs
from the original's (NFKC case folding turns "straße" into "strasse" and
full-width letters into ASCII; different control and whitespace sets; a
byte rather than character limit on word length). Each step of the
original `BasicTokenizer` is written here as its own string op instead.

It returns word-piece ids only: no tokens, no offsets, no [CLS]/[SEP].
"""

import tensorflow as tf
import tensorflow_text as text

from bert_tf import errors
from bert_tf import tokenization

# The original's whitespace (\t \n \r and category Zs) plus the line and
# paragraph separators, on which its str.split() also splits. Mapping them
# to a space before lower-casing changes nothing: neither kind is cased or
# case-ignorable, so the final-sigma context is the same.
_WHITESPACE = r"[\t\n\r\p{Zs}\x{2028}\x{2029}]"
# NUL and \t \n \r are Cc, but are gone or spaces by the time this runs.
_CONTROL = r"[\p{Cc}\p{Cf}\x{FFFD}]"
_CJK = "[{}]".format(
    "".join(
        rf"\x{{{low:X}}}-\x{{{high:X}}}"
        for low, high in tokenization.CJK_RANGES
    )
)
_NON_SPACING_MARK = r"\p{Mn}"
# All non-alphanumeric printable ASCII counts as punctuation, as in the
# original, plus every category P* character.
_PUNCTUATION = r"[!-/:-@\[-`{-~\p{P}]"


class GraphTokenizer(tf.Module):
    """Text to word-piece ids, identical to `FullTokenizer.tokenize_to_ids`.

    Args:
      vocab_file: path of the vocab (read with `tokenization.load_vocab`, so
        the ids and their quirks are the same).
      do_lower_case: as in FullTokenizer.
      unk_token: must be in the vocab.
      max_input_chars_per_word: longer words become `unk_token`.
      preserve_unused_tokens: as in FullTokenizer.
      name: module name.

    Calling it on a 1-D tf.string tensor of B texts returns an int32
    tf.RaggedTensor of shape [B, (num_pieces)]. Bytes that are not valid
    UTF-8 are dropped, as `convert_to_unicode` does. The vocab is compiled
    into the word-piece model that the module owns, so it is saved with
    `tf.saved_model.save`; loading the SavedModel needs `import
    tensorflow_text` first (its ops are custom ops).

    Example:

        tokenizer = GraphTokenizer("vocab.txt", do_lower_case=True)
        tokenizer(tf.constant(["UNwant\u00e9d,running"]))
        # -> <tf.RaggedTensor [[7, 4, 5, 10, 8, 9]]> with the test vocab.
        dataset = dataset.batch(64).map(tokenizer)
    """

    def __init__(
        self,
        vocab_file,
        do_lower_case=True,
        unk_token="[UNK]",
        max_input_chars_per_word=200,
        preserve_unused_tokens=False,
        name=None,
    ):
        super().__init__(name=name)
        vocab = tokenization.load_vocab(vocab_file)
        if unk_token not in vocab:
            raise errors.UserInputError(
                f"vocab_file={vocab_file!r} has no {unk_token!r} line; the "
                "in-graph tokenizer needs it"
            )
        self.do_lower_case = do_lower_case
        unused_tokens = preserve_unused_tokens and [
            token for token in vocab if tokenization.preserve_token(token, vocab)
        ]
        # None when there is nothing to preserve: the plain path then runs.
        self.unused_tokens = None
        if unused_tokens:
            self.unused_tokens = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(
                    unused_tokens, tf.ones(len(unused_tokens), tf.int32)
                ),
                default_value=0,
            )
        self.unk_token = unk_token
        self.max_input_chars_per_word = max_input_chars_per_word
        # FastWordpieceTokenizer (linear-time, ~15x faster here than the
        # hash-table WordpieceTokenizer) takes the vocab as a list whose
        # positions are the ids. load_vocab's ids can have holes (a
        # repeated line keeps only its last id) and include "" for an empty
        # line; those slots get a filler with spaces in it, which no word
        # can match, exactly as no word can ever match "" in the original.
        tokens_by_id = [None] * (max(vocab.values()) + 1)
        for token, index in vocab.items():
            tokens_by_id[index] = token
        tokens_by_id = [
            token if token else f" <no token {index}> "
            for index, token in enumerate(tokens_by_id)
        ]
        # A word of more than max_input_chars_per_word characters is
        # replaced by unk_token before this runs, and every shorter word
        # fits in 4 bytes per character, so the byte limit never bites.
        self.wordpiece = text.FastWordpieceTokenizer(
            tokens_by_id,
            suffix_indicator="##",
            max_bytes_per_word=4 * max_input_chars_per_word,
            token_out_type=tf.int64,
            unknown_token=unk_token,
            no_pretokenization=True,
        )

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def __call__(self, texts):
        words = self.basic_tokenize(texts)
        num_chars = tf.strings.length(words.flat_values, unit="UTF8_CHAR")
        words = words.with_flat_values(
            tf.where(
                num_chars > self.max_input_chars_per_word,
                self.unk_token,
                words.flat_values,
            )
        )
        ids = self.wordpiece.tokenize(words)  # [B, (words), (pieces)]
        return tf.cast(ids.merge_dims(1, 2), tf.int32)

    def basic_tokenize(self, texts):
        """`BasicTokenizer.tokenize` on a 1-D tf.string tensor.

        Returns:
          tf.string RaggedTensor of shape [B, (words)].
        """
        # Python's decode(errors="ignore") and ICU drop the same bytes.
        texts = tf.strings.unicode_transcode(
            texts, "UTF-8", "UTF-8", errors="ignore"
        )
        texts = tf.strings.regex_replace(texts, _WHITESPACE, " ")
        texts = tf.strings.regex_replace(texts, _CONTROL, "")
        texts = tf.strings.regex_replace(texts, _CJK, r" \0 ")
        if self.unused_tokens is None:
            texts = self._normalize_and_split_punctuation(texts)
        else:
            # Chunk by chunk, as the original, so that a chunk that is an
            # [unusedN] token of the vocab can be kept as it is.
            chunks = tf.strings.split(texts)  # [B, (chunks)]
            flat = chunks.flat_values
            texts = tf.strings.reduce_join(
                chunks.with_flat_values(
                    tf.where(
                        self.unused_tokens.lookup(flat) > 0,
                        flat,
                        self._normalize_and_split_punctuation(flat),
                    )
                ),
                axis=-1,
                separator=" ",
            )
        # Only " " is left as whitespace; split() drops empty strings.
        return tf.strings.split(texts)

    def _normalize_and_split_punctuation(self, texts):
        if self.do_lower_case:
            # ICU's full lower-casing, like str.lower() (e.g. U+0130 becomes
            # "i" + U+0307, a final capital sigma becomes U+03C2).
            texts = tf.strings.lower(texts, encoding="utf-8")
            texts = text.normalize_utf8(texts, "NFD")
            texts = tf.strings.regex_replace(texts, _NON_SPACING_MARK, "")
        return tf.strings.regex_replace(texts, _PUNCTUATION, r" \0 ")
