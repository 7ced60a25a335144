"""benchmarks/smoke_device.py passes on this CPU (benchmarks skipped).

The script is meant for GPU and TPU machines; here it checks the CPU, with
the MirroredStrategy check over two logical CPUs.
"""

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO

SCRIPT = os.path.join(REPO, "benchmarks", "smoke_device.py")
ROW = re.compile(r"^(\S.*?)\s{2,}(PASS|FAIL|SKIP)\s{2,}")


@pytest.mark.slow
def test_smoke_device_passes_on_the_cpu():
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="2")
    process = subprocess.run(
        [sys.executable, SCRIPT, "--skip_benchmarks"],
        env=env, capture_output=True, text=True, timeout=900,
    )
    output = process.stdout
    assert process.returncode == 0, output + process.stderr[-3000:]
    rows = dict(
        match.groups() for match in map(ROW.match, output.splitlines()) if match
    )
    assert not [check for check, result in rows.items() if result == "FAIL"]
    # Every kind of check ran, not just some.
    for expected in [
        "golden fp32 forward, eager: activations",
        "golden fp32 forward, XLA: activations",
        "train step fp16: dynamic loss scale",
        "train step bf16: loss vs fp32",
        "fused gelu, bfloat16: gradient of input 0",
        "fused dropout, float32: rate, values, shape, grad",
        "AdamW update kernel, float32: bit-identical to plain ops",
        "MirroredStrategy /cpu:0+/cpu:1: weights and Adam slots after the steps",
        "MirroredStrategy /cpu:0+/cpu:1: gradients of the global batch",
    ]:
        assert rows.get(expected) == "PASS", (expected, output)
    assert rows["TPUStrategy"] == "SKIP"
    summary = re.search(r"(\d+) of (\d+) checks passed, 0 failed", output)
    assert summary and summary.group(1) == summary.group(2) == str(len(rows))
