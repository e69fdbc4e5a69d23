"""The checks library: each check passes a right answer and fails a plausible wrong one."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch

from grader import checks, data
from grader.checks import CheckFailed

HIDDEN_POINT = np.array([0.123456, -1.5, 2.25])


def norm_mean(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.sqrt(a**2 + b**2)))


def autograd_gradient(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    a = a.clone().requires_grad_(True)
    torch.mean(torch.sqrt(a**2 + b**2)).backward()
    return a.grad


def test_numeric_gradient_matches_calculus() -> None:
    x = np.array([1.0, -2.0, 0.5])
    assert np.allclose(checks.numeric_gradient(lambda v: np.sum(v**3), x), 3 * x**2, atol=1e-6)


def test_gradient_check_accepts_autograd_and_rejects_a_wrong_formula() -> None:
    points = [(torch.tensor(HIDDEN_POINT), torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))]
    checks.check_gradient_function("g", autograd_gradient, norm_mean, points)

    def forgot_the_mean(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a / torch.sqrt(a**2 + b**2)

    with pytest.raises(CheckFailed, match="relative error") as failure:
        checks.check_gradient_function("g", forgot_the_mean, norm_mean, points)
    assert "0.123" not in str(failure.value), "a message must not reveal hidden inputs"


class Softplus(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.log1p(torch.exp(x))

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * torch.sigmoid(x)


class WrongSignSoftplus(Softplus):
    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return -grad_output * torch.sigmoid(x)


def test_custom_torch_function_backward_is_checked() -> None:
    checks.check_torch_function("softplus", Softplus.apply, [HIDDEN_POINT])
    with pytest.raises(CheckFailed, match="backward"):
        checks.check_torch_function("softplus", WrongSignSoftplus.apply, [HIDDEN_POINT])


def test_tf_custom_gradient_is_checked() -> None:
    import tensorflow as tf

    def make(sign: float):
        @tf.custom_gradient
        def cube(x):
            def grad(upstream):
                return sign * upstream * 3 * x**2

            return x**3, grad

        return cube

    checks.check_tf_function("cube", make(1.0), [HIDDEN_POINT])
    with pytest.raises(CheckFailed):
        checks.check_tf_function("cube", make(-1.0), [HIDDEN_POINT])


def test_values_check_hides_expected_values_unless_asked() -> None:
    checks.check_values("v", {"w": np.array([1.0, 2.0])}, {"w": [1.0, 2.0]})
    with pytest.raises(CheckFailed) as failure:
        checks.check_values("v", {"w": np.array([1.0, 2.5])}, {"w": [1.0, 2.0]})
    assert "2.0" not in str(failure.value)
    with pytest.raises(CheckFailed, match="shape"):
        checks.check_values("v", {"w": np.zeros(3)}, {"w": [1.0, 2.0]})
    with pytest.raises(CheckFailed, match="differs from the expected value") as failure:
        checks.check_values("v", {"b": 0.4}, {"b": 0.5})
    assert "0.1" not in str(failure.value), "a hidden number's distance gives it away"


def test_a_wrong_array_of_the_right_shape_is_told_how_it_differs() -> None:
    with pytest.raises(CheckFailed) as failure:
        checks.check_values("v", {"w": np.array([1.0, 2.0, -7.0])}, {"w": [1.0, 2.25, 7.0]})
    message = str(failure.value)
    assert "right shape (3,) but not the right value" in message
    assert "2 of 3 values differ; the first at index 1" in message
    assert "largest difference, about 1e+01, at index 2" in message
    assert "2.25" not in message and "7.0" not in message.replace("-7.", "")
    with pytest.raises(CheckFailed, match=r"first at index \(0, 1\)"):
        checks.check_values("v", {"m": np.eye(2)}, {"m": np.ones((2, 2))})


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ([torch.tensor([1.0, 2.0]), torch.tensor([3.0])], "could not be read as numbers"),
        ({"w": 1.0}, "is a dict that does not hold numbers"),
        (None, "is None"),
        (torch.ones(2, device="meta"), "'meta' device"),
        (np.array([1.0, None], dtype=object), "does not hold numbers"),
    ],
)
def test_values_that_are_not_numbers_get_a_message_naming_the_accepted_forms(
    value: object, reason: str
) -> None:
    with pytest.raises(CheckFailed) as failure:
        checks.check_values("v", {"w": value}, {"w": [1.0, 2.0]})
    assert reason in str(failure.value)
    assert "a NumPy array, a torch tensor, a TensorFlow tensor" in str(failure.value)
    assert "allow_pickle" not in str(failure.value)


@pytest.mark.parametrize(
    "value",
    [
        (1.0, 2.0),
        [1.0, 2.0],
        np.array([1.0, 2.0], dtype=np.float32),
        torch.tensor([1.0, 2.0], requires_grad=True),
        torch.tensor([1.0, 2.0], dtype=torch.bfloat16),
        [torch.tensor(1.0, requires_grad=True), torch.tensor(2.0, requires_grad=True)],
        (np.float32(1.0), 2),
    ],
    ids=["tuple", "list", "float32", "requires-grad", "bfloat16", "list-of-tensors", "mixed"],
)
def test_every_allowed_form_of_an_answer_earns_its_points(value: object) -> None:
    checks.check_values("v", {"w": value}, {"w": np.array([1.0, 2.0])}, rtol=1e-3)


def test_a_float32_gradient_passes_the_float64_gradient_check() -> None:
    points = [(torch.tensor(HIDDEN_POINT), torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))]
    checks.check_gradient_function(
        "g", lambda a, b: autograd_gradient(a, b).float(), norm_mean, points
    )
    with pytest.raises(CheckFailed, match="is None"):
        checks.check_gradient_function("g", lambda a, b: None, norm_mean, points)


def _gpu_state() -> tuple:
    return (torch.cuda.is_available(), torch.cuda.device_count(), torch.cuda._is_compiled())


def test_pick_device_is_checked_with_faked_availability() -> None:
    def right() -> torch.device:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")

    before = _gpu_state()
    checks.check_pick_device("pick", right)
    checks.check_pick_device("pick", lambda: "cuda" if torch.cuda.device_count() else "cpu")
    with pytest.raises(CheckFailed, match="pick 'cuda'"):
        checks.check_pick_device("pick", lambda: "cpu")
    with pytest.raises(CheckFailed, match="without a GPU"):
        checks.check_pick_device("pick", lambda: "cuda")
    assert _gpu_state() == before, "faking a GPU must leave the real answer as it was"


def test_a_gpu_is_faked_for_names_imported_before_the_fake() -> None:
    from torch.cuda import device_count, is_available

    def by_imported_name() -> str:
        return "cuda:0" if is_available() else "cpu"

    def by_count() -> torch.device:
        return torch.device("cuda" if device_count() > 0 else "cpu")

    checks.check_pick_device("pick", by_imported_name)
    checks.check_pick_device("pick", by_count)
    with checks.fake_cuda(True):
        assert (is_available(), device_count()) == (True, 1)
    with checks.fake_cuda(False):
        assert (is_available(), device_count()) == (False, 0)


def test_a_lightning_trainer_sees_the_faked_gpu() -> None:
    import warnings

    import lightning as L

    def trainer_device(accelerator: str) -> torch.device:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trainer = L.Trainer(
                accelerator=accelerator, devices=1, logger=False, enable_progress_bar=False
            )
        return trainer.strategy.root_device

    checks.check_pick_device("trainer", lambda: trainer_device("auto"))
    with pytest.raises(CheckFailed, match="pick 'cuda'"):
        checks.check_pick_device("trainer", lambda: trainer_device("cpu"))


def test_a_device_count_left_to_lightning_shows_on_two_faked_gpus() -> None:
    """In a notebook Lightning keeps ``devices="auto"`` to one GPU; built as a script would, a
    Trainer whose device count was left to Lightning takes both faked GPUs."""
    import sys
    import warnings
    from unittest import mock

    import lightning as L

    def count(**devices: object) -> int:
        with warnings.catch_warnings(), checks.lightning_as_script():
            warnings.simplefilter("ignore")
            with checks.fake_cuda(True, gpus=2):
                assert torch.cuda.device_count() == 2
                trainer = L.Trainer(accelerator="auto", logger=False, **devices)
        return int(trainer.num_devices)

    with mock.patch.object(sys, "ps1", ">>> ", create=True):  # as in a notebook's kernel
        assert count(devices=1) == 1
        assert count() == 2
        assert count(devices="auto") == 2


def _step(device: str, hard_coded: str | None = None) -> tuple:
    model = torch.nn.Linear(3, 2).to(hard_coded or device)
    x = torch.ones(4, 3, device=device)
    return model, model(x.to(hard_coded or device))


def test_hard_coded_devices_are_caught_on_the_meta_device() -> None:
    checks.check_follows_device("step", _step)
    with pytest.raises(AssertionError, match=r"hard-coded|device it had never seen"):
        checks.check_follows_device("step", lambda d: _step(d, hard_coded="cpu"))
    checks.check_on_device("on", "cpu", *_step("cpu"))
    # a step that moves only one of model and batch fails on meta, whichever it forgot
    for forgot in ("model", "batch"):

        def one_moved(device: str, forgot: str = forgot) -> tuple:
            model, x = torch.nn.Linear(3, 2), torch.ones(4, 3)
            model = model if forgot == "model" else model.to(device)
            x = x if forgot == "batch" else x.to(device)
            return model, model(x)

        with pytest.raises(AssertionError, match="the model and the batch alike"):
            checks.check_follows_device("step", one_moved)
    with pytest.raises(CheckFailed, match="'meta'"):
        checks.check_on_device("on", "cpu", torch.nn.Linear(2, 2).to("meta"))


def test_accuracy_is_framework_agnostic_and_thresholded() -> None:
    dataset = data.load("blobs")
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    x, y = torch.tensor(dataset.train.x), torch.tensor(dataset.train.y)
    for _ in range(100):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    assert checks.check_accuracy("acc", model, "blobs", 0.8) is None  # no partial-credit trap
    as_function = checks.accuracy(lambda v: model(torch.tensor(v)).argmax(1), *_hidden())
    assert as_function == checks.accuracy(model, *_hidden()) >= 0.8
    with pytest.raises(CheckFailed, match=r"at least 0\.999"):
        checks.check_accuracy("acc", model, "blobs", 0.999)
    one_logit = torch.nn.Sequential(torch.nn.Linear(2, 1))
    assert set(checks.predict_labels(one_logit, dataset.valid.x)) <= {0, 1}


def test_accuracy_in_a_graded_kernel_only_emits_the_predictions(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data.seal("blobs", tmp_path)
    emitted = []
    module = importlib.import_module("grader.checks.accuracy")  # checks.accuracy is a function
    monkeypatch.setattr(module, "emit", lambda *args, **kwargs: emitted.append((args, kwargs)))
    monkeypatch.setenv(data.SEALED_ENV, str(tmp_path))
    always_zero = lambda x: np.zeros(len(x), dtype=np.int64)  # noqa: E731
    assert checks.check_accuracy("acc", always_zero, "blobs", 0.999) is None  # nothing asserted
    ((check, kind, values), options) = emitted[0]
    assert (check, kind, values["dataset"]) == ("acc", "predictions", "blobs")
    assert values["predictions"].shape == (150,)
    assert options == {"expect": {"threshold": 0.999}}


def _hidden() -> tuple[np.ndarray, np.ndarray]:
    split = data.hidden_split("blobs")
    return split.x, split.y


def test_overfitting_helpers() -> None:
    assert checks.best_epoch([3, 1, 1, 2]) == 1
    assert checks.early_stopping_epoch([5, 4, 4.5, 4.2, 3], 2) == 3
    assert checks.early_stopping_epoch([3, 2, 1], 1) == 2
    checks.check_gap_narrowed("gap", ([1, 0.1], [1, 2.0]), ([1, 0.5], [1, 1.0]))
    with pytest.raises(CheckFailed, match="shrink"):
        checks.check_gap_narrowed("gap", ([1, 0.1], [1, 2.0]), ([1, 0.1], [1, 1.9]))


def test_tensorflow_pick_device_is_checked_with_a_faked_gpu() -> None:
    import tensorflow as tf

    def right() -> str:
        return "/GPU:0" if tf.config.list_physical_devices("GPU") else "/CPU:0"

    checks.check_pick_device("pick", right, fake=checks.fake_tf_gpu)
    with pytest.raises(CheckFailed, match="pick 'cuda'"):
        checks.check_pick_device("pick", lambda: "/CPU:0", fake=checks.fake_tf_gpu)
    with pytest.raises(CheckFailed, match="without a GPU"):
        checks.check_pick_device(
            "pick",
            lambda: "/GPU:0" if tf.config.list_physical_devices() else "/CPU:0",
            fake=checks.fake_tf_gpu,
        )
    with checks.fake_tf_gpu(True):
        assert [d.device_type for d in tf.config.list_logical_devices("GPU")] == ["GPU"]
    assert all(d.device_type != "GPU" for d in tf.config.list_physical_devices())


class SigmoidInsideForward(torch.nn.Module):
    """One probability per sample, with the sigmoid applied in forward (no Sigmoid module)."""

    def __init__(self, linear: torch.nn.Linear) -> None:
        super().__init__()
        self.linear = linear

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.linear(x))


def test_one_probability_per_sample_is_read_as_a_probability_however_it_is_made() -> None:
    dataset = data.load("blobs")
    torch.manual_seed(0)
    linear = torch.nn.Linear(2, 1)
    optimizer = torch.optim.Adam(linear.parameters(), lr=0.1)
    x, y = torch.tensor(dataset.train.x), torch.tensor(dataset.train.y).float()
    for _ in range(100):
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(linear(x)[:, 0], y)
        loss.backward()
        optimizer.step()
    as_logits = checks.accuracy(linear, dataset.valid.x, dataset.valid.y)
    assert as_logits > 0.85
    wrapped = checks.accuracy(SigmoidInsideForward(linear), dataset.valid.x, dataset.valid.y)
    as_module = checks.accuracy(
        torch.nn.Sequential(linear, torch.nn.Sigmoid()), dataset.valid.x, dataset.valid.y
    )
    assert wrapped == as_module == as_logits


def test_a_model_that_gives_no_predictions_is_told_what_is_accepted() -> None:
    with pytest.raises(CheckFailed, match=r"torch\.nn\.Module, a keras\.Model or a function"):
        checks.accuracy(42, *_hidden())


def test_a_network_without_a_nonlinearity_is_told_it_is_linear() -> None:
    torch.manual_seed(0)
    stacked = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Linear(16, 3))
    with pytest.raises(CheckFailed, match="linear function of its inputs"):
        checks.check_nonlinear("multi", stacked, 4)
    with pytest.raises(CheckFailed, match="linear function"):  # a softmax on top is no help
        checks.check_nonlinear("multi", torch.nn.Sequential(stacked, torch.nn.Softmax(dim=1)), 4)
    for activation in (torch.nn.ReLU(), torch.nn.Tanh(), torch.nn.Sigmoid()):
        torch.manual_seed(0)
        real = torch.nn.Sequential(torch.nn.Linear(4, 16), activation, torch.nn.Linear(16, 3))
        checks.check_nonlinear("multi", real, 4)
    linear_labels = lambda x: stacked(torch.as_tensor(x)).argmax(1).numpy()  # noqa: E731
    with pytest.raises(CheckFailed, match="returns class labels, not class scores"):
        checks.check_nonlinear("multi", linear_labels, 4)


def test_a_keras_network_is_judged_by_what_it_computes() -> None:
    import keras

    def build(hidden: str | None) -> keras.Model:
        keras.utils.set_random_seed(0)
        inputs = keras.Input((4,))
        x = keras.layers.Dense(8, activation=hidden)(inputs)
        return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))

    checks.check_nonlinear("multi", build("relu"), 4)
    with pytest.raises(CheckFailed, match="linear function"):
        checks.check_nonlinear("multi", build(None), 4)


def test_the_exact_keras_network_is_checked_with_its_own_weights() -> None:
    import keras

    def build(first: str | None) -> keras.Model:
        keras.utils.set_random_seed(0)
        return keras.Sequential(
            [
                keras.Input((7,)),
                keras.layers.Dense(64, activation=first),
                keras.layers.Dense(32, activation="relu"),
                keras.layers.Dense(5, activation="softmax"),
            ]
        )

    probe = np.random.default_rng(0).normal(size=(6, 7)).astype(np.float32)
    checks.check_network("net", build("relu"), probe, "relu_relu_softmax")
    with pytest.raises(CheckFailed, match=r"net: the model does not compute softmax\(relu"):
        checks.check_network("net", build("tanh"), probe, "relu_relu_softmax")
    with pytest.raises(CheckFailed, match="has no list of weights"):
        checks.check_network("net", lambda x: x, probe, "relu_relu_softmax")


def test_swapped_loss_lists_are_told_to_put_training_first() -> None:
    plain = ([1.0, 0.1], [1.0, 2.0])
    with pytest.raises(CheckFailed, match="training losses first"):
        checks.check_gap_narrowed("gap", plain, ([1.0, 1.5], [1.0, 0.5]))
