"""A run's hold on --output_dir, its leftovers, Ctrl-C and its event files."""

import glob
import os
import socket

import numpy as np
import pytest
import tensorflow as tf

import bert_tf_flags
from bert_tf import errors
from bert_tf import progress
from bert_tf import runner_settings
from bert_tf import serving
from bert_tf.modeling import fused
from bert_tf.pretraining import run as run_lib
from tests.conftest import runner_params
from tests.conftest import testdata
from tests.pretraining import pretraining_helpers as helpers


def _params(tmp_path, **overrides):
    data = helpers.write_golden_batch(str(tmp_path / "batch.tfrecord"))
    settings = dict(
        bert_config_file=helpers.tiny_config_without_dropout(str(tmp_path)),
        input_file=data, output_dir=str(tmp_path / "model"),
        init_checkpoint=testdata("tiny_model", "bert_model.ckpt"),
        **helpers.GOLDEN_SHAPE, train_batch_size=3, eval_batch_size=3,
        num_train_steps=3, num_warmup_steps=0, max_eval_steps=1,
        learning_rate=1e-3, do_train=True,
    )
    return runner_params(run_lib.PretrainingParams, settings, overrides)


def _write_lock(output_dir, host, pid):
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, runner_settings.LOCK_NAME), "w") as f:
        f.write(f"host={host}\npid={pid}\nstarted=2026-12-01 10:00:00\n")


def _dead_pid():
    pid = 4_000_000  # above Linux's pid_max
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    return pid


def test_a_live_run_holds_the_output_dir(tmp_path):
    output_dir = str(tmp_path / "model")
    for host, pid in ((socket.gethostname(), os.getppid()), ("other-host", 1)):
        _write_lock(output_dir, host, pid)
        with pytest.raises(errors.UserInputError) as error:
            run_lib.run(_params(tmp_path))
        assert str(error.value) == (
            f"--output_dir={output_dir!r} is in use by the run of process "
            f"{pid} on {host} (since 2026-12-01 10:00:00); wait for it to "
            f"end, or delete {output_dir}/.bert_tf.lock if that run is gone"
        )
    assert sorted(os.listdir(output_dir)) == [".bert_tf.lock"]


def test_the_lock_of_a_dead_run_and_its_temporaries_are_taken_over(
    tmp_path, caplog
):
    output_dir = tmp_path / "model"
    _write_lock(output_dir, socket.gethostname(), _dead_pid())
    leftovers = [".model.ckpt-2.tmp-0123abcd.index",
                 ".model.ckpt-2.tmp-0123abcd.data-00000-of-00001",
                 # TensorFlow's writer, killed before its own rename.
                 ".model.ckpt-3.tmp-4567cdef.data-00000-of-00001"
                 ".tempstate5178938458183309502",
                 ".eval_results.txt.tmp-89abcdef"]
    for name in leftovers + [".notes.tmp"]:
        (output_dir / name).write_text("x")
    with caplog.at_level("INFO", logger="absl"):
        run_lib.run(_params(tmp_path))
    messages = "\n".join(r.getMessage() for r in caplog.records)
    assert "Taking over" in messages and "which has ended" in messages
    for name in leftovers:
        assert (f"Removing {output_dir / name}, left by a run that was killed"
                in messages)
    names = set(os.listdir(output_dir))
    assert not names & set(leftovers)
    # Not ours: kept. And the lock went with the run.
    assert ".notes.tmp" in names and ".bert_tf.lock" not in names


def test_ctrl_c_names_the_checkpoint_a_rerun_resumes_from(tmp_path, monkeypatch):
    def interrupt(self, step, *args):
        if step == 2:
            raise KeyboardInterrupt

    params = _params(tmp_path, save_checkpoints_steps=1)
    monkeypatch.setattr(progress.TrainingProgress, "loop_done", interrupt)
    with pytest.raises(errors.Interrupted) as error:
        run_lib.run(params)
    latest = os.path.join(params.runner.output_dir, "model.ckpt-1")
    assert str(error.value) == (
        f"a rerun with the same flags resumes from {latest}"
    )
    assert not os.path.exists(os.path.join(params.runner.output_dir, ".bert_tf.lock"))


def test_script_wrapper_prints_one_line_on_ctrl_c(capsys):
    @bert_tf_flags.exits_on_user_error
    def main(argv):
        raise errors.Interrupted("a rerun with the same flags resumes from x")

    with pytest.raises(SystemExit) as exit_info:
        main(["prog"])
    assert exit_info.value.code == 130
    assert capsys.readouterr().err == (
        "Interrupted: a rerun with the same flags resumes from x\n"
    )


def _scalars(directory):
    """{tag: [(step, value), ...]} of the event files in `directory`."""
    scalars = {}
    for path in sorted(glob.glob(os.path.join(directory, "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                number = float(tf.make_ndarray(value.tensor))
                scalars.setdefault(value.tag, []).append((event.step, number))
    return scalars


def test_event_files_for_tensorboard(tmp_path, caplog):
    params = _params(tmp_path, do_eval=True, num_train_steps=3,
                     iterations_per_loop=2)
    with caplog.at_level("INFO", logger="absl"):
        results = run_lib.run(params)
    output_dir = params.runner.output_dir
    train = _scalars(output_dir)
    assert sorted(train) == [
        "examples/sec", "global_step/sec", "learning_rate", "loss"
    ]
    # One point per loop: the first loop is one step, then loops of up to
    # iterations_per_loop.
    assert [step for step, _ in train["loss"]] == [1, 3]
    logged = [
        float(r.getMessage().split("loss = ")[1].split(",")[0])
        for r in caplog.records if r.getMessage().startswith("step = ")
    ]
    np.testing.assert_allclose([v for _, v in train["loss"]], logged, rtol=1e-5)
    # learning_rate is the schedule's at the step reached (no warmup, 3 steps).
    np.testing.assert_allclose(
        [v for _, v in train["learning_rate"]], [1e-3 * 2 / 3, 0.0], atol=1e-9
    )
    evaluation = _scalars(os.path.join(output_dir, "eval"))
    assert sorted(evaluation) == sorted(k for k in results if k != "global_step")
    for key, points in evaluation.items():
        assert points == [(3, pytest.approx(float(results[key]), rel=1e-6))]


def test_a_corrupt_record_ends_training_with_one_line(tmp_path):
    params = _params(tmp_path)
    data = params.input_file
    with open(data, "r+b") as f:
        f.seek(60)  # inside the first record's data
        byte = f.read(1)
        f.seek(60)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(errors.UserInputError,
                       match=rf"^--input_file: {data} is corrupt: record 0 at "
                             r"byte 0 fails its checksum"):
        run_lib.run(params)
    # No checkpoint of a half-done run, and the lock went with it.
    assert os.listdir(params.runner.output_dir) == []


def test_output_paths_under_a_file_fail_before_any_work(tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("x")
    with pytest.raises(errors.UserInputError) as error:
        run_lib.run(_params(tmp_path, output_dir=str(blocker / "model")))
    assert str(error.value) == (
        f"--output_dir={str(blocker / 'model')!r}: {blocker} is a file, not a "
        "directory"
    )
    with pytest.raises(errors.UserInputError) as error:
        serving.version_path(str(blocker / "export"))
    assert str(error.value) == (
        f"--export_dir={str(blocker / 'export')!r}: {blocker} is a file, not a "
        "directory"
    )
    assert sorted(os.listdir(tmp_path)) == ["batch.tfrecord", "bert_config.json",
                                            "notes.txt"]


def test_use_xla_without_an_xla_cpu_backend_is_one_line(tmp_path, monkeypatch):
    # As under tensorflow-tpu on a TPU VM's host, where --use_tpu is off.
    monkeypatch.setattr(fused, "xla_runs_on_host", lambda: False)
    with pytest.raises(errors.UserInputError,
                       match=r"^--use_xla: this TensorFlow build cannot compile for the CPU"):
        run_lib.run(_params(tmp_path, use_xla=True))
    assert not (tmp_path / "model").exists()
