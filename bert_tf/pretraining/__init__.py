"""Pre-training: TFRecord creation (instances, tfrecords) and training."""
