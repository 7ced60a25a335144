"""Task readers for run_classifier: GLUE/XNLI TSV files -> InputExample lists.

Replaces the `DataProcessor` classes of google-research/bert's
run_classifier.py. The four original tasks (CoLA, MNLI, MRPC, XNLI) keep the
original's columns, headers, guids and dummy test labels exactly; the other
GLUE tasks (SST-2, QQP, QNLI, RTE, WNLI, STS-B) follow the layout of the files
that the GLUE download script produces.

Rows are split on tabs only: `_read_tsv` passes `quotechar=None` to
`csv.reader`, as the original does, so a `"` is an ordinary character.

Every label read from a train or dev file is checked against `get_labels()`
here, so that a bad row is reported with its file and line instead of as a
`KeyError` during feature conversion. Test files carry no labels; their
examples get the task's first label as a dummy, as in the original.

This module does no tokenization and imports no TensorFlow at import time:
`bert_tf.file_io` (which imports TensorFlow for `gs://` support) is imported
only when a file is read or an error is raised.
"""

import csv
import dataclasses
import os
from typing import Optional, Union

from absl import logging


def _user_error(message):
    """Builds a `file_io.UserInputError` without importing TF at module load."""
    from bert_tf import file_io

    return file_io.UserInputError(message)


@dataclasses.dataclass
class InputExample:
    """A single training/test example for simple sequence classification.

    Attributes:
      guid: str, unique id such as "train-3" or "dev_matched-17".
      text_a: str, the untokenized first sequence.
      text_b: optional str, the untokenized second sequence (sentence-pair
        tasks only). An empty string is treated like None.
      label: str for classification tasks; float for regression (STS-B).
    """

    guid: str
    text_a: str
    text_b: Optional[str] = None
    label: Union[str, float, None] = None


class PaddingInputExample:
    """Fake example that pads eval/predict sets to a whole number of batches.

    It converts to all-zero features with `is_real_example=False`, so metrics
    weight it 0 and prediction writers drop it. The original used it on TPU
    only, where every batch must be full.
    """


class DataProcessor:
    """Base class for the data readers of one sequence classification task.

    Subclasses implement `get_*_examples(data_dir)` and `get_labels()`. A
    label list defines the label ids by position. Regression tasks set
    `is_regression = True` and return None from `get_labels()`.
    """

    is_regression = False

    def get_train_examples(self, data_dir):
        """Gets a list of `InputExample`s for the train set."""
        raise NotImplementedError()

    def get_dev_examples(self, data_dir):
        """Gets a list of `InputExample`s for the dev set."""
        raise NotImplementedError()

    def get_test_examples(self, data_dir):
        """Gets a list of `InputExample`s for prediction."""
        raise NotImplementedError()

    def get_labels(self):
        """Gets the list of labels for this data set."""
        raise NotImplementedError()

    @classmethod
    def _read_tsv(cls, input_file, quotechar=None):
        """Reads a tab separated file into a list of rows (lists of str).

        Row i of the result is line i + 1 of the file; an empty line gives an
        empty row.

        Raises:
          UserInputError: if the file is missing, is not UTF-8 text, or has a
            field over csv's size limit (both naming the line).
        """
        from bert_tf import file_io

        if not file_io.exists(input_file):
            raise _user_error(
                f"Data file not found: {input_file} (check --data_dir)"
            )
        with file_io.open_text(input_file) as f:
            reader = csv.reader(f, delimiter="\t", quotechar=quotechar)
            try:
                return list(reader)
            except csv.Error as e:
                # line_num already counts the line that failed.
                raise _user_error(
                    f"{input_file}, line {reader.line_num}: {e}"
                ) from None
            except UnicodeDecodeError:
                # gfile decodes line by line, so the failing line is the
                # one after the last line the reader got.
                raise _user_error(
                    f"{input_file}, line {reader.line_num + 1}: not UTF-8 text"
                ) from None

    def _rows(self, path, min_columns, skip_header):
        """Yields (row index, row) for the data rows of a TSV file.

        Args:
          path: the TSV file.
          min_columns: every data row must have at least this many columns.
          skip_header: whether row 0 is a header to drop.

        Raises:
          UserInputError: naming the file and line of a row that is too short.
        """
        for i, line in enumerate(self._read_tsv(path)):
            if i == 0 and skip_header:
                continue
            if len(line) < min_columns:
                raise _user_error(
                    f"{path}, line {i + 1}: expected at least {min_columns} "
                    f"tab-separated columns, found {len(line)}"
                )
            yield i, line

    def _label(self, label, path, i):
        """Returns `label` if it is in `get_labels()`, else raises."""
        labels = self.get_labels()
        if label not in labels:
            raise _user_error(
                f"{path}, line {i + 1}: label {label!r} is not one of "
                f"{labels}"
            )
        return label


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


class MnliProcessor(DataProcessor):
    """MultiNLI (GLUE version), matched dev/test sets only, as the original.

    guid is "<set>-<column 0>"; the dev set is named "dev_matched" and the
    test set "test". The label is the last column (gold_label).
    """

    def get_train_examples(self, data_dir):
        return self._create_examples(
            os.path.join(data_dir, "train.tsv"), "train"
        )

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

    def _create_examples(self, path, set_type):
        examples = []
        for i, line in self._rows(path, min_columns=10, skip_header=True):
            if set_type == "test":
                label = "contradiction"
            else:
                label = self._label(line[-1], path, i)
            examples.append(
                InputExample(f"{set_type}-{line[0]}", line[8], line[9], label)
            )
        return examples


class _GlueProcessor(DataProcessor):
    """GLUE tasks whose splits are train.tsv, dev.tsv and test.tsv."""

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
        raise NotImplementedError()


class MrpcProcessor(_GlueProcessor):
    """MRPC (GLUE version): quality, #1 ID, #2 ID, #1 String, #2 String."""

    def get_labels(self):
        return ["0", "1"]

    def _create_examples(self, path, set_type):
        examples = []
        for i, line in self._rows(path, min_columns=5, skip_header=True):
            if set_type == "test":
                label = "0"
            else:
                label = self._label(line[0], path, i)
            examples.append(
                InputExample(f"{set_type}-{i}", line[3], line[4], label)
            )
        return examples


class ColaProcessor(_GlueProcessor):
    """CoLA (GLUE version).

    train.tsv and dev.tsv have no header (source, label, star, sentence), so
    their guids start at "<set>-0"; test.tsv has the header "index sentence".
    """

    def get_labels(self):
        return ["0", "1"]

    def _create_examples(self, path, set_type):
        examples = []
        if set_type == "test":
            for i, line in self._rows(path, min_columns=2, skip_header=True):
                examples.append(InputExample(f"test-{i}", line[1], None, "0"))
            return examples
        for i, line in self._rows(path, min_columns=4, skip_header=False):
            label = self._label(line[1], path, i)
            examples.append(
                InputExample(f"{set_type}-{i}", line[3], None, label)
            )
        return examples


class Sst2Processor(_GlueProcessor):
    """SST-2: train/dev "sentence label", test "index sentence"; guid by row."""

    def get_labels(self):
        return ["0", "1"]

    def _create_examples(self, path, set_type):
        examples = []
        if set_type == "test":
            for i, line in self._rows(path, min_columns=2, skip_header=True):
                examples.append(InputExample(f"test-{i}", line[1], None, "0"))
            return examples
        for i, line in self._rows(path, min_columns=2, skip_header=True):
            label = self._label(line[1], path, i)
            examples.append(
                InputExample(f"{set_type}-{i}", line[0], None, label)
            )
        return examples


class QqpProcessor(_GlueProcessor):
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


class _IndexedPairProcessor(_GlueProcessor):
    """Tasks laid out as "index text_a text_b label" (test: no label column).

    guid is "<set>-<index>"; test examples get the first label as a dummy.
    """

    def _create_examples(self, path, set_type):
        is_test = set_type == "test"
        examples = []
        for i, line in self._rows(
            path, min_columns=3 if is_test else 4, skip_header=True
        ):
            if is_test:
                label = self.get_labels()[0]
            else:
                label = self._label(line[3], path, i)
            examples.append(
                InputExample(f"{set_type}-{line[0]}", line[1], line[2], label)
            )
        return examples


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


class StsbProcessor(_GlueProcessor):
    """STS-B, a regression task: labels are float similarity scores (0..5).

    train/dev have 10 columns (index genre filename year old_index source1
    source2 sentence1 sentence2 score); test has the first 9. guid is
    "<set>-<index>"; test examples get the dummy score 0.0.
    """

    is_regression = True

    def get_labels(self):
        return None

    def _create_examples(self, path, set_type):
        is_test = set_type == "test"
        examples = []
        for i, line in self._rows(
            path, min_columns=9 if is_test else 10, skip_header=True
        ):
            if is_test:
                label = 0.0
            else:
                try:
                    label = float(line[9])
                except ValueError:
                    raise _user_error(
                        f"{path}, line {i + 1}: score {line[9]!r} is not a "
                        "number"
                    ) from None
            examples.append(
                InputExample(f"{set_type}-{line[0]}", line[7], line[8], label)
            )
        return examples


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
        raise _user_error(
            f"Task not found: {name} (known tasks: {', '.join(PROCESSORS)})"
        )
    return PROCESSORS[name]()
