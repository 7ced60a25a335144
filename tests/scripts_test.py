"""The top-level scripts: the original's flags, bert_tf's additions, `main`.

Each script module is imported (not run) and the flags it registered with
absl are read back; afterwards they are removed again and the module
forgotten, because the scripts share flag names (`output_dir`, ...) and
absl refuses a second definition from another module.
"""

import dataclasses
import importlib
import json
import os
import subprocess
import sys

import pytest
from absl import flags
from absl.testing import flagsaver

import bert_tf_flags
from bert_tf import errors
from bert_tf import runner_settings
from tests.conftest import REPO
from tests.conftest import imported_script
from tests.conftest import stderr_lines
from tests.conftest import testdata

# The original's flags, from SPEC: {script: [[name, default, type], ...]};
# create_pretraining_data's rows also hold the help text.
with open(testdata("original_flags.json")) as f:
    ORIGINAL_FLAGS = json.load(f)
del ORIGINAL_FLAGS["_source"]

RUNNER_ADDITIONS = [
    ("precision", "auto", "string enum"),
    ("use_xla", False, "bool"),
    ("optimizer", "adamw", "string enum"),
    ("gradient_accumulation_steps", 1, "int"),
    ("random_seed", None, "int"),
]
# The bert-tensorflow 1.0.4 wheel's tokenizer flag.
PRESERVE_UNUSED_TOKENS = ("preserve_unused_tokens", False, "bool")

# bert_tf's additions, after the original's flags, in order.
ADDITIONS = {
    "create_pretraining_data": [("num_workers", 1, "int"), PRESERVE_UNUSED_TOKENS],
    "run_pretraining": RUNNER_ADDITIONS + [
        ("dynamic_masking", False, "bool"),
        ("vocab_file", None, "string"),
        ("do_whole_word_mask", False, "bool"),
        ("masked_lm_prob", 0.15, "float"),
    ],
    "run_classifier": RUNNER_ADDITIONS + [
        ("export_dir", None, "string"),
        PRESERVE_UNUSED_TOKENS,
        ("tpu_job_name", None, "string"),
    ],
    "run_squad": RUNNER_ADDITIONS + [
        ("export_dir", None, "string"), PRESERVE_UNUSED_TOKENS,
    ],
    # Exact mode by default: the output is meant to match the original's.
    "extract_features": [
        ("precision", "fp32", "string enum"), ("export_dir", None, "string"),
        PRESERVE_UNUSED_TOKENS,
    ],
}

# The params dataclass each script fills from its flags.
PARAMS = {
    "create_pretraining_data": "bert_tf.pretraining.create_data.CreatePretrainingDataParams",
    "run_pretraining": "bert_tf.pretraining.run.PretrainingParams",
    "run_classifier": "bert_tf.classifier.run.ClassifierParams",
    "run_squad": "bert_tf.squad.run.SquadParams",
    "extract_features": "bert_tf.feature_extraction.ExtractParams",
    # bert_tf's own script: all its flags are its own.
    "convert_checkpoint": "bert_tf.checkpoints.hf_conversion.ConvertParams",
}


def _script_flags(name):
    with imported_script(name) as module:
        return flags.FLAGS.get_flags_for_module(module)


def _params_class(name):
    module_name, class_name = PARAMS[name].rsplit(".", 1)
    return getattr(importlib.import_module(module_name), class_name)


def _field_defaults(params_class):
    """{name: default} of every field, nested runner settings included."""
    defaults = {}
    for field in dataclasses.fields(params_class):
        if dataclasses.is_dataclass(field.type):
            defaults.update(_field_defaults(field.type))
        elif field.default is not dataclasses.MISSING:
            defaults[field.name] = field.default
        else:
            defaults[field.name] = None  # required: the flag has no default
    return defaults


@pytest.mark.parametrize("name", sorted(ORIGINAL_FLAGS))
def test_flags_are_the_originals_then_the_additions(name):
    defined = _script_flags(name)
    original = [tuple(row[:3]) for row in ORIGINAL_FLAGS[name]]
    summary = [(f.name, f.default, f.flag_type()) for f in defined]
    assert summary[: len(original)] == original
    assert summary[len(original):] == ADDITIONS[name]
    for flag, row in zip(defined, ORIGINAL_FLAGS[name]):
        if len(row) == 4:
            assert flag.help == row[3]
    # absl's --help sorts flags by name: each addition's help says it is one
    # (after the "<a|b|c>: " that absl puts before an enum's help).
    marked = [f.name for f in defined if bert_tf_flags.ADDITION in f.help]
    assert marked == [row[0] for row in ADDITIONS[name]]
    # 3.0 stays a float, so that --num_train_epochs=2.5 parses.
    for (_, default, _), (_, spec_default, _) in zip(summary, original):
        assert type(default) is type(spec_default)


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_every_flag_fills_a_field_with_the_same_default(name):
    defined = {f.name: f.default for f in _script_flags(name)}
    fields = _field_defaults(_params_class(name))
    assert {n: fields.get(n, "no such field") for n in defined} == defined
    # The only fields without a flag: the wheel's TPU job name, which only
    # run_classifier.py had.
    assert set(fields) - set(defined) <= {"tpu_job_name"}


def test_original_help_texts():
    classifier = _script_flags("run_classifier")
    assert classifier[2].help == "The name of the task to train."
    squad = _script_flags("run_squad")
    assert squad[11].help == "Whether to run eval on the dev set."
    extract = _script_flags("extract_features")
    # The original left the first three without help text.
    assert [f.help for f in extract[:3]] == ["(no help available)"] * 3
    assert extract[8].help == "Batch size for predictions."
    for name in ("create_pretraining_data", "run_pretraining", "run_classifier",
                 "run_squad"):
        assert all(f.help for f in _script_flags(name)), name


def test_params_from_flags_fills_the_runner_settings():
    with imported_script("run_classifier") as module, flagsaver.flagsaver():
        flags.FLAGS([
            "run_classifier.py", "--data_dir=d", "--task_name=mrpc",
            "--vocab_file=v", "--bert_config_file=c", "--output_dir=o",
            "--num_train_epochs=2.5", "--precision=fp32", "--tpu_job_name=j",
        ])
        params = bert_tf_flags.params_from_flags(module.run_lib.ClassifierParams)
        flags.FLAGS.unparse_flags()
    assert (params.data_dir, params.num_train_epochs) == ("d", 2.5)
    assert params.runner == runner_settings.RunnerSettings(
        output_dir="o", precision="fp32", tpu_job_name="j"
    )


def test_params_from_values_rejects_an_unknown_name():
    with pytest.raises(TypeError, match=r"RunnerSettings has no field \['outdir'\]"):
        runner_settings.params_from_values(
            runner_settings.RunnerSettings, {"outdir": "o"}
        )


def test_script_main_exits_0_whatever_the_work_returns():
    @dataclasses.dataclass
    class Params:
        output_dir: str = None

    def work(params):
        return 662  # create_data.run returns its instance count

    main = bert_tf_flags.script_main(work, Params)
    with flagsaver.flagsaver():
        flags.FLAGS(["prog"])
        assert main(["prog"]) is None  # app.run exits with main's value
        flags.FLAGS.unparse_flags()


def test_exits_on_user_error_prints_one_line():
    @bert_tf_flags.exits_on_user_error
    def main(argv):
        raise errors.UserInputError(f"--x={argv[1]!r}: expected y")

    with pytest.raises(SystemExit) as exit_info:
        main(["prog", "z"])
    assert exit_info.value.code == "ERROR: --x='z': expected y"


@pytest.mark.parametrize("name, args, message", [
    ("run_classifier", ["--task_name=glue", "--do_eval", "--max_seq_length=20"],
     "ERROR: Task not found: glue (known tasks: cola, mnli, mrpc, xnli, "
     "sst2, sst-2, qqp, qnli, rte, wnli, stsb, sts-b)"),
    ("run_squad", ["--do_predict", "--predict_file={tmp}/missing.json",
                   "--max_seq_length=32", "--max_query_length=8"],
     "ERROR: --predict_file='{tmp}/missing.json': file not found"),
    ("run_pretraining", ["--do_train", "--input_file={tmp}/none*",
                         "--max_seq_length=32"],
     "ERROR: --input_file='{tmp}/none*' matches no file"),
    ("extract_features", ["--input_file={vocab}", "--layers=-1,5",
                          "--max_seq_length=16",
                          "--output_file={tmp}/out.jsonl"],
     "ERROR: --layers='-1,5': layer index 5 is out of range for a model "
     "with 2 layers (expected -2..1)"),
    ("create_pretraining_data", ["--input_file={vocab}",
                                 "--output_file={tmp}/out.tfrecord",
                                 "--vocab_file={tmp}/missing.txt"],
     "ERROR: --vocab_file='{tmp}/missing.txt': file not found"),
])
def test_main_turns_bad_input_into_one_line(tmp_path, name, args, message):
    paths = dict(tmp=tmp_path, vocab=testdata("tiny_model", "vocab.txt"))
    common = [
        f"--data_dir={tmp_path}", f"--output_dir={tmp_path / 'out'}",
        f"--vocab_file={paths['vocab']}",
        f"--bert_config_file={testdata('tiny_model', 'bert_config.json')}",
    ]
    with imported_script(name) as module, flagsaver.flagsaver():
        known = [a for a in common if a[2:].split("=")[0] in flags.FLAGS]
        flags.FLAGS([name, *known, *(a.format(**paths) for a in args)])
        with pytest.raises(SystemExit) as exit_info:
            module.main([name])
        flags.FLAGS.unparse_flags()
    assert exit_info.value.code == message.format(**paths)
    assert os.listdir(tmp_path) == []


# About 5 s: a second Python process that imports TensorFlow.
@pytest.mark.slow
def test_script_process_exits_1_with_one_line(tmp_path):
    # The whole path once in a real process: app.run, the wrapper, stderr.
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "run_classifier.py"),
         f"--data_dir={tmp_path}", "--task_name=glue",
         f"--vocab_file={testdata('tiny_model', 'vocab.txt')}",
         f"--bert_config_file={testdata('tiny_model', 'bert_config.json')}",
         f"--output_dir={tmp_path / 'out'}", "--do_eval",
         "--max_seq_length=20"],
        capture_output=True, text=True, timeout=120,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert stderr_lines(result.stderr) == [
        "ERROR: Task not found: glue (known tasks: cola, mnli, mrpc, xnli, "
        "sst2, sst-2, qqp, qnli, rte, wnli, stsb, sts-b)"
    ]
    assert os.listdir(tmp_path) == []
