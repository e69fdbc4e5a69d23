"""The grading of LabFrameworks means something (the shared tests are in `suite.py`).

The lab may be solved in PyTorch or in TensorFlow: a student who answers with Keras models gets
full marks too.
"""

from tests.validity.suite import *  # noqa: F403

NOTEBOOK = "LabFrameworks"

KERAS_IRIS_SINGLE = '''
import keras


def iris_single_layer(x, y, seed=0):
    """Train a single-layer classifier on standardized Iris features; return the model."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3)])
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.05),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(x, y, epochs=60, batch_size=32, verbose=0)
    return model
'''

KERAS_DIGITS_MULTI = '''
import keras


def digits_multi_layer(x, y, seed=0):
    """Train a classifier with a hidden layer on flattened 8x8 digits; return the model."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input(shape=(64,)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.005),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x, y, epochs=30, batch_size=64, verbose=0)
    return model
'''

ALTERNATIVES = {
    "tensorflow": {"iris-single": KERAS_IRIS_SINGLE, "digits-multi": KERAS_DIGITS_MULTI},
}
