"""The BERT model, as `modeling.py` of google-research/bert.

`BertConfig` and `BertModel` keep the original's names; the heads of the
original scripts live in `heads` and their losses in `losses`, and
`BertPretrainingModel` combines the encoder with the masked-LM and
next-sentence heads.
"""

from bert_tf.config import BertConfig
from bert_tf.modeling.activations import gelu
from bert_tf.modeling.activations import gelu_exact
from bert_tf.modeling.activations import get_activation
from bert_tf.modeling.encoder import BertModel
from bert_tf.modeling.heads import ClassifierHead
from bert_tf.modeling.heads import MaskedLMHead
from bert_tf.modeling.heads import NextSentenceHead
from bert_tf.modeling.heads import SpanHead
from bert_tf.modeling.pretraining_model import BertPretrainingModel
