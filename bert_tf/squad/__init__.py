"""SQuAD (run_squad.py): the span model."""
