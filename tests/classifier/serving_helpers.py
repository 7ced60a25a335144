"""Runs an exported SavedModel the two ways it gets loaded in production.

* `tf.saved_model.load` (TF2, object graph);
* the TF1 session loader, `tf.compat.v1.saved_model.loader.load`, feeding
  and fetching tensors by the names in the SignatureDef: the path of TF
  Serving and `saved_model_cli run`, where variables are restored by their
  saved names in graph mode.

Run as a script (`python serving_helpers.py EXPORT_DIR INPUTS_JSON`) it
does both in a fresh process that imports TensorFlow and tensorflow-text
only, and prints the outputs as JSON; `serve_in_fresh_process` does that.
"""

import json
import os
import subprocess
import sys

import numpy as np


def _plain(outputs):
    """numpy / tensor outputs as JSON-ready lists (bytes decoded)."""
    plain = {}
    for name, value in outputs.items():
        value = np.asarray(value)
        if value.dtype == object:
            value = np.vectorize(lambda b: b.decode("utf-8"))(value)
        plain[name] = value.tolist()
    return plain


def serve_tf2(export_dir, inputs):
    """`serving_default` via tf.saved_model.load; {name: list}."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the tokenizer's ops)

    signature = tf.saved_model.load(export_dir).signatures["serving_default"]
    outputs = signature(**{k: tf.constant(v) for k, v in inputs.items()})
    return _plain({k: v.numpy() for k, v in outputs.items()})


def serve_tf1(export_dir, inputs):
    """`serving_default` via the TF1 session loader, by tensor names."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401

    with tf.Graph().as_default() as graph:
        with tf.compat.v1.Session(graph=graph) as session:
            meta_graph = tf.compat.v1.saved_model.loader.load(
                session, ["serve"], export_dir
            )
            signature = meta_graph.signature_def["serving_default"]
            assert sorted(signature.inputs) == sorted(inputs)
            outputs = session.run(
                {k: v.name for k, v in signature.outputs.items()},
                {signature.inputs[k].name: v for k, v in inputs.items()},
            )
    return _plain(outputs)


def serve_in_fresh_process(export_dir, inputs, cwd):
    """{"tf2": outputs, "tf1": outputs} from a fresh Python process.

    Args:
      export_dir: the version directory of an export.
      inputs: {signature input name: list}, e.g. {"text_a": [...]}.
      cwd: working directory of the child.

    The child imports TensorFlow and tensorflow-text only; it reports the
    bert_tf modules it saw loaded, which must be none.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    result = subprocess.run(
        [sys.executable, os.path.abspath(__file__), export_dir,
         json.dumps(inputs)],
        capture_output=True, text=True, env=env, cwd=str(cwd), timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert served.pop("bert_tf_modules") == []
    return served


if __name__ == "__main__":
    _served = {
        "tf2": serve_tf2(sys.argv[1], json.loads(sys.argv[2])),
        "tf1": serve_tf1(sys.argv[1], json.loads(sys.argv[2])),
        "bert_tf_modules": sorted(
            m for m in sys.modules if m.split(".")[0] == "bert_tf"),
    }
    print(json.dumps(_served))
