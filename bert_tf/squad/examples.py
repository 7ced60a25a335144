"""SQuAD JSON files -> `SquadExample`s, as run_squad.py read them.

Replaces `SquadExample` and `read_squad_examples` in google-research/bert's
run_squad.py, for SQuAD 1.1 and 2.0. Contexts are split into whitespace
words (`doc_tokens`); in training mode each answer's character offsets
become word positions, and a question whose answer text cannot be found in
those words is skipped with the original's warning.

What differs from the original: a missing file, invalid JSON, a missing key
or an `answer_start` outside its context raises `UserInputError` naming
the file and the question, instead of a stack trace from deep inside; the
SQuAD 2.0 flag is an argument, not a global flag. A question without
`is_impossible` in a SQuAD 2.0 training file counts as answerable.

This module does no tokenization into word pieces and builds no tensors;
`bert_tf.squad.features` does that.
"""

import dataclasses
import json
from typing import List, Optional

from absl import logging

from bert_tf import errors
from bert_tf import file_io
from bert_tf import tokenization


@dataclasses.dataclass
class SquadExample:
    """One question about one paragraph.

    Attributes:
      qas_id: the question's `id` in the JSON file.
      question_text: the question as written.
      doc_tokens: the paragraph's whitespace-separated words. Questions
        about the same paragraph share this list; do not modify it.
      orig_answer_text: the answer as written (training); "" for an
        impossible question; None in prediction mode.
      start_position: index into doc_tokens of the answer's first word
        (training); -1 for an impossible question; None in prediction mode.
      end_position: index of the answer's last word, likewise.
      is_impossible: True for a SQuAD 2.0 question without an answer
        (training with version_2_with_negative only).
    """

    qas_id: str
    question_text: str
    doc_tokens: List[str]
    orig_answer_text: Optional[str] = None
    start_position: Optional[int] = None
    end_position: Optional[int] = None
    is_impossible: bool = False


def is_whitespace(c):
    """The original's SQuAD whitespace: space, \\t, \\r, \\n and U+202F.

    Narrower than Python's str.isspace on purpose: e.g. a no-break space
    (U+00A0) stays inside a word, as in the original.
    """
    return c in (" ", "\t", "\r", "\n") or ord(c) == 0x202F


def split_paragraph(paragraph_text):
    """Splits a context into words and maps each character to its word.

    Example: "a  bc" -> (["a", "bc"], [0, 0, 0, 1, 1]): whitespace belongs
    to the word before it, and leading whitespace maps to -1.

    Returns:
      (doc_tokens, char_to_word_offset): a list of words and a list of
      len(paragraph_text) word indexes.
    """
    doc_tokens = []
    char_to_word_offset = []
    prev_is_whitespace = True
    for c in paragraph_text:
        if is_whitespace(c):
            prev_is_whitespace = True
        else:
            if prev_is_whitespace:
                doc_tokens.append(c)
            else:
                doc_tokens[-1] += c
            prev_is_whitespace = False
        char_to_word_offset.append(len(doc_tokens) - 1)
    return doc_tokens, char_to_word_offset


_JSON_KINDS = {list: "list", str: "string", dict: "object"}


class _Reader:
    """Key access into the parsed JSON, with errors naming file and place."""

    def __init__(self, input_file, what):
        self.input_file = input_file
        self.what = what
        self.where = f"--{what}={input_file!r}"

    def error(self, message):
        return errors.UserInputError(f"{self.where}: {message}")

    def get(self, obj, key, context, kind=None):
        if not isinstance(obj, dict):
            raise self.error(f"{context}: expected a JSON object")
        if key not in obj:
            raise self.error(f"{context} has no {key!r} key (not SQuAD JSON?)")
        value = obj[key]
        if kind is not None and not isinstance(value, kind):
            raise self.error(
                f"{context}: {key!r} must be a JSON {_JSON_KINDS[kind]}"
            )
        return value

    def load(self):
        file_io.require_file(self.input_file, f"--{self.what}")
        try:
            with file_io.open_text(self.input_file) as f:
                text = f.read()
        except UnicodeDecodeError:
            raise self.error("not UTF-8 text") from None
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise self.error(f"not valid JSON ({e})") from None


def _answer_example(reader, answer, qas_id, question_text, doc_tokens,
                    char_to_word_offset):
    """The training example of an answerable question, or None to skip it."""
    context = f"question {qas_id!r}: answer"
    orig_answer_text = reader.get(answer, "text", context, str)
    answer_offset = reader.get(answer, "answer_start", context)
    if not isinstance(answer_offset, int) or isinstance(answer_offset, bool):
        raise reader.error(
            f"{context}: answer_start {answer_offset!r} is not an integer"
        )
    answer_length = len(orig_answer_text)
    try:
        start_position = char_to_word_offset[answer_offset]
        end_position = char_to_word_offset[answer_offset + answer_length - 1]
    except IndexError:
        raise reader.error(
            f"{context}: answer_start {answer_offset} + length "
            f"{answer_length} is outside its context of "
            f"{len(char_to_word_offset)} characters"
        ) from None
    # Only answers whose text is found again in the words are kept: a
    # mismatch is usually odd Unicode in the annotation, and such a
    # question is dropped rather than trained on a wrong span. Training
    # therefore does not keep every question.
    actual_text = " ".join(doc_tokens[start_position:end_position + 1])
    cleaned_answer_text = " ".join(
        tokenization.whitespace_tokenize(orig_answer_text)
    )
    if actual_text.find(cleaned_answer_text) == -1:
        logging.warning(
            "Could not find answer: '%s' vs. '%s'",
            actual_text, cleaned_answer_text,
        )
        return None
    return SquadExample(
        qas_id=qas_id,
        question_text=question_text,
        doc_tokens=doc_tokens,
        orig_answer_text=orig_answer_text,
        start_position=start_position,
        end_position=end_position,
        is_impossible=False,
    )


def _training_example(reader, qa, qas_id, question_text, doc_tokens,
                      char_to_word_offset, version_2_with_negative):
    """A question with its answer span, or None when it cannot be used."""
    is_impossible = False
    if version_2_with_negative:
        is_impossible = bool(qa.get("is_impossible", False))
    answers = reader.get(qa, "answers", f"question {qas_id!r}", list)
    if len(answers) != 1 and not is_impossible:
        hint = ""
        if not answers and not version_2_with_negative:
            hint = " A SQuAD 2.0 file needs --version_2_with_negative=True."
        raise reader.error(
            f"question {qas_id!r} has {len(answers)} answers. For training, "
            f"each question should have exactly 1 answer.{hint}"
        )
    if is_impossible:
        return SquadExample(
            qas_id=qas_id,
            question_text=question_text,
            doc_tokens=doc_tokens,
            orig_answer_text="",
            start_position=-1,
            end_position=-1,
            is_impossible=True,
        )
    return _answer_example(
        reader, answers[0], qas_id, question_text, doc_tokens,
        char_to_word_offset,
    )


def read_squad_examples(input_file, is_training, version_2_with_negative=False,
                        what="input_file"):
    """Reads a SQuAD 1.1 / 2.0 JSON file into a list of `SquadExample`.

    Args:
      input_file: path (gs:// works) of a file with the SQuAD layout
        `{"data": [{"paragraphs": [{"context", "qas": [{"id", "question",
        "answers": [{"text", "answer_start"}], "is_impossible"}]}]}]}`.
      is_training: read the answers (exactly one per answerable question)
        and turn them into word positions; questions whose answer cannot be
        recovered from the context are skipped with a warning.
      version_2_with_negative: read `is_impossible` (SQuAD 2.0); only used
        in training, as in the original.
      what: the flag named in error messages, e.g. "train_file".

    Returns:
      list of `SquadExample`, in file order.

    Raises:
      UserInputError: the file is missing, not JSON, not in the SQuAD
        layout, or (training) a question does not have exactly one answer
        (the original's ValueError "For training, each question should
        have exactly 1 answer.").
    """
    reader = _Reader(input_file, what)
    input_data = reader.get(reader.load(), "data", "the file", list)

    examples = []
    for entry in input_data:
        for paragraph in reader.get(entry, "paragraphs", "data entry", list):
            paragraph_text = reader.get(paragraph, "context", "paragraph", str)
            doc_tokens, char_to_word_offset = split_paragraph(paragraph_text)
            for qa in reader.get(paragraph, "qas", "paragraph", list):
                qas_id = reader.get(qa, "id", "question")
                question_text = reader.get(
                    qa, "question", f"question {qas_id!r}", str
                )
                if is_training:
                    example = _training_example(
                        reader, qa, qas_id, question_text, doc_tokens,
                        char_to_word_offset, version_2_with_negative,
                    )
                else:
                    example = SquadExample(qas_id, question_text, doc_tokens)
                if example is not None:
                    examples.append(example)
    return examples
