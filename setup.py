"""Installs the `bert_tf` package. Metadata only; no code runs here."""

import setuptools

setuptools.setup(
    name="bert_tf",
    version="0.1.0",
    description=(
        "Google's BERT on TensorFlow 2 / Keras 3: the original scripts, flags, "
        "data files and checkpoints."
    ),
    packages=setuptools.find_packages(include=["bert_tf", "bert_tf.*"]),
    # The notebooks' demo data, read with importlib.resources.
    package_data={"bert_tf": ["data/*.tsv", "data/*.txt"]},
    python_requires=">=3.10",
    # Lower bounds are the oldest versions CI tests (constraints/oldest.txt,
    # `make test-oldest`); `make test` tests the newest.
    install_requires=[
        "tensorflow>=2.20.0",
        "tensorflow-text>=2.20.0",
        "keras>=3.10.0",
        "absl-py>=2.1.0",
        "numpy",
    ],
    extras_require={
        "test": [
            "pytest>=8", "pytest-xdist>=3.5", "nbclient>=0.10", "nbformat>=5.10",
            "ipykernel>=6.29", "safetensors>=0.8.0", "matplotlib",
        ],
        # convert_checkpoint.py: Hugging Face's model.safetensors through the
        # numpy API (bfloat16 as ml_dtypes); no PyTorch.
        "hf": ["safetensors>=0.8.0", "ml-dtypes"],
        # The peer that benchmarks/ measures against; never imported by bert_tf.
        "bench": ["keras-hub>=0.32.0"],
    },
)
