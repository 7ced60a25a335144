"""Tests for bert_tf.classifier.processors against the reference's output."""

import json
import logging
import os
import pathlib

import pytest

from bert_tf import errors
from bert_tf.classifier import processors
from bert_tf.classifier.examples import InputExample
from tests.conftest import read_jsonl

TESTDATA = pathlib.Path(__file__).resolve().parent.parent / "testdata"
CLASSIFIER = TESTDATA / "classifier"
DATA_DIRS = {"mrpc": "MRPC", "cola": "CoLA", "mnli": "MNLI", "xnli": "XNLI"}


def _summary():
    return json.loads((CLASSIFIER / "summary.json").read_text("utf-8"))


def _examples_by_split(task):
    processor = processors.get_processor(task)
    data_dir = str(CLASSIFIER / DATA_DIRS[task])
    by_split = {
        "train": processor.get_train_examples(data_dir),
        "dev": processor.get_dev_examples(data_dir),
    }
    if task != "xnli":
        by_split["test"] = processor.get_test_examples(data_dir)
    return by_split


def _write(directory, name, rows):
    """Writes TSV rows (lists of str) as UTF-8 lines ending in "\\n"."""
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join("\t".join(row) + "\n" for row in rows), encoding="utf-8"
    )
    return str(path)


# --- The four original tasks: golden dumps of the reference processors. ---


@pytest.mark.parametrize("task", sorted(DATA_DIRS))
def test_examples_match_reference(task):
    golden = read_jsonl(CLASSIFIER / f"{task}_features.jsonl")
    got = [
        (split, e.guid, e.text_a, e.text_b, e.label)
        for split, examples in _examples_by_split(task).items()
        for e in examples
    ]
    want = [
        (g["split"], g["guid"], g["text_a"], g["text_b"], g["label"])
        for g in golden
    ]
    assert got == want


@pytest.mark.parametrize("task", sorted(DATA_DIRS))
def test_is_pair_task_says_whether_the_golden_examples_have_text_b(task):
    # The exported serving signature takes text_b only for pair tasks.
    golden = read_jsonl(CLASSIFIER / f"{task}_features.jsonl")
    has_text_b = any(g["text_b"] is not None for g in golden)
    assert processors.get_processor(task).is_pair_task == has_text_b


@pytest.mark.parametrize("task", sorted(DATA_DIRS))
def test_labels_and_counts_match_summary(task):
    summary = _summary()["tasks"][task]
    assert processors.get_processor(task).get_labels() == summary["label_list"]
    counts = {
        split: len(examples)
        for split, examples in _examples_by_split(task).items()
    }
    want = {
        split: n
        for split, n in summary["examples"].items()
        if isinstance(n, int)
    }
    assert counts == want


def test_xnli_has_no_test_set():
    xnli_test = _summary()["tasks"]["xnli"]["examples"]["test"]
    assert "NotImplementedError" in xnli_test
    with pytest.raises(NotImplementedError):
        processors.XnliProcessor().get_test_examples(str(CLASSIFIER / "XNLI"))


def test_quotes_are_ordinary_characters():
    train = processors.MrpcProcessor().get_train_examples(
        str(CLASSIFIER / "MRPC")
    )
    assert train[7] == InputExample(
        "train-8",
        '"Unbalanced quote at the start of the sentence .',
        'A second sentence with a lone " in the middle .',
        "1",
    )
    # An empty "#2 String" stays an empty string, as the reference reads it.
    assert train[6].text_b == ""


def test_xnli_dev_keeps_zh_rows_with_guids_counting_all_rows():
    dev = processors.XnliProcessor().get_dev_examples(str(CLASSIFIER / "XNLI"))
    assert [e.guid for e in dev] == ["dev-2", "dev-4", "dev-6", "dev-7"]
    assert [e.label for e in dev] == [
        "entailment",
        "contradiction",
        "neutral",
        "entailment",
    ]


def test_xnli_renames_contradictory():
    train = processors.XnliProcessor().get_train_examples(
        str(CLASSIFIER / "XNLI")
    )
    raw_file = CLASSIFIER / "XNLI" / "multinli" / "multinli.train.zh.tsv"
    raw = raw_file.read_text("utf-8")
    assert "contradictory" in raw
    assert [e.label for e in train].count("contradiction") == 3


# --- Registry. ---


# One row per task: the names --task_name accepts for it, in mixed case.
@pytest.mark.parametrize(
    "names, cls",
    [
        (["cola"], processors.ColaProcessor),
        (["MNLI"], processors.MnliProcessor),
        (["Mrpc"], processors.MrpcProcessor),
        (["xnli"], processors.XnliProcessor),
        (["sst2", "SST-2"], processors.Sst2Processor),
        (["qqp"], processors.QqpProcessor),
        (["qnli"], processors.QnliProcessor),
        (["rte"], processors.RteProcessor),
        (["wnli"], processors.WnliProcessor),
        (["stsb", "STS-B"], processors.StsbProcessor),
    ],
)
def test_get_processor_is_case_insensitive_and_knows_aliases(names, cls):
    for name in names:
        assert type(processors.get_processor(name)) is cls, name


def test_unknown_task_message():
    with pytest.raises(errors.UserInputError) as e:
        processors.get_processor("SQuAD")
    assert str(e.value) == (
        "Task not found: squad (known tasks: cola, mnli, mrpc, xnli, sst2, "
        "sst-2, qqp, qnli, rte, wnli, stsb, sts-b)"
    )
    assert isinstance(e.value, ValueError)


# --- The other GLUE tasks, on handmade files in their real layouts. ---


def test_sst2(tmp_path):
    _write(tmp_path, "train.tsv", [
        ["sentence", "label"],
        ["hide new secretions from the parental units ", "0"],
        ["that loves its characters ", "1"],
    ])
    _write(tmp_path, "dev.tsv", [
        ["sentence", "label"],
        ["it 's a charming and often affecting journey . ", "1"],
    ])
    _write(tmp_path, "test.tsv", [
        ["index", "sentence"],
        ["0", "uneasy mishmash of styles and genres ."],
        ["1", "this film 's relationship to actual tension is \" sitting ."],
    ])
    p = processors.get_processor("sst-2")
    d = str(tmp_path)
    assert p.get_labels() == ["0", "1"]
    assert p.get_train_examples(d) == [
        InputExample(
            "train-1", "hide new secretions from the parental units ", None, "0"
        ),
        InputExample("train-2", "that loves its characters ", None, "1"),
    ]
    assert p.get_dev_examples(d) == [
        InputExample(
            "dev-1", "it 's a charming and often affecting journey . ", None,
            "1",
        ),
    ]
    assert p.get_test_examples(d) == [
        InputExample(
            "test-1", "uneasy mishmash of styles and genres .", None, "0"
        ),
        InputExample(
            "test-2",
            "this film 's relationship to actual tension is \" sitting .",
            None,
            "0",
        ),
    ]


QQP_HEADER = ["id", "qid1", "qid2", "question1", "question2", "is_duplicate"]


def test_qqp(tmp_path):
    _write(tmp_path, "train.tsv", [
        QQP_HEADER,
        ["133273", "213221", "213222", "How is the life of a math student?",
         "Which level of prepration is enough?", "0"],
        ["402555", "536040", "536041", "How do I control my horny emotions?",
         "How do you control your horniness?", "1"],
    ])
    _write(tmp_path, "dev.tsv", [
        QQP_HEADER,
        ["201359", "303345", "303346",
         "Why are African-Americans so beautiful?",
         "Why are hispanics so beautiful?", "0"],
    ])
    _write(tmp_path, "test.tsv", [
        ["id", "question1", "question2"],
        ["0", "Why do rockets look white?",
         "Why are rockets and boosters painted white?"],
    ])
    p = processors.get_processor("qqp")
    d = str(tmp_path)
    assert p.get_labels() == ["0", "1"]
    assert p.get_train_examples(d) == [
        InputExample("train-133273", "How is the life of a math student?",
                     "Which level of prepration is enough?", "0"),
        InputExample("train-402555", "How do I control my horny emotions?",
                     "How do you control your horniness?", "1"),
    ]
    assert p.get_dev_examples(d) == [
        InputExample("dev-201359", "Why are African-Americans so beautiful?",
                     "Why are hispanics so beautiful?", "0"),
    ]
    assert p.get_test_examples(d) == [
        InputExample("test-0", "Why do rockets look white?",
                     "Why are rockets and boosters painted white?", "0"),
    ]


def test_qqp_skips_broken_rows(tmp_path, caplog):
    _write(tmp_path, "train.tsv", [
        QQP_HEADER,
        ["1", "2", "3", "q one?", "q two?", "1"],
        ["4", "5", "6", "a question cut short"],
        ["7", "8", "9", "q three?", "q four?", "0"],
    ])
    with caplog.at_level(logging.WARNING, logger="absl"):
        examples = processors.QqpProcessor().get_train_examples(str(tmp_path))
    assert [e.guid for e in examples] == ["train-1", "train-7"]
    path = os.path.join(str(tmp_path), "train.tsv")
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}: skipped 1 row(s) with fewer than 6 columns (lines 3)"
    ]


@pytest.mark.parametrize(
    "task, labels",
    [
        ("qnli", ["entailment", "not_entailment"]),
        ("rte", ["entailment", "not_entailment"]),
        ("wnli", ["0", "1"]),
    ],
)
def test_indexed_pair_tasks(tmp_path, task, labels):
    header = ["index", "sentence1", "sentence2", "label"]
    _write(tmp_path, "train.tsv", [
        header,
        ["0", "Dana Reeve died.", "Christopher Reeve had an accident.",
         labels[1]],
        ["1", "Yet, we now are discovering.", "Bacteria is winning.",
         labels[0]],
    ])
    _write(tmp_path, "dev.tsv", [
        header,
        ["7", "The drain is clogged.", "The hair is clogged.", labels[1]],
    ])
    _write(tmp_path, "test.tsv", [
        header[:3],
        ["0", "Maude and Dora had seen the trains.", "Dora had seen them."],
        ["1", "A second \"test\" row.", "Another one."],
    ])
    p = processors.get_processor(task)
    d = str(tmp_path)
    assert p.get_labels() == labels
    assert p.get_train_examples(d) == [
        InputExample("train-0", "Dana Reeve died.",
                     "Christopher Reeve had an accident.", labels[1]),
        InputExample("train-1", "Yet, we now are discovering.",
                     "Bacteria is winning.", labels[0]),
    ]
    assert p.get_dev_examples(d) == [
        InputExample("dev-7", "The drain is clogged.",
                     "The hair is clogged.", labels[1]),
    ]
    assert p.get_test_examples(d) == [
        InputExample("test-0", "Maude and Dora had seen the trains.",
                     "Dora had seen them.", labels[0]),
        InputExample("test-1", "A second \"test\" row.", "Another one.",
                     labels[0]),
    ]


STSB_HEADER = ["index", "genre", "filename", "year", "old_index", "source1",
               "source2", "sentence1", "sentence2", "score"]


def test_stsb_is_regression_with_float_labels(tmp_path):
    _write(tmp_path, "train.tsv", [
        STSB_HEADER,
        ["0", "main-captions", "MSRvid", "2012test", "0001", "none", "none",
         "A plane is taking off.", "An air plane is taking off.", "5.000"],
        ["1", "main-captions", "MSRvid", "2012test", "0004", "none", "none",
         "A man is playing a large flute.", "A man is playing a flute.",
         "3.800"],
    ])
    _write(tmp_path, "dev.tsv", [
        STSB_HEADER,
        ["12", "main-forums", "deft-forum", "2014", "0012", "none", "none",
         "Two dogs play.", "A cat sleeps.", "0.25"],
    ])
    _write(tmp_path, "test.tsv", [
        STSB_HEADER[:9],
        ["0", "main-captions", "MSRvid", "2012test", "0024", "none", "none",
         "A girl is styling her hair.", "A girl is brushing her hair."],
    ])
    p = processors.get_processor("sts-b")
    d = str(tmp_path)
    assert p.is_regression is True
    assert processors.MrpcProcessor.is_regression is False
    assert p.get_labels() is None
    train = p.get_train_examples(d)
    assert train == [
        InputExample("train-0", "A plane is taking off.",
                     "An air plane is taking off.", 5.0),
        InputExample("train-1", "A man is playing a large flute.",
                     "A man is playing a flute.", 3.8),
    ]
    assert all(type(e.label) is float for e in train)
    assert p.get_dev_examples(d) == [
        InputExample("dev-12", "Two dogs play.", "A cat sleeps.", 0.25),
    ]
    assert p.get_test_examples(d) == [
        InputExample("test-0", "A girl is styling her hair.",
                     "A girl is brushing her hair.", 0.0),
    ]


# --- Error messages: one line naming the file (and line) and the problem. ---


def _error(processor, split, data_dir):
    """The UserInputError message of reading `split` from `data_dir`."""
    with pytest.raises(errors.UserInputError) as e:
        getattr(processor(), f"get_{split}_examples")(str(data_dir))
    return str(e.value)


def test_missing_data_file(tmp_path):
    path = os.path.join(str(tmp_path), "train.tsv")
    assert _error(processors.MrpcProcessor, "train", tmp_path) == (
        f"Data file not found: {path} (check --data_dir)"
    )


def test_missing_xnli_train_file_names_the_multinli_path(tmp_path):
    path = os.path.join(str(tmp_path), "multinli", "multinli.train.zh.tsv")
    assert _error(processors.XnliProcessor, "train", tmp_path) == (
        f"Data file not found: {path} (check --data_dir)"
    )


MNLI_TRAIN_HEADER = [
    "index", "promptID", "pairID", "genre", "s1bp", "s2bp", "s1p", "s2p",
    "sentence1", "sentence2", "label1", "gold_label",
]


# (processor, split read, file written, its rows, message after "<path>, ").
@pytest.mark.parametrize("processor, split, name, rows, message", [
    pytest.param(
        processors.MrpcProcessor, "dev", "dev.tsv",
        [["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"],
         ["1", "1", "2", "a", "b"], ["yes", "3", "4", "c", "d"]],
        "line 3: label 'yes' is not one of ['0', '1']",
        id="unknown_label",
    ),
    pytest.param(
        processors.ColaProcessor, "train", "train.tsv",
        [["gj04", "1", "", "Fine."], ["gj04", "2", "*", "Not fine."]],
        "line 2: label '2' is not one of ['0', '1']",
        id="unknown_label_in_headerless_cola_counts_lines_from_one",
    ),
    pytest.param(
        processors.XnliProcessor, "train", "multinli/multinli.train.zh.tsv",
        [["premise", "hypo", "label"], ["a", "b", "contradictory"],
         ["c", "d", "neutral"], ["e", "f", "contradicts"]],
        "line 4: label 'contradicts' is not one of "
        "['contradiction', 'entailment', 'neutral']",
        id="unknown_xnli_label",
    ),
    pytest.param(
        processors.MnliProcessor, "train", "train.tsv",
        [MNLI_TRAIN_HEADER, ["0", "1", "1e", "fiction", "", "", "", "", "A.",
                             "B.", "neutral", "neutral"], []],
        "line 3: expected at least 10 tab-separated columns, found 0",
        id="empty_row",
    ),
    pytest.param(
        processors.StsbProcessor, "dev", "dev.tsv",
        [STSB_HEADER, ["0", "g", "f", "y", "0", "none", "none", "A.", "B.",
                       "high"]],
        "line 2: score 'high' is not a number",
        id="bad_stsb_score",
    ),
    pytest.param(
        processors.ColaProcessor, "test", "test.tsv",
        [["index", "sentence"], ["0", "short"], ["1", "x" * 200000]],
        "line 3: field larger than field limit (131072)",
        id="field_over_csv_limit",
    ),
])
def test_bad_row_names_file_and_line(
    tmp_path, processor, split, name, rows, message
):
    path = _write(tmp_path, name, rows)
    assert _error(processor, split, tmp_path) == f"{path}, {message}"


# A row must hold every column the task reads (test sets: no label column).
@pytest.mark.parametrize("processor, split, name, columns", [
    (processors.MnliProcessor, "train", "train.tsv", 10),
    (processors.MnliProcessor, "test", "test_matched.tsv", 10),
    (processors.MrpcProcessor, "test", "test.tsv", 5),
    (processors.ColaProcessor, "dev", "dev.tsv", 4),
    (processors.ColaProcessor, "test", "test.tsv", 2),
    (processors.Sst2Processor, "train", "train.tsv", 2),
    (processors.QnliProcessor, "train", "train.tsv", 4),
    (processors.QnliProcessor, "test", "test.tsv", 3),
    (processors.StsbProcessor, "dev", "dev.tsv", 10),
    (processors.StsbProcessor, "test", "test.tsv", 9),
])
def test_short_row(tmp_path, processor, split, name, columns):
    # Row 1 is a header, or (headerless CoLA) a row with the valid label "0".
    path = _write(tmp_path, name, [["0"] * columns, ["0"] * (columns - 1)])
    assert _error(processor, split, tmp_path) == (
        f"{path}, line 2: expected at least {columns} tab-separated columns, "
        f"found {columns - 1}"
    )


def test_non_utf8_file(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_bytes(b"sentence\tlabel\nok\t1\n\xff\xfe bad\t0\n")
    assert _error(processors.Sst2Processor, "train", tmp_path) == (
        f"{path}, line 3: not UTF-8 text"
    )
