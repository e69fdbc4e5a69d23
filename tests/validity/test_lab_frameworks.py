"""The grading of LabFrameworks means something (the shared tests are in `suite.py`).

The lab may be solved in PyTorch or in TensorFlow: `tests/alternatives/LabFrameworks.yaml`
answers it in Keras, in PyTorch written differently and in plain NumPy, each for full marks.
"""

from tests.validity.suite import *  # noqa: F403

NOTEBOOK = "LabFrameworks"
