"""CI runs the Colab notebook top to bottom on the repo's tiny model."""

import os

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import REPO


# About 20 s: a Jupyter kernel, TensorFlow and eight epochs of fine-tuning.
@pytest.mark.slow
def test_fine_tune_notebook_runs_top_to_bottom(tmp_path, monkeypatch):
    path = os.path.join(REPO, "notebooks", "fine_tune_classifier.ipynb")
    notebook = nbformat.read(path, as_version=4)
    monkeypatch.setenv("BERT_TF_ROOT", REPO)
    monkeypatch.delenv("BERT_MODEL_DIR", raising=False)
    # Any cell error raises CellExecutionError and fails the test.
    NotebookClient(
        notebook, timeout=600, kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    outputs = "".join(
        o.get("text", "") for cell in notebook.cells for o in cell.get("outputs", [])
    )
    # The cells print the evaluation and assert the reloaded SavedModel
    # gives the in-memory model's probabilities.
    assert "'probabilities_accuracy'" in outputs
    assert os.path.isdir(tmp_path / "exported_classifier")
    assert os.path.exists(tmp_path / "fine_tuned" / "model.ckpt.index")
