"""Settings for the whole test run: each worker's kernels get its share of the cores.

``make test`` runs the suite on pytest-xdist workers (two on two cores), and every worker starts
kernels that train small networks. Left to their defaults, PyTorch's and TensorFlow's thread
pools each take every core, and the workers' kernels spin against one another: two Overfitting
notebooks run at once took 42 s each instead of 8. Every kernel, nbgrader's and the engine's,
inherits this process's environment, so each is held to its worker's share of the cores, by
the rule the engine applies to its own concurrent kernels
(:func:`grader.engine.task.thread_environment`). A variable already set is left alone.
"""

from __future__ import annotations

import os

from grader.engine.task import thread_environment
from tests.support import cores_per_worker

for _name, _value in thread_environment(cores_per_worker()).items():
    os.environ.setdefault(_name, _value)
