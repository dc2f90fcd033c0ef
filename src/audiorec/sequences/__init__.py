"""What sequential recommenders share: training sequences, masks, batches, packing, the loss.

``windows``: each user's sequence cut for training (the last ``max_len``
items, consecutive windows, or every prefix) and for prediction (the last
known items plus, for masked models, a mask), padded into id matrices.
``masking``: BERT-style random masks and the loss normaliser that goes with
them. ``batches``: shuffled batches of sequences. ``packing``: short
sequences sharing a row. ``loss``: full-softmax cross-entropy over a large
item table, computed in checkpointed blocks. BERT4Rec and SASRec are built
from these; a new sequential model needs only its network and its loss.
"""
