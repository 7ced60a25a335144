"""CI runs every Colab notebook top to bottom, as a user on Colab would.

Each notebook runs in a Jupyter kernel whose working directory is an empty
temporary directory: nothing of the repository is around it, only the
installed `bert_tf` package, as on Colab. BERT_MODEL_DIR points to a copy of
the repository's tiny model, so nothing is downloaded. The assertions read
what the cells printed, drew and wrote.
"""

import base64
import importlib.util
import json
import os
import re
import shutil

import nbformat
from nbclient import NotebookClient

from tests.conftest import REPO
from tests.conftest import testdata

NOTEBOOKS = os.path.join(REPO, "notebooks")
# squad.ipynb's own text, which its exported model answers questions about.
EIFFEL_CONTEXT = (
    "The Eiffel Tower is a tower of iron in Paris. It was built for the world "
    "fair of 1889 and is 330 metres tall. Millions of people visit it every "
    "year."
)


def _run_notebook(name, tmp_path, monkeypatch):
    """Executes notebooks/<name> in `tmp_path/work`; returns (notebook, cwd)."""
    model_dir = tmp_path / "tiny_model"
    shutil.copytree(testdata("tiny_model"), model_dir)
    cwd = tmp_path / "work"
    cwd.mkdir()
    monkeypatch.setenv("BERT_MODEL_DIR", str(model_dir))
    monkeypatch.delenv("BERT_TF_ROOT", raising=False)
    monkeypatch.delenv("GCS_BUCKET", raising=False)
    # The kernel must find bert_tf as installed, not through this checkout.
    monkeypatch.delenv("PYTHONPATH", raising=False)
    notebook = nbformat.read(os.path.join(NOTEBOOKS, name), as_version=4)
    # Any cell error raises CellExecutionError and fails the test.
    NotebookClient(
        notebook, timeout=300, kernel_name="python3",
        resources={"metadata": {"path": str(cwd)}},
    ).execute()
    return notebook, cwd


def _text(notebook):
    """Everything the cells printed (streams and plain-text results)."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def _pngs(notebook):
    """The PNG images the cells displayed, as bytes."""
    return [
        base64.b64decode(output["data"]["image/png"])
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]


def _number(pattern, text):
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in the notebook's output:\n{text[-3000:]}"
    return float(match.group(1))


def test_notebooks_share_their_setup_cells():
    # Each notebook must stand alone on Colab, so the install and checkpoint
    # cells are copies; a fix to one must reach them all.
    names = sorted(n for n in os.listdir(NOTEBOOKS) if n.endswith(".ipynb"))
    assert names == [
        "embeddings.ipynb", "fine_tune_classifier.ipynb", "pretraining.ipynb",
        "squad.ipynb",
    ]
    setups = set()
    for name in names:
        notebook = nbformat.read(os.path.join(NOTEBOOKS, name), as_version=4)
        nbformat.validate(notebook)
        code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
        assert code[0].startswith('BERT_TF_SOURCE = ""'), name
        assert 'os.environ.get("BERT_MODEL_DIR")' in code[1], name
        assert "validate_case_matches_checkpoint" in code[1], name
        # Shipped without outputs: what CI checks is what a user runs.
        assert all(not cell.get("outputs") for cell in notebook.cells), name
        setups.add((code[0], code[1]))
    assert len(setups) == 1


def test_fine_tune_classifier_notebook(tmp_path, monkeypatch):
    notebook, cwd = _run_notebook(
        "fine_tune_classifier.ipynb", tmp_path, monkeypatch
    )
    text = _text(notebook)
    assert "DO_LOWER_CASE = True" in text  # the tiny vocab is uncased
    accuracy = _number(r"'probabilities_accuracy': ([0-9.]+)", text)
    assert 0.0 <= accuracy <= 1.0
    # The cell asserts the reloaded SavedModel gives the in-memory model's
    # probabilities; here, that the files are where the text says.
    assert (cwd / "exported_classifier" / "1" / "saved_model.pb").is_file()
    assert (cwd / "fine_tuned" / "model.ckpt.index").is_file()


def test_pretraining_notebook(tmp_path, monkeypatch):
    notebook, cwd = _run_notebook("pretraining.ipynb", tmp_path, monkeypatch)
    text = _text(notebook)
    assert _number(r"Wrote (\d+) instances", text) > 0
    # The runner's evaluation, as eval_results.txt has it.
    accuracy = _number(r"masked_lm_accuracy = ([0-9.e-]+)", text)
    assert 0.0 <= accuracy <= 1.0
    assert _number(r"global_step = (\d+)", text) == 60
    output_dir = cwd / "pretraining" / "output"
    assert (output_dir / "model.ckpt-60.index").is_file()
    assert list(output_dir.glob("events.out.tfevents.*"))
    # The plot cell read the losses back from those event files.
    num_points = _number(r"(\d+) loss values", text)
    assert num_points >= 5
    first = _number(r"loss values, step \d+: ([0-9.]+)", text)
    assert 0.0 < first < 100.0
    # TensorFlow 2.20 installs tensorboard, 2.21 does not: the cell takes
    # the branch for what is there.
    has_tensorboard = importlib.util.find_spec("tensorboard") is not None
    assert ("tensorboard is not installed" in text) != has_tensorboard
    assert len(_pngs(notebook)) == 1


def test_squad_notebook(tmp_path, monkeypatch):
    notebook, cwd = _run_notebook("squad.ipynb", tmp_path, monkeypatch)
    text = _text(notebook)
    output_dir = cwd / "squad_output"
    with open(output_dir / "predictions.json", encoding="utf-8") as f:
        predictions = json.load(f)
    assert len(predictions) == 12  # every sample question is answered
    exact_match = _number(r"exact_match = ([0-9.]+)", text)
    f1 = _number(r"f1 = ([0-9.]+)", text)
    assert 0.0 <= exact_match <= f1 <= 100.0
    # 12 questions, batch 8, 10 epochs: int(12 / 8 * 10) = 15 steps, and
    # the export's version is the step of its checkpoint.
    assert (output_dir / "model.ckpt-15.index").is_file()
    assert (cwd / "squad_export" / "15" / "saved_model.pb").is_file()
    assert "Loaded squad_export/15" in text
    # The reloaded SavedModel answered each question with a span of the
    # context or, where no span is valid, "" at offsets -1.
    answers = re.findall(
        r"\? -> '(.*)' \(characters (-?\d+):(-?\d+), score", text
    )
    assert len(answers) == 3
    source = "".join(cell.source for cell in notebook.cells)
    assert EIFFEL_CONTEXT[:40] in source
    for answer, start, end in answers:
        start, end = int(start), int(end)
        if start < 0:
            assert (answer, end) == ("", -1)
        else:
            assert answer == EIFFEL_CONTEXT[start:end] and answer


def test_embeddings_notebook(tmp_path, monkeypatch):
    notebook, cwd = _run_notebook("embeddings.ipynb", tmp_path, monkeypatch)
    text = _text(notebook)
    assert "32 sentences -> embeddings (32, 32) (mean pooling)" in text
    same = _number(r"same topic (-?[0-9.]+)", text)
    other = _number(r"other topics (-?[0-9.]+)", text)
    assert -1.0 <= same <= 1.0 and -1.0 <= other <= 1.0
    explained = _number(r"explain ([0-9.]+)% of the variance", text)
    assert 0.0 < explained <= 100.0
    for name in ("preprocessor", "encoder"):
        assert (cwd / "hub_models" / name / "1" / "saved_model.pb").is_file()
    pngs = _pngs(notebook)
    assert len(pngs) == 2  # the heatmap and the PCA map
    assert all(png.startswith(b"\x89PNG") for png in pngs)
