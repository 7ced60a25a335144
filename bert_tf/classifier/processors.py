"""Task readers for run_classifier: GLUE/XNLI TSV files -> InputExample lists.

Replaces the `DataProcessor` classes of google-research/bert's
run_classifier.py. The four original tasks (CoLA, MNLI, MRPC, XNLI) are
here and keep the original's columns, headers, guids and dummy test labels
exactly; the other GLUE tasks (SST-2, QQP, QNLI, RTE, WNLI, STS-B) are in
`bert_tf.classifier.glue_processors`, and the shared `InputExample` /
`DataProcessor` base (TSV reading, row and label checks) is in
`bert_tf.classifier.examples`. Every class of those modules can still be
imported from here, and `PROCESSORS` / `get_processor` know all the tasks.

This module does no tokenization.
"""

import os

from bert_tf import errors
from bert_tf.classifier.examples import DataProcessor
from bert_tf.classifier.examples import InputExample
from bert_tf.classifier.examples import PaddingInputExample
from bert_tf.classifier.glue_processors import GlueProcessor
from bert_tf.classifier.glue_processors import QnliProcessor
from bert_tf.classifier.glue_processors import QqpProcessor
from bert_tf.classifier.glue_processors import RteProcessor
from bert_tf.classifier.glue_processors import Sst2Processor
from bert_tf.classifier.glue_processors import StsbProcessor
from bert_tf.classifier.glue_processors import WnliProcessor

# Names importable from here: this module's own and the re-exported ones.
__all__ = [
    "InputExample",
    "PaddingInputExample",
    "DataProcessor",
    "GlueProcessor",
    "XnliProcessor",
    "MnliProcessor",
    "MrpcProcessor",
    "ColaProcessor",
    "Sst2Processor",
    "QqpProcessor",
    "QnliProcessor",
    "RteProcessor",
    "WnliProcessor",
    "StsbProcessor",
    "PROCESSORS",
    "get_processor",
]


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


class MrpcProcessor(GlueProcessor):
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


class ColaProcessor(GlueProcessor):
    """CoLA (GLUE version).

    train.tsv and dev.tsv have no header (source, label, star, sentence), so
    their guids start at "<set>-0"; test.tsv has the header "index sentence".
    """

    is_pair_task = False

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
