"""Keras's training input made steady (``grader.steady``): autotuning off, the same numbers.

Each fact is gathered in a fresh Python process (Keras with the input made steady, Keras as it
comes, and no Keras at all), so that the test process's own imports neither help nor hide
anything, and TensorFlow's process-wide options of one run cannot reach the other.
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
    import json, os, sys
    # TensorFlow's defaults, not the course's kernel settings (grader.kernel_environment): with
    # oneDNN's kernels a graph-rewriting option changes these numbers, with TensorFlow's own
    # (the course's) grappler turned off left them equal, so the test would miss it
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ.pop("TF_ENABLE_ONEDNN_OPTS", None)
    import keras
    import numpy as np
    from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter
    from grader import data, steady

    if sys.argv[1] == "plain":  # Keras as it comes: loading data leaves it alone
        data.steady_keras_input = lambda: False

    def autotune():
        adapter = ArrayDataAdapter(np.zeros((8, 2)), np.zeros(8), batch_size=4)
        return adapter.get_tf_dataset().options().autotune.enabled

    def train():
        # sigmoid outputs, as in IntroKeras's multi-label demo: a process-wide TensorFlow
        # option that changes how graphs are rewritten (grappler's) shows in their last bits
        keras.utils.set_random_seed(7)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                                  keras.layers.Dense(3, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["binary_accuracy"])
        iris = data.load("iris")
        labels, valid = np.eye(3)[iris.train.y], np.eye(3)[iris.valid.y]
        history = model.fit(iris.train.x, labels, epochs=4, batch_size=16,
                            validation_data=(iris.valid.x, valid), verbose=0)
        single = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])  # a tiny graph
        return {"history": history.history,
                "weights": [w.tolist() for w in model.get_weights()],
                "predicted": model.predict(iris.valid.x, verbose=0).tolist(),
                "single": single.predict(iris.valid.x, verbose=0).tolist()}

    method = ArrayDataAdapter.get_tf_dataset
    facts = {"before": autotune()}
    facts["numbers"] = train()
    facts["load_made_it_steady"] = ArrayDataAdapter.get_tf_dataset is not method
    facts["after"] = autotune()
    wrapped = ArrayDataAdapter.get_tf_dataset
    facts["again_returned"] = steady.steady_keras_input()
    facts["wrapped_once"] = ArrayDataAdapter.get_tf_dataset is wrapped
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


def _facts(script: str, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
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
    return _facts(KERAS_FACTS, "steady")


@pytest.fixture(scope="module")
def plain_facts() -> dict:
    return _facts(KERAS_FACTS, "plain")


def test_keras_pipelines_lose_autotuning_and_nothing_else(
    keras_facts: dict, plain_facts: dict
) -> None:
    assert keras_facts["before"] in (None, True)  # tf.data's default: autotuning on
    assert keras_facts["after"] is False
    assert plain_facts["after"] in (None, True)


def test_training_gives_the_same_numbers_with_steady_input(
    keras_facts: dict, plain_facts: dict
) -> None:
    plain, made_steady = plain_facts["numbers"], keras_facts["numbers"]
    assert len(plain["history"]["val_binary_accuracy"]) == 4
    for fact in ("history", "weights", "predicted", "single"):
        assert made_steady[fact] == plain[fact], fact


def test_loading_a_dataset_makes_keras_input_steady_once(
    keras_facts: dict, plain_facts: dict
) -> None:
    assert keras_facts["load_made_it_steady"] is True
    assert plain_facts["load_made_it_steady"] is False
    assert keras_facts["again_returned"] is True
    assert keras_facts["wrapped_once"] is True


def test_without_keras_nothing_is_imported() -> None:
    facts = _facts(WITHOUT_KERAS)
    assert facts == {"returned": False, "imported": []}
