"""Keras's training input without tf.data's autotuning thread, so that training does not stall.

Keras (TensorFlow backend) feeds ``fit``, ``evaluate`` and ``predict`` on in-memory arrays
through a ``tf.data`` pipeline and opens a new iterator over it every epoch. With autotuning
on (tf.data's default), each iterator starts a model thread that wakes on a timer (10, 20,
40, 80 ms ...), and when the iterator is closed at the end of an epoch it can wait for that
timer instead of being woken. It only happens when the thread could not run at once: a
kernel beside another busy process (two graders on two cores, a classroom's kernels sharing
a machine) or held to one core. There it costs 20 to 80 ms an epoch, a quarter to a third of
a Keras notebook's training time (``docs/performance.md``, "Keras's stalls beside other work").

:func:`steady_keras_input` turns autotuning off for those pipelines only. Autotuning picks
buffer sizes and how many threads prepare the batches, never which elements come in which
order: every batch, weight and metric is the same number as with it on
(``tests/test_steady.py`` trains a model both ways; the lesson's Keras notebooks gave the same
histories and weights to the last bit). A student's own ``tf.data`` pipelines are left as
they are. :func:`grader.data.load` calls it; the lesson's Keras notebooks import Keras and then
load their data, so it takes effect in JupyterLab, under plain ``nbgrader`` and in the engine's
kernels alike.
"""

from __future__ import annotations

import sys
from typing import Any

#: Where Keras builds the tf.data pipeline of in-memory arrays (Keras 3).
ADAPTER_MODULE = "keras.src.trainers.data_adapters.array_data_adapter"

#: Set on the adapter's method once it has been wrapped.
_MARK = "_grader_steady"


def steady_keras_input() -> bool:
    """Turn tf.data's autotuning off for the pipelines Keras builds from in-memory arrays.

    Does nothing unless Keras is already imported (it never imports Keras or TensorFlow
    itself). Returns whether Keras's pipelines are now steady; calling it again is harmless.
    """
    module = sys.modules.get(ADAPTER_MODULE)
    adapter = getattr(module, "ArrayDataAdapter", None)
    original = getattr(adapter, "get_tf_dataset", None)
    if adapter is None or original is None:
        return False
    if getattr(original, _MARK, False):
        return True

    def get_tf_dataset(self: Any) -> Any:
        import tensorflow as tf

        options = tf.data.Options()
        options.autotune.enabled = False
        return original(self).with_options(options)

    get_tf_dataset.__doc__ = original.__doc__
    setattr(get_tf_dataset, _MARK, True)
    adapter.get_tf_dataset = get_tf_dataset
    return True
