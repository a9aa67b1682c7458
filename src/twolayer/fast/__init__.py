"""The speed of the workflow's training, in one place.

``twolayer.network`` and ``twolayer.training`` are the network and the loop as a
textbook writes them; the gradient check runs through them. This subpackage trains the
same networks faster, and its contract is that it gives the same histories as that
plain path: bit for bit where the arithmetic is the same, otherwise to rounding, as
``tests/test_fast.py`` checks by running both.

- ``packed``: the P networks of a search job side by side as one network (one wide
  product instead of P thin ones), the mean subtraction folded into the first layer.
- ``training``: the training-set evaluation of each epoch carried by the next epoch's
  batches, and each mini-batch gathered on a background thread.

Each stays because removing it slows the study by more than 5% (docs/performance.md).
"""
