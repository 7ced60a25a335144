"""Pre-training: making the TFRecords, and training on them.

Generating data (create_pretraining_data.py runs `create_data`):

* `corpus`: reads the text into one flat array of token ids;
* `instances`: samples the (A, B) sentence pairs, with `python_random`
  making the reference's random draws;
* `masking`: chooses each pair's masked-LM targets, once;
* `tfrecords`: encodes the examples; its `feature_spec` is also what
  training parses.

Training (run_pretraining.py runs `run`):

* `input_pipeline`: reads the TFRecords with tf.data;
* `dynamic_masking`: with --dynamic_masking, draws new masks on every pass;
* `task`: the masked-LM and next-sentence losses and metrics.

The data modules other than `create_data` and `tfrecords` are pure Python.
"""
