"""Keras's training input made steady (``grader.steady``): autotuning off, the same numbers.

Each fact is gathered in a fresh Python process (one for Keras, one without it), so that the
test process's own imports neither help nor hide anything.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from grader import course

KERAS_FACTS = textwrap.dedent(
    """
    import json, os
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import keras
    import numpy as np
    from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter
    from grader import data, steady

    def autotune():
        adapter = ArrayDataAdapter(np.zeros((8, 2)), np.zeros(8), batch_size=4)
        return adapter.get_tf_dataset().options().autotune.enabled

    def train():
        keras.utils.set_random_seed(7)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                                  keras.layers.Dense(3, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        iris = data.load("iris")
        history = model.fit(iris.train.x, iris.train.y, epochs=4, batch_size=16,
                            validation_data=(iris.valid.x, iris.valid.y), verbose=0)
        return history.history, [w.tolist() for w in model.get_weights()]

    facts = {"before": autotune()}
    method = ArrayDataAdapter.get_tf_dataset
    facts["plain"] = train()  # data.load makes the input steady: undo it for this run
    facts["load_made_it_steady"] = ArrayDataAdapter.get_tf_dataset is not method
    ArrayDataAdapter.get_tf_dataset = method
    facts["steady_returned"] = steady.steady_keras_input()
    wrapped = ArrayDataAdapter.get_tf_dataset
    facts["again_returned"] = steady.steady_keras_input()
    facts["wrapped_once"] = ArrayDataAdapter.get_tf_dataset is wrapped
    facts["after"] = autotune()
    facts["steady"] = train()
    print(json.dumps(facts))
    """
)

WITHOUT_KERAS = textwrap.dedent(
    """
    import json, sys
    from grader import data, steady
    data.load("iris")
    print(json.dumps({"returned": steady.steady_keras_input(),
                      "imported": sorted(m for m in ("keras", "tensorflow") if m in sys.modules)}))
    """
)


def _facts(script: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        env=course.tool_environment(),
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def keras_facts() -> dict:
    return _facts(KERAS_FACTS)


def test_keras_pipelines_lose_autotuning_and_nothing_else(keras_facts: dict) -> None:
    assert keras_facts["before"] in (None, True)  # tf.data's default: autotuning on
    assert keras_facts["steady_returned"] is True
    assert keras_facts["after"] is False


def test_training_gives_the_same_numbers_with_steady_input(keras_facts: dict) -> None:
    plain_history, plain_weights = keras_facts["plain"]
    steady_history, steady_weights = keras_facts["steady"]
    assert plain_history == steady_history
    assert plain_weights == steady_weights
    assert len(plain_history["val_accuracy"]) == 4


def test_loading_a_dataset_makes_keras_input_steady_once(keras_facts: dict) -> None:
    assert keras_facts["load_made_it_steady"] is True
    assert keras_facts["again_returned"] is True
    assert keras_facts["wrapped_once"] is True


def test_without_keras_nothing_is_imported() -> None:
    facts = _facts(WITHOUT_KERAS)
    assert facts == {"returned": False, "imported": []}
