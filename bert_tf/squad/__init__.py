"""SQuAD 1.1 / 2.0 (run_squad.py): reading, windows, span model, predictions."""
