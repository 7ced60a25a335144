"""BERT's WordPiece tokenization, behaviour-identical to the original.

Replaces tokenization.py in google-research/bert: `FullTokenizer`,
`BasicTokenizer`, `WordpieceTokenizer`, `load_vocab` and the helper
functions keep their names, arguments and results, including the quirks
(e.g. `[MASK]` in raw text becomes `[`, `mask`, `]`; a word with one
unknown piece becomes a single `[UNK]`).

`FullTokenizer.tokenize` takes a faster route to the same tokens: the
text is cleaned and split on whitespace in one pass, and every
whitespace-separated chunk is tokenized once and cached, because
everything the original does after its first whitespace split depends on
that chunk alone. `BasicTokenizer` and `WordpieceTokenizer` stay
straightforward ports of the original and serve as its reference.

`GraphTokenizer` (the same tokenization as TensorFlow ops, for tf.data and
SavedModels) lives in `bert_tf.graph_tokenizer`, which builds on this
module. This module does not add `[CLS]`/`[SEP]`, truncate or pad: the data code does that.

Example:

    tokenizer = FullTokenizer("vocab.txt", do_lower_case=True)
    tokenizer.tokenize("UNwant\u00e9d,running")
    # -> ["un", "##want", "##ed", ",", "runn", "##ing"]
"""

import collections
import os
import re
import unicodedata

from bert_tf import errors
from bert_tf import file_io

# Checkpoint directory names from Google's release, by casing.
_LOWER_CASED_MODELS = (
    "uncased_L-24_H-1024_A-16",
    "uncased_L-12_H-768_A-12",
    "multilingual_L-12_H-768_A-12",
    "chinese_L-12_H-768_A-12",
)
_CASED_MODELS = (
    "cased_L-12_H-768_A-12",
    "cased_L-24_H-1024_A-16",
    "multi_cased_L-12_H-768_A-12",
)

# The CJK Unified Ideograph blocks (not Hangul, Hiragana or Katakana, which
# are written with spaces or tokenized as words already). Shared with
# graph_tokenizer, which builds its regular expression from them.
CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)

# ASCII control characters that _clean_text deletes; \t, \n and \r are
# whitespace instead. Deleting (not splitting on) \x0b, \x0c and \x1c-\x1f
# matters: "a\x0bb" is one word in the original.
_ASCII_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# ASCII punctuation for the original's _is_punctuation, as a split pattern
# that keeps the separators.
_ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")

# bert-tensorflow 1.0.4's --preserve_unused_tokens keeps a whitespace-separated
# chunk that matches this, and is in the vocab, as one token.
_UNUSED_TOKEN = re.compile(r"^\[unused\d+\]$")

# The fast path's per-chunk caches are dropped when they reach this size, so
# memory stays bounded on corpora with an open vocabulary.
_MAX_CACHED_CHUNKS = 1 << 20


def validate_case_matches_checkpoint(do_lower_case, init_checkpoint):
    """Checks `do_lower_case` against the name of a released checkpoint.

    Only Google's released BERT-Base/Large directory names are recognised
    (e.g. `.../uncased_L-12_H-768_A-12/bert_model.ckpt`); any other path
    passes.

    Args:
      do_lower_case: bool, the value of --do_lower_case.
      init_checkpoint: str, the value of --init_checkpoint (may be empty).

    Raises:
      bert_tf.errors.UserInputError: (a ValueError) if the checkpoint is
        known to be cased and do_lower_case is True, or the reverse. The
        message is the original's.
    """
    if not init_checkpoint:
        return
    # The unescaped "." is the original's pattern; kept so the same paths
    # are checked.
    m = re.match(r"^.*?([A-Za-z0-9_-]+)/bert_model.ckpt", init_checkpoint)
    if m is None:
        return
    model_name = m.group(1)
    if model_name in _LOWER_CASED_MODELS and not do_lower_case:
        actual_flag, case_name, opposite_flag = "False", "lowercased", "True"
    elif model_name in _CASED_MODELS and do_lower_case:
        actual_flag, case_name, opposite_flag = "True", "cased", "False"
    else:
        return
    raise errors.UserInputError(
        f"You passed in `--do_lower_case={actual_flag}` with "
        f"`--init_checkpoint={init_checkpoint}`. However, `{model_name}` "
        f"seems to be a {case_name} model, so you should pass in "
        f"`--do_lower_case={opposite_flag}` so that the fine-tuning matches "
        "how the model was pre-training. If this error is wrong, please just "
        "comment out this check."
    )


def convert_to_unicode(text):
    """Returns `text` as str; bytes are decoded as UTF-8, bad bytes dropped."""
    if isinstance(text, str):
        return text
    if isinstance(text, bytes):
        return text.decode("utf-8", "ignore")
    raise ValueError(f"Unsupported string type: {type(text)}")


def printable_text(text):
    """Returns `text` as a str fit for logging (on Python 3, a str)."""
    return convert_to_unicode(text)


def _open_binary(path):
    """Opens `path` for reading bytes; raises UserInputError if missing.

    Local paths use the built-in open(), which reads a 30k-line vocab
    several times faster than gfile's line iterator; URLs such as
    gs://bucket/vocab.txt go through gfile, as in the original.
    """
    if "://" not in path and os.path.isfile(path):
        return open(path, "rb")
    file_io.require_file(path, "vocab_file")
    return file_io.open_text(path, "rb")


def load_vocab(vocab_file):
    """Loads a vocabulary file into an ordered token -> id dict.

    As in the original, the id of a token is the index of its line, counting
    every line; each line is stripped of surrounding whitespace (so an empty
    line is the token ""); a repeated token keeps the id of its LAST line but
    the position of its first.

    Args:
      vocab_file: path of a UTF-8 file with one token per line.

    Returns:
      collections.OrderedDict mapping token (str) to id (int).

    Raises:
      bert_tf.errors.UserInputError: if `vocab_file` is not a file or not
        UTF-8 (the original failed with a UnicodeDecodeError).
    """
    vocab = collections.OrderedDict()
    with _open_binary(vocab_file) as reader:
        for index, line in enumerate(reader):
            # The original read through gfile's readline, which ends lines
            # at b"\n" only and drops EVERY b"\r" (so "a\rb" is "ab");
            # Python's text mode would end a line at a lone "\r" instead.
            line = line.replace(b"\r", b"")
            try:
                token = line.decode("utf-8")
            except UnicodeDecodeError:
                raise errors.UserInputError(
                    f"vocab_file={vocab_file!r}: line {index + 1} is not "
                    "valid UTF-8"
                ) from None
            vocab[token.strip()] = index
    return vocab


def preserve_token(token, vocab):
    """Whether `token` is one of `vocab`'s `[unusedN]` entries.

    With `preserve_unused_tokens=True` (the flag of the bert-tensorflow
    1.0.4 wheel, off by default), such a whitespace-separated chunk of text
    is kept as one token: not lower-cased, not split on its brackets.
    """
    return token in vocab and bool(_UNUSED_TOKEN.search(token))


def convert_by_vocab(vocab, items):
    """Maps each item through `vocab`; KeyError for an item not in it."""
    return [vocab[item] for item in items]


def convert_tokens_to_ids(vocab, tokens):
    return convert_by_vocab(vocab, tokens)


def convert_ids_to_tokens(inv_vocab, ids):
    return convert_by_vocab(inv_vocab, ids)


def whitespace_tokenize(text):
    """Splits on any Unicode whitespace (Python's str.split())."""
    text = text.strip()
    if not text:
        return []
    return text.split()


class FullTokenizer:
    """Basic tokenization followed by WordPiece, with a cache.

    Args:
      vocab_file: path of the vocab (see `load_vocab`).
      do_lower_case: lower-case and strip accents before splitting.
      preserve_unused_tokens: keep the vocab's `[unusedN]` tokens whole when
        they appear in the text (see `preserve_token`).

    Attributes:
      vocab: OrderedDict token -> id.
      inv_vocab: dict id -> token.
      basic_tokenizer: the `BasicTokenizer` used (the reference path).
      wordpiece_tokenizer: the `WordpieceTokenizer` used.

    `tokenize` gives exactly `BasicTokenizer` then `WordpieceTokenizer` on
    each basic token, but computes each distinct whitespace-separated chunk
    of text only once. Changing `vocab` after construction is not supported.
    """

    def __init__(self, vocab_file, do_lower_case=True, preserve_unused_tokens=False):
        self.vocab = load_vocab(vocab_file)
        self.inv_vocab = {v: k for k, v in self.vocab.items()}
        self.basic_tokenizer = BasicTokenizer(
            do_lower_case=do_lower_case,
            vocab=self.vocab,
            preserve_unused_tokens=preserve_unused_tokens,
        )
        self.wordpiece_tokenizer = WordpieceTokenizer(vocab=self.vocab)
        self._longest_piece = max(map(len, self.vocab), default=0)
        self._tokens_by_chunk = {}
        self._ids_by_chunk = {}

    def tokenize(self, text):
        """Returns the list of word-piece strings for `text` (str or bytes)."""
        return self._per_chunk(text, self._tokens_by_chunk, self._tokenize_chunk)

    def tokenize_to_ids(self, text):
        """Same as `convert_tokens_to_ids(tokenize(text))`, but faster."""
        return self._per_chunk(text, self._ids_by_chunk, self._chunk_ids)

    def _per_chunk(self, text, cache, compute):
        """`compute(chunk)` for each chunk of `text`, concatenated.

        Each distinct chunk is computed once and kept in `cache`, which is
        emptied when it reaches `_MAX_CACHED_CHUNKS` entries.
        """
        output = []
        for chunk in _clean_and_split(convert_to_unicode(text)):
            result = cache.get(chunk)
            if result is None:
                result = compute(chunk)
                if len(cache) >= _MAX_CACHED_CHUNKS:
                    cache.clear()
                cache[chunk] = result
            output.extend(result)
        return output

    def _chunk_ids(self, chunk):
        return tuple(self.vocab[t] for t in self._tokenize_chunk(chunk))

    def convert_tokens_to_ids(self, tokens):
        return convert_by_vocab(self.vocab, tokens)

    def convert_ids_to_tokens(self, ids):
        return convert_by_vocab(self.inv_vocab, ids)

    def _tokenize_chunk(self, chunk):
        """Tokenizes one whitespace-free chunk of text (a tuple of pieces).

        The same steps as BasicTokenizer.tokenize_chunk + WordpieceTokenizer,
        with shortcuts that cannot change the result: ASCII text has no
        accents to strip and only ASCII punctuation, and no vocab entry is
        longer than `self._longest_piece` characters.
        """
        basic = self.basic_tokenizer
        if basic.preserve_unused_tokens and preserve_token(chunk, self.vocab):
            words = [chunk]
        elif chunk.isascii():
            text = chunk
            if basic.do_lower_case:
                text = text.lower()
            words = [w for w in _ASCII_PUNCTUATION.split(text) if w]
        else:
            words = basic.tokenize_chunk(chunk)
        pieces = []
        for word in words:
            pieces.extend(self._word_pieces(word))
        return tuple(pieces)

    def _word_pieces(self, word):
        """WordpieceTokenizer.tokenize for one word, bounded by the vocab."""
        wordpiece = self.wordpiece_tokenizer
        if len(word) > wordpiece.max_input_chars_per_word:
            return [wordpiece.unk_token]
        vocab = self.vocab
        if word in vocab:
            return [word]
        pieces = []
        start = 0
        while start < len(word):
            end = min(len(word), start + self._longest_piece)
            while start < end:
                piece = word[start:end]
                if start > 0:
                    piece = "##" + piece
                if piece in vocab:
                    break
                end -= 1
            else:
                return [wordpiece.unk_token]
            pieces.append(piece)
            start = end
        return pieces


class BasicTokenizer:
    """Cleaning, CJK and punctuation splitting, optional lower-casing.

    Args:
      do_lower_case: apply Python's str.lower(), then NFD and drop every
        non-spacing mark (category Mn). With False, no Unicode
        normalisation happens at all.
      vocab: the vocab, consulted only by `preserve_unused_tokens`.
      preserve_unused_tokens: keep a whitespace-separated chunk that is one
        of `vocab`'s `[unusedN]` tokens as it is (see `preserve_token`).

    Example: `BasicTokenizer().tokenize(" \\tHeLLo!how  \\n Are yoU?  ")`
    gives `["hello", "!", "how", "are", "you", "?"]`.
    """

    def __init__(self, do_lower_case=True, vocab=(), preserve_unused_tokens=False):
        self.do_lower_case = do_lower_case
        self.vocab = vocab
        self.preserve_unused_tokens = preserve_unused_tokens

    def tokenize(self, text):
        """Tokenizes a piece of text (str or bytes) into a list of str."""
        text = convert_to_unicode(text)
        text = self._clean_text(text)
        # Applied to every model since 2018-11-01, including English ones:
        # English vocabs hold few CJK characters, so this rarely matters.
        text = self._tokenize_chinese_chars(text)
        split_tokens = []
        for token in whitespace_tokenize(text):
            if self.preserve_unused_tokens and preserve_token(token, self.vocab):
                split_tokens.append(token)
            else:
                split_tokens.extend(self.tokenize_chunk(token))
        return whitespace_tokenize(" ".join(split_tokens))

    def tokenize_chunk(self, chunk):
        """The tokens of one cleaned, whitespace-free chunk of text."""
        if self.do_lower_case:
            chunk = self._run_strip_accents(chunk.lower())
        # Accent stripping cannot add whitespace, but the original re-splits
        # anyway; so do we, to stay exact whatever Unicode version is used.
        return whitespace_tokenize(" ".join(self._run_split_on_punc(chunk)))

    def _run_strip_accents(self, text):
        text = unicodedata.normalize("NFD", text)
        return "".join(c for c in text if unicodedata.category(c) != "Mn")

    def _run_split_on_punc(self, text):
        """Makes every punctuation character its own token."""
        output = []
        start_new_word = True
        for char in text:
            if _is_punctuation(char):
                output.append([char])
                start_new_word = True
            else:
                if start_new_word:
                    output.append([])
                start_new_word = False
                output[-1].append(char)
        return ["".join(x) for x in output]

    def _tokenize_chinese_chars(self, text):
        """Surrounds every CJK ideograph with spaces."""
        output = []
        for char in text:
            if _is_chinese_char(ord(char)):
                output.extend((" ", char, " "))
            else:
                output.append(char)
        return "".join(output)

    def _clean_text(self, text):
        """Drops NUL, U+FFFD and controls; maps each whitespace to a space."""
        output = []
        for char in text:
            cp = ord(char)
            if cp == 0 or cp == 0xFFFD or _is_control(char):
                continue
            output.append(" " if _is_whitespace(char) else char)
        return "".join(output)


class WordpieceTokenizer:
    """Greedy longest-match-first splitting into vocabulary pieces.

    Args:
      vocab: dict (or set) of word pieces; non-initial pieces start "##".
      unk_token: emitted for a word that cannot be covered.
      max_input_chars_per_word: longer words become `unk_token` directly.

    Example: with a vocab holding "un", "##aff" and "##able",
    `tokenize("unaffable")` gives `["un", "##aff", "##able"]`. If any
    position of a word has no matching piece, the WHOLE word becomes
    `unk_token` (pieces found before it are dropped).
    """

    def __init__(self, vocab, unk_token="[UNK]", max_input_chars_per_word=200):
        self.vocab = vocab
        self.unk_token = unk_token
        self.max_input_chars_per_word = max_input_chars_per_word

    def tokenize(self, text):
        """Tokenizes whitespace-separated words (already basic-tokenized)."""
        output_tokens = []
        for token in whitespace_tokenize(convert_to_unicode(text)):
            if len(token) > self.max_input_chars_per_word:
                output_tokens.append(self.unk_token)
                continue
            sub_tokens = []
            start = 0
            while start < len(token):
                end = len(token)
                cur_substr = None
                while start < end:
                    substr = token[start:end]
                    if start > 0:
                        substr = "##" + substr
                    if substr in self.vocab:
                        cur_substr = substr
                        break
                    end -= 1
                if cur_substr is None:
                    sub_tokens = [self.unk_token]
                    break
                sub_tokens.append(cur_substr)
                start = end
            output_tokens.extend(sub_tokens)
        return output_tokens


def _is_whitespace(char):
    """\\t, \\n, \\r and space count, plus category Zs (e.g. U+00A0)."""
    if char in " \t\n\r":
        return True
    return unicodedata.category(char) == "Zs"


def _is_control(char):
    """Categories Cc and Cf, except \\t, \\n and \\r (whitespace here)."""
    if char in "\t\n\r":
        return False
    return unicodedata.category(char) in ("Cc", "Cf")


def _is_punctuation(char):
    """Category P*, plus all non-alphanumeric printable ASCII ($, ^, +...)."""
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_chinese_char(cp):
    return any(low <= cp <= high for low, high in CJK_RANGES)


class _CleanMap(dict):
    """str.translate table for _clean_text + _tokenize_chinese_chars.

    Filled lazily, one code point at a time, so the per-character Unicode
    lookups happen once per distinct character instead of once per
    occurrence. Whitespace is left as is: str.split() splits on it anyway.
    """

    def __missing__(self, cp):
        char = chr(cp)
        if cp == 0 or cp == 0xFFFD or _is_control(char):
            value = None  # Deleted.
        elif _is_chinese_char(cp):
            value = f" {char} "
        else:
            value = cp
        self[cp] = value
        return value


_CLEAN_MAP = _CleanMap()


def _clean_and_split(text):
    """The chunks that BasicTokenizer.tokenize passes to tokenize_chunk."""
    if text.isascii():
        return _ASCII_CONTROLS.sub("", text).split()
    return text.translate(_CLEAN_MAP).split()
