"""Pre-training: TFRecord creation and training.

create_pretraining_data.py runs `create_data`, which reads with `corpus`,
samples with `instances` and encodes with `tfrecords`.
"""
