"""Google's training graph (google-research/bert) as a TF1 session, the peer.

What `run_pretraining.py` and `run_classifier.py` of the original ran on a
CPU, rebuilt from their `model_fn`s for timing: `modeling.BertModel`
(embeddings with a one-hot token-type matmul, 2D-reshaped transformer, tanh
GELU, contrib-style LayerNorm, dropout), the masked-LM head (gather of the
flattened positions, transform, tied output embedding, one-hot loss) and
next-sentence head, or the classifier head, and `optimization.py`'s
`AdamWeightDecayOptimizer` with warmup + linear decay and global-norm
clipping at 1.0. Each step is one `Session.run`, as TPUEstimator stepped
on a CPU.

It does not read or write checkpoints, keep the original's variable names
beyond what the scopes give for free, or run evaluation: it exists only to
be timed. fp32 only, as the original on a CPU.
"""

import math
import time

import tensorflow as tf

v1 = tf.compat.v1


def _gelu(x):
    cdf = 0.5 * (1.0 + tf.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    return x * cdf


class _Builder:
    """The original's layer helpers, sharing one config and dropout switch."""

    def __init__(self, config, is_training):
        self.config = config
        self.is_training = is_training

    def initializer(self):
        return v1.truncated_normal_initializer(stddev=self.config.initializer_range)

    def dense(self, x, units, name, activation=None):
        # tf.layers.dense on a rank-2 input: MatMul + BiasAdd.
        with v1.variable_scope(name):
            kernel = v1.get_variable(
                "kernel", [x.shape[-1], units], initializer=self.initializer()
            )
            bias = v1.get_variable(
                "bias", [units], initializer=v1.zeros_initializer()
            )
        y = tf.nn.bias_add(tf.matmul(x, kernel), bias)
        return activation(y) if activation else y

    def layer_norm(self, x):
        # tf.contrib.layers.layer_norm: moments, then batch_normalization.
        with v1.variable_scope("LayerNorm"):
            size = x.shape[-1]
            beta = v1.get_variable("beta", [size], initializer=v1.zeros_initializer())
            gamma = v1.get_variable("gamma", [size], initializer=v1.ones_initializer())
        mean, variance = tf.nn.moments(x, [x.shape.rank - 1], keepdims=True)
        return tf.nn.batch_normalization(x, mean, variance, beta, gamma, 1e-12)

    def dropout(self, x, rate):
        return tf.nn.dropout(x, rate=rate) if self.is_training and rate else x


def _bert(b, features):
    """modeling.BertModel: (sequence_output [B, S, H], pooled, word table)."""
    c = b.config
    input_ids = features["input_ids"]
    batch, seq = input_ids.shape
    hidden, heads = c.hidden_size, c.num_attention_heads
    head_size = hidden // heads
    with v1.variable_scope("bert"):
        with v1.variable_scope("embeddings"):
            word_table = v1.get_variable(
                "word_embeddings", [c.vocab_size, hidden], initializer=b.initializer()
            )
            x = tf.gather(word_table, input_ids)  # [B, S, H]
            type_table = v1.get_variable(
                "token_type_embeddings", [c.type_vocab_size, hidden],
                initializer=b.initializer(),
            )
            one_hot_types = tf.one_hot(
                tf.reshape(features["segment_ids"], [-1]), c.type_vocab_size
            )
            x += tf.reshape(tf.matmul(one_hot_types, type_table), [batch, seq, hidden])
            position_table = v1.get_variable(
                "position_embeddings", [c.max_position_embeddings, hidden],
                initializer=b.initializer(),
            )
            x += tf.slice(position_table, [0, 0], [seq, -1])[None]
            x = b.dropout(b.layer_norm(x), c.hidden_dropout_prob)
        with v1.variable_scope("encoder"):
            to_mask = tf.cast(
                tf.reshape(features["input_mask"], [batch, 1, seq]), tf.float32
            )
            mask = to_mask * tf.ones([batch, seq, 1])  # [B, F, T]
            adder = (1.0 - mask[:, None]) * -10000.0  # [B, 1, F, T]

            def split_heads(t):
                t = tf.reshape(t, [batch, seq, heads, head_size])
                return tf.transpose(t, [0, 2, 1, 3])  # [B, N, S, D]

            h = tf.reshape(x, [batch * seq, hidden])
            for i in range(c.num_hidden_layers):
                with v1.variable_scope(f"layer_{i}"):
                    with v1.variable_scope("attention"):
                        with v1.variable_scope("self"):
                            q = split_heads(b.dense(h, hidden, "query"))
                            k = split_heads(b.dense(h, hidden, "key"))
                            v = split_heads(b.dense(h, hidden, "value"))
                            scores = tf.matmul(q, k, transpose_b=True)
                            scores = scores * (1.0 / math.sqrt(head_size)) + adder
                            probs = b.dropout(
                                tf.nn.softmax(scores), c.attention_probs_dropout_prob
                            )
                            context = tf.transpose(tf.matmul(probs, v), [0, 2, 1, 3])
                            context = tf.reshape(context, [batch * seq, hidden])
                        with v1.variable_scope("output"):
                            a = b.dense(context, hidden, "dense")
                            a = b.dropout(a, c.hidden_dropout_prob)
                            a = b.layer_norm(a + h)
                    with v1.variable_scope("intermediate"):
                        m = b.dense(a, c.intermediate_size, "dense", _gelu)
                    with v1.variable_scope("output"):
                        o = b.dense(m, hidden, "dense")
                        o = b.dropout(o, c.hidden_dropout_prob)
                        h = b.layer_norm(o + a)
        sequence_output = tf.reshape(h, [batch, seq, hidden])
        with v1.variable_scope("pooler"):
            pooled = b.dense(sequence_output[:, 0], hidden, "dense", tf.tanh)
    return sequence_output, pooled, word_table


def _log_softmax_loss(logits, labels, depth):
    log_probs = tf.nn.log_softmax(logits, axis=-1)
    one_hot = tf.one_hot(tf.reshape(labels, [-1]), depth=depth, dtype=tf.float32)
    return -tf.reduce_sum(log_probs * one_hot, axis=-1)


def _pretraining_loss(b, features):
    c = b.config
    sequence_output, pooled, word_table = _bert(b, features)
    batch, seq, hidden = sequence_output.shape
    with v1.variable_scope("cls/predictions"):
        offsets = tf.reshape(tf.range(batch) * seq, [-1, 1])
        flat_positions = tf.reshape(features["masked_lm_positions"] + offsets, [-1])
        x = tf.gather(tf.reshape(sequence_output, [-1, hidden]), flat_positions)
        with v1.variable_scope("transform"):
            x = b.layer_norm(b.dense(x, hidden, "dense", _gelu))
        output_bias = v1.get_variable(
            "output_bias", [c.vocab_size], initializer=v1.zeros_initializer()
        )
        logits = tf.nn.bias_add(tf.matmul(x, word_table, transpose_b=True), output_bias)
        per_example = _log_softmax_loss(logits, features["masked_lm_ids"], c.vocab_size)
        weights = tf.reshape(features["masked_lm_weights"], [-1])
        mlm_loss = tf.reduce_sum(weights * per_example) / (
            tf.reduce_sum(weights) + 1e-5
        )
    with v1.variable_scope("cls/seq_relationship"):
        nsp_loss = tf.reduce_mean(
            _log_softmax_loss(
                _output_layer(b, pooled, 2), features["next_sentence_labels"], 2
            )
        )
    return mlm_loss + nsp_loss


def _output_layer(b, pooled, num_labels):
    weights = v1.get_variable(
        "output_weights", [num_labels, pooled.shape[-1]], initializer=b.initializer()
    )
    bias = v1.get_variable(
        "output_bias", [num_labels], initializer=v1.zeros_initializer()
    )
    return tf.nn.bias_add(tf.matmul(pooled, weights, transpose_b=True), bias)


def _classifier_loss(b, features, num_labels):
    # run_classifier.create_model: dropout 0.1 on the pooled output.
    _, pooled, _ = _bert(b, features)
    with v1.variable_scope("loss"):
        logits = _output_layer(b, b.dropout(pooled, 0.1), num_labels)
        return tf.reduce_mean(
            _log_softmax_loss(logits, features["label_ids"], num_labels)
        )


def _train_op(loss, learning_rate, num_train_steps, num_warmup_steps):
    """optimization.create_optimizer + AdamWeightDecayOptimizer."""
    global_step = v1.train.get_or_create_global_step()
    rate = v1.train.polynomial_decay(
        learning_rate, global_step, num_train_steps, end_learning_rate=0.0,
        power=1.0, cycle=False,
    )
    step = tf.cast(global_step, tf.float32)
    is_warmup = tf.cast(step < num_warmup_steps, tf.float32)
    warmup_rate = learning_rate * step / num_warmup_steps
    rate = (1.0 - is_warmup) * rate + is_warmup * warmup_rate
    variables = v1.trainable_variables()
    grads, _ = tf.clip_by_global_norm(tf.gradients(loss, variables), clip_norm=1.0)
    assignments = []
    for grad, param in zip(grads, variables):
        name = param.op.name
        m = v1.get_variable(name + "/adam_m", param.shape, tf.float32,
                            trainable=False, initializer=v1.zeros_initializer())
        v = v1.get_variable(name + "/adam_v", param.shape, tf.float32,
                            trainable=False, initializer=v1.zeros_initializer())
        # The original's tf.multiply turns an IndexedSlices gradient (the
        # embedding gathers') into a dense tensor, as convert_to_tensor does.
        grad = tf.convert_to_tensor(grad)
        next_m = 0.9 * m + 0.1 * grad
        next_v = 0.999 * v + 0.001 * tf.square(grad)
        update = next_m / (tf.sqrt(next_v) + 1e-6)
        if not any(x in name for x in ("LayerNorm", "layer_norm", "bias")):
            update += 0.01 * param
        assignments += [param.assign(param - rate * update), m.assign(next_m),
                        v.assign(next_v)]
    return tf.group(*assignments, global_step.assign(global_step + 1))


class Tf1Graph:
    """One training graph and its session, stepped `steps` times per `run`.

    Args:
      config: a bert_tf `BertConfig`.
      dataset_fn: callable returning a repeating `tf.data.Dataset` of
        batches (called inside the graph).
      head: "pretraining" or "classifier" (2 labels).
      num_train_steps, num_warmup_steps: the schedule's.
      steps: `Session.run` calls per `run()`.
    """

    def __init__(self, config, dataset_fn, head, num_train_steps,
                 num_warmup_steps, steps=1, learning_rate=5e-5):
        start = time.perf_counter()
        self.graph = tf.Graph()
        with self.graph.as_default():
            v1.set_random_seed(0)
            features = v1.data.make_one_shot_iterator(dataset_fn()).get_next()
            builder = _Builder(config, is_training=True)
            if head == "pretraining":
                self.loss = _pretraining_loss(builder, features)
            else:
                self.loss = _classifier_loss(builder, features, 2)
            self.train_op = _train_op(
                self.loss, learning_rate, num_train_steps, num_warmup_steps
            )
            self.session = v1.Session(graph=self.graph)
            self.session.run(v1.global_variables_initializer())
        self.build_seconds = time.perf_counter() - start
        self.steps = steps

    def run(self, steps=None):
        for _ in range(steps or self.steps):
            loss, _ = self.session.run([self.loss, self.train_op])
        return float(loss)
