"""The environment every kernel of the course starts with, wherever it runs.

A student's kernel in the classroom (``grader.hub``), plain nbgrader's (``nbgrader_config.py``),
the engine's (its zygote, where the libraries are imported, and its cold kernels) and the
calibration of the accuracy bars (``bench/``) all set these, over whatever the machine's
environment says, so that a student's visible check and the grading train the same model to
the same bits. TensorFlow reads them when it is imported, and they change its numbers: with
oneDNN's kernels (TensorFlow's default on x86) a small Keras model trains to weights that differ
in their last bits from those of TensorFlow's own kernels, and so do its predictions. The
course runs TensorFlow's own kernels, as its accuracy bars were calibrated. See
``docs/grading.md``, "The same numbers in every kernel".

It imports nothing: the classroom's JupyterHub configuration and the course's nbgrader
configuration read it too.
"""

from __future__ import annotations

#: Variable -> value, set in every kernel of the course.
KERNEL_ENVIRONMENT: dict[str, str] = {
    "TF_ENABLE_ONEDNN_OPTS": "0",  # TensorFlow's own CPU kernels, not oneDNN's
    "KERAS_BACKEND": "tensorflow",  # the lesson's Keras runs on TensorFlow
}
