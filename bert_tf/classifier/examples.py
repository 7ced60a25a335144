"""Examples and the TSV reading every classification task shares.

`InputExample`, `PaddingInputExample` and the `DataProcessor` base class of
google-research/bert's run_classifier.py. The task readers themselves, the
original four and the other GLUE tasks, and the task registry are in
`bert_tf.classifier.processors`.

Rows are split on tabs only: `_read_tsv` passes `quotechar=None` to
`csv.reader`, as the original does, so a `"` is an ordinary character.

Every label read from a train or dev file is checked against `get_labels()`
here, so that a bad row is reported with its file and line instead of as a
`KeyError` during feature conversion.

This module does no tokenization; files are read through `bert_tf.file_io`,
so `gs://` data directories work as in the original.
"""

import csv
import dataclasses
from typing import Optional, Union

from bert_tf import errors
from bert_tf import file_io


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
    Single-sentence tasks (no text_b) set `is_pair_task = False`.
    """

    is_regression = False
    is_pair_task = True

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
        if not file_io.exists(input_file):
            raise errors.UserInputError(
                f"Data file not found: {input_file} (check --data_dir)"
            )
        with file_io.open_text(input_file) as f:
            reader = csv.reader(f, delimiter="\t", quotechar=quotechar)
            try:
                return list(reader)
            except csv.Error as e:
                # line_num already counts the line that failed.
                raise errors.UserInputError(
                    f"{input_file}, line {reader.line_num}: {e}"
                ) from None
            except UnicodeDecodeError:
                # gfile decodes line by line, so the failing line is the
                # one after the last line the reader got.
                raise errors.UserInputError(
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
                raise errors.UserInputError(
                    f"{path}, line {i + 1}: expected at least {min_columns} "
                    f"tab-separated columns, found {len(line)}"
                )
            yield i, line

    def _examples_from_columns(
        self, path, set_type, text_a, text_b=None, label=None, guid=None,
        skip_header=True,
    ):
        """Builds one `InputExample` per data row from column indexes.

        The reading loop of the original's `_create_examples`, with the
        columns as arguments. A row must hold every column read, so the
        test set, whose label column is not read, may have fewer.

        Args:
          path: the TSV file.
          set_type: the split; every guid starts with "<set_type>-".
          text_a: column of the first text.
          text_b: column of the second text; None for single-sentence tasks.
          label: column of the label (negative: from the end of the row),
            checked with `_label`. Not read for the "test" set: its examples
            get a dummy, the first of `get_labels()` (0.0 for regression).
          guid: column whose value ends the guid; None for the row index,
            which counts the header.
          skip_header: whether row 0 is a header.

        Raises:
          UserInputError: naming the file and line of a short row or a bad
            label.
        """
        is_test = set_type == "test"
        read = [text_a, text_b, guid, None if is_test else label]
        min_columns = max(c for c in read if c is not None) + 1
        dummy_label = 0.0 if self.is_regression else self.get_labels()[0]
        examples = []
        for i, line in self._rows(path, min_columns, skip_header):
            examples.append(
                InputExample(
                    guid=f"{set_type}-{i if guid is None else line[guid]}",
                    text_a=line[text_a],
                    text_b=None if text_b is None else line[text_b],
                    label=(
                        dummy_label
                        if is_test
                        else self._label(line[label], path, i)
                    ),
                )
            )
        return examples

    def _label(self, label, path, i):
        """Returns `label` if it is in `get_labels()`, else raises."""
        labels = self.get_labels()
        if label not in labels:
            raise errors.UserInputError(
                f"{path}, line {i + 1}: label {label!r} is not one of "
                f"{labels}"
            )
        return label
