"""Readers of the GLUE tasks beyond the original four.

SST-2, QQP, QNLI, RTE, WNLI and STS-B were not in google-research/bert's
run_classifier.py; they follow the layout of the files that the GLUE
download script produces. `GlueProcessor`, the base of every task split
into train.tsv, dev.tsv and test.tsv, is here too; the original MRPC and
CoLA readers in `bert_tf.classifier.processors` build on it. Select a task
with `processors.get_processor`, which knows all of them.

Test files carry no labels; their examples get the task's first label (or
the score 0.0 for STS-B) as a dummy, as the original does for its tasks.
"""

import os

from absl import logging

from bert_tf import errors
from bert_tf.classifier.examples import DataProcessor
from bert_tf.classifier.examples import InputExample


class GlueProcessor(DataProcessor):
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



class Sst2Processor(GlueProcessor):
    """SST-2: train/dev "sentence label", test "index sentence"; guid by row."""

    is_pair_task = False

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


class StsbProcessor(GlueProcessor):
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
                    raise errors.UserInputError(
                        f"{path}, line {i + 1}: score {line[9]!r} is not a "
                        "number"
                    ) from None
            examples.append(
                InputExample(f"{set_type}-{line[0]}", line[7], line[8], label)
            )
        return examples
