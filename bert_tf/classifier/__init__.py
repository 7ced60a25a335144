"""run_classifier.py's library, one module per concern.

`processors` reads the GLUE/XNLI TSV files into `InputExample`s (no
TensorFlow); `features` turns them into fixed-length ids and TFRecords.
Import the submodules directly: this package imports nothing itself, so
reading task files does not pay for importing TensorFlow.
"""
