"""run_classifier.py's library, one module per concern.

`processors` reads the GLUE/XNLI TSV files into `InputExample`s; `features`
turns them into fixed-length ids and TFRecords; `run` is the script's work.
"""
