"""Task readers for run_classifier: GLUE/XNLI TSV files -> InputExample lists.

Replaces the `DataProcessor` classes of google-research/bert's
run_classifier.py. The four original tasks (XNLI, MNLI, MRPC, CoLA) keep
the original's columns, headers, guids and dummy test labels exactly. The
other GLUE tasks (SST-2, QQP, QNLI, RTE, WNLI, STS-B) were not in the
original; they follow the layout of the files that the GLUE download
script produces, and their test examples get the task's first label (or
the score 0.0 for STS-B) as a dummy, as the original does for its tasks.
`PROCESSORS` / `get_processor` select any of them by --task_name.

The example types and the TSV reading every task shares (the
`DataProcessor` base with its row and label checks, and the loop that
builds examples from column indexes) are in `bert_tf.classifier.examples`;
a task here mostly names its columns. This module does no tokenization.
"""

import os

from absl import logging

from bert_tf import errors
from bert_tf.classifier.examples import DataProcessor
from bert_tf.classifier.examples import InputExample


class GlueProcessor(DataProcessor):
    """GLUE tasks whose splits are train.tsv, dev.tsv and test.tsv.

    A task names the columns it reads in `columns`: the keyword arguments of
    `_examples_from_columns` (text_a, text_b, label, guid, skip_header).
    `test_columns`, where set, replaces them for test.tsv.
    """

    columns = None
    test_columns = None

    def get_train_examples(self, data_dir):
        return self._create_examples(
            os.path.join(data_dir, "train.tsv"), "train"
        )

    def get_dev_examples(self, data_dir):
        return self._create_examples(os.path.join(data_dir, "dev.tsv"), "dev")

    def get_test_examples(self, data_dir):
        return self._create_examples(
            os.path.join(data_dir, "test.tsv"), "test"
        )

    def _create_examples(self, path, set_type):
        columns = self.columns
        if set_type == "test" and self.test_columns is not None:
            columns = self.test_columns
        return self._examples_from_columns(path, set_type, **columns)


# --- The original's four tasks. ---


class XnliProcessor(DataProcessor):
    """XNLI (Chinese only, as the original): MultiNLI-zh train, XNLI dev.

    Train is `multinli/multinli.train.zh.tsv` (premise, hypo, label; the label
    "contradictory" means "contradiction"); dev is `xnli.dev.tsv`, of which
    only the rows with language "zh" are kept. Dev guids count every row,
    including the skipped ones. There is no test set.
    """

    language = "zh"

    def get_train_examples(self, data_dir):
        path = os.path.join(
            data_dir, "multinli", f"multinli.train.{self.language}.tsv"
        )
        examples = []
        for i, line in self._rows(path, min_columns=3, skip_header=True):
            label = line[2]
            if label == "contradictory":
                label = "contradiction"
            label = self._label(label, path, i)
            examples.append(InputExample(f"train-{i}", line[0], line[1], label))
        return examples

    def get_dev_examples(self, data_dir):
        path = os.path.join(data_dir, "xnli.dev.tsv")
        examples = []
        for i, line in self._rows(path, min_columns=8, skip_header=True):
            if line[0] != self.language:
                continue
            label = self._label(line[1], path, i)
            examples.append(InputExample(f"dev-{i}", line[6], line[7], label))
        return examples

    def get_labels(self):
        return ["contradiction", "entailment", "neutral"]


class MnliProcessor(GlueProcessor):
    """MultiNLI (GLUE version), matched dev/test sets only, as the original.

    guid is "<set>-<column 0>"; the dev set is named "dev_matched" and the
    test set "test". The texts are columns 8 and 9 (sentence1, sentence2),
    the label is the last column (gold_label).
    """

    columns = dict(guid=0, text_a=8, text_b=9, label=-1)

    def get_dev_examples(self, data_dir):
        return self._create_examples(
            os.path.join(data_dir, "dev_matched.tsv"), "dev_matched"
        )

    def get_test_examples(self, data_dir):
        return self._create_examples(
            os.path.join(data_dir, "test_matched.tsv"), "test"
        )

    def get_labels(self):
        return ["contradiction", "entailment", "neutral"]


class MrpcProcessor(GlueProcessor):
    """MRPC (GLUE version): quality, #1 ID, #2 ID, #1 String, #2 String.

    guid is "<set>-<row index>", counting the header.
    """

    columns = dict(text_a=3, text_b=4, label=0)

    def get_labels(self):
        return ["0", "1"]


class ColaProcessor(GlueProcessor):
    """CoLA (GLUE version).

    train.tsv and dev.tsv have no header (source, label, star, sentence), so
    their guids start at "<set>-0"; test.tsv has the header "index sentence".
    """

    is_pair_task = False
    columns = dict(text_a=3, label=1, skip_header=False)
    test_columns = dict(text_a=1)

    def get_labels(self):
        return ["0", "1"]


# --- GLUE tasks added by bert_tf. ---


class Sst2Processor(GlueProcessor):
    """SST-2: train/dev "sentence label", test "index sentence"; guid by row."""

    is_pair_task = False
    columns = dict(text_a=0, label=1)
    test_columns = dict(text_a=1)

    def get_labels(self):
        return ["0", "1"]


class QqpProcessor(GlueProcessor):
    """QQP: train/dev "id qid1 qid2 question1 question2 is_duplicate", test
    "id question1 question2"; guid "<set>-<id>".

    Older GLUE downloads of QQP hold a few broken rows with missing columns;
    those rows are skipped with a warning (common practice for this task)
    instead of failing the whole run.
    """

    def get_labels(self):
        return ["0", "1"]

    def _create_examples(self, path, set_type):
        is_test = set_type == "test"
        columns = 3 if is_test else 6
        examples = []
        skipped = []
        for i, line in self._rows(path, min_columns=0, skip_header=True):
            if len(line) < columns:
                skipped.append(i + 1)
                continue
            if is_test:
                examples.append(
                    InputExample(f"test-{line[0]}", line[1], line[2], "0")
                )
            else:
                label = self._label(line[5], path, i)
                guid = f"{set_type}-{line[0]}"
                examples.append(InputExample(guid, line[3], line[4], label))
        if skipped:
            logging.warning(
                "%s: skipped %d row(s) with fewer than %d columns (lines %s)",
                path,
                len(skipped),
                columns,
                ", ".join(str(n) for n in skipped[:10])
                + (", ..." if len(skipped) > 10 else ""),
            )
        return examples


class _IndexedPairProcessor(GlueProcessor):
    """Tasks laid out as "index text_a text_b label" (test: no label column).

    guid is "<set>-<index>"; test examples get the first label as a dummy.
    """

    columns = dict(guid=0, text_a=1, text_b=2, label=3)


class QnliProcessor(_IndexedPairProcessor):
    """QNLI: "index question sentence label"."""

    def get_labels(self):
        return ["entailment", "not_entailment"]


class RteProcessor(_IndexedPairProcessor):
    """RTE: "index sentence1 sentence2 label"."""

    def get_labels(self):
        return ["entailment", "not_entailment"]


class WnliProcessor(_IndexedPairProcessor):
    """WNLI: "index sentence1 sentence2 label"."""

    def get_labels(self):
        return ["0", "1"]


class StsbProcessor(GlueProcessor):
    """STS-B, a regression task: labels are float similarity scores (0..5).

    train/dev have 10 columns (index genre filename year old_index source1
    source2 sentence1 sentence2 score); test has the first 9. guid is
    "<set>-<index>"; test examples get the dummy score 0.0.
    """

    is_regression = True
    columns = dict(guid=0, text_a=7, text_b=8, label=9)

    def get_labels(self):
        return None

    def _label(self, label, path, i):
        """Returns the score as a float; raises if it is not a number."""
        try:
            return float(label)
        except ValueError:
            raise errors.UserInputError(
                f"{path}, line {i + 1}: score {label!r} is not a number"
            ) from None


# Task names as accepted by --task_name (lower-cased first, as the original).
PROCESSORS = {
    "cola": ColaProcessor,
    "mnli": MnliProcessor,
    "mrpc": MrpcProcessor,
    "xnli": XnliProcessor,
    "sst2": Sst2Processor,
    "sst-2": Sst2Processor,
    "qqp": QqpProcessor,
    "qnli": QnliProcessor,
    "rte": RteProcessor,
    "wnli": WnliProcessor,
    "stsb": StsbProcessor,
    "sts-b": StsbProcessor,
}


def get_processor(task_name):
    """Returns a new processor for `task_name` (case-insensitive).

    Raises:
      UserInputError: if the task is unknown.
    """
    name = task_name.lower()
    if name not in PROCESSORS:
        raise errors.UserInputError(
            f"Task not found: {name} (known tasks: {', '.join(PROCESSORS)})"
        )
    return PROCESSORS[name]()
