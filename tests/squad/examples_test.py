"""read_squad_examples against the reference's output on the squad fixtures."""

import dataclasses
import json
import re

import pytest

from bert_tf.errors import UserInputError
from bert_tf.squad import examples
from tests.conftest import read_jsonl
from tests.conftest import testdata

VERSIONS = {
    # version folder: (SQuAD file, version_2_with_negative)
    "v1.1": ("squad_v1.1.json", False),
    "v2.0": ("squad_v2.0.json", True),
}


def read_examples(version, is_training):
    name, version_2 = VERSIONS[version]
    return examples.read_squad_examples(
        testdata("squad", name), is_training, version_2
    )


@pytest.mark.parametrize("version", sorted(VERSIONS))
@pytest.mark.parametrize("mode", ["train", "predict"])
def test_examples_match_reference(version, mode):
    got = read_examples(version, mode == "train")
    expected = read_jsonl(
        testdata("squad", version, f"examples_{mode}.jsonl")
    )
    assert [dataclasses.asdict(e) for e in got] == expected


def test_unrecoverable_answer_is_skipped_in_training(caplog):
    with caplog.at_level("WARNING", logger="absl"):
        train = read_examples("v1.1", is_training=True)
    predict = read_examples("v1.1", is_training=False)
    assert [e.qas_id for e in predict if e.qas_id not in
            {t.qas_id for t in train}] == ["v1-a6"]
    assert len(train) == 8 and len(predict) == 9
    assert "Could not find answer: 'Swedish physicist' vs. 'Swedish " \
           "physicists'" in [r.getMessage() for r in caplog.records]


def test_predict_mode_reads_no_answers():
    example = read_examples("v2.0", is_training=False)[1]
    assert example.qas_id == "v2-a2"  # impossible in the file
    assert (example.orig_answer_text, example.start_position,
            example.end_position, example.is_impossible) == (
                None, None, None, False)


def test_squad_whitespace_and_word_offsets():
    # U+202F, \t, \r and \n separate words; U+00A0 does not. Whitespace
    # maps to the word before it, leading whitespace to -1.
    text = " a\u202fb\tc\u00a0d \r\ne"
    doc_tokens, offsets = examples.split_paragraph(text)
    assert doc_tokens == ["a", "b", "c\u00a0d", "e"]
    assert offsets == [-1, 0, 0, 1, 1, 2, 2, 2, 2, 2, 2, 3]


def test_narrow_no_break_space_and_tab_in_the_fixture():
    # Article 2 has "€4.50\u202ftoday;" and "luxury".\tIn": both split.
    (example,) = [
        e for e in read_examples("v1.1", False) if e.qas_id == "v1-b1"
    ]
    words = example.doc_tokens
    i = words.index("€4.50")
    assert words[i + 1] == "today;"
    i = words.index('luxury".')
    assert words[i + 1] == "In"


def test_v2_file_without_flag_is_one_clear_line():
    # The reference raises ValueError("For training, each question should
    # have exactly 1 answer."); here it is a UserInputError (a ValueError)
    # naming the file and the question.
    with pytest.raises(ValueError) as info:
        examples.read_squad_examples(
            testdata("squad", "squad_v2.0.json"), True, False,
            what="train_file",
        )
    assert isinstance(info.value, UserInputError)
    message = str(info.value)
    assert "\n" not in message
    assert re.fullmatch(
        r"--train_file='.*squad_v2\.0\.json': question 'v2-a2' has 0 "
        r"answers\. For training, each question should have exactly 1 "
        r"answer\. A SQuAD 2\.0 file needs --version_2_with_negative=True\.",
        message,
    )


def _write(tmp_path, text):
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _paragraph(qas, context="The cat sat."):
    return json.dumps({"data": [{"paragraphs": [
        {"context": context, "qas": qas}]}]})


@pytest.mark.parametrize("text, is_training, pattern", [
    ('{"data": [', False, r"not valid JSON \(Expecting value: line 1"),
    ('{"version": "1.1"}', False, r"the file has no 'data' key"),
    ('{"data": [{"title": "x"}]}', False, r"data entry has no 'paragraphs'"),
    (_paragraph([{"id": "q1"}]), False,
     r"question 'q1' has no 'question' key"),
    (_paragraph([{"id": "q1", "question": "Who?", "answers": [
        {"text": "cat", "answer_start": 40}]}]), True,
     r"question 'q1': answer: answer_start 40 \+ length 3 is outside its "
     r"context of 12 characters"),
    (_paragraph([{"id": "q1", "question": "Who?", "answers": [
        {"text": "cat", "answer_start": 4}, {"text": "cat",
                                             "answer_start": 4}]}]), True,
     r"question 'q1' has 2 answers\. For training, each question should "
     r"have exactly 1 answer\.$"),
])
def test_malformed_files(tmp_path, text, is_training, pattern):
    path = _write(tmp_path, text)
    with pytest.raises(UserInputError) as info:
        examples.read_squad_examples(path, is_training, what="predict_file")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"--predict_file={path!r}: ")
    assert re.search(pattern, message), message


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"data": "caf\xe9"}')
    with pytest.raises(UserInputError, match=r"latin1\.json': not UTF-8 text$"):
        examples.read_squad_examples(str(path), False)


def test_missing_file():
    with pytest.raises(UserInputError, match=r"--train_file='/no/such.json'"
                                             r": file not found"):
        examples.read_squad_examples("/no/such.json", True, what="train_file")
