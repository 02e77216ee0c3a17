"""llmbook.training.optimizers: step-by-step equality with torch.optim (and Keras for momentum)."""

import numpy as np
import pytest

from llmbook.training.optimizers import SGD, Adam, make_optimizer

torch = pytest.importorskip("torch")


def _run_ours(optimizer, steps=7, seed=0):
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=(3, 4)), rng.normal(size=5)]
    grads_per_step = [[rng.normal(size=p.shape) * (1 + 10 * (i % 2)) for p in params] for i in range(steps)]
    start = [p.copy() for p in params]
    for grads in grads_per_step:
        optimizer.update(params, grads)
    return start, grads_per_step, params


def _run_torch(make, start, grads_per_step):
    tensors = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in start]
    optimizer = make(tensors)
    for grads in grads_per_step:
        for tensor, grad in zip(tensors, grads):
            tensor.grad = torch.tensor(grad, dtype=torch.float64)
        optimizer.step()
    return [t.detach().numpy() for t in tensors]


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda: SGD(0.1), lambda ps: torch.optim.SGD(ps, lr=0.1)),
        (lambda: SGD(0.05, momentum=0.9), lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9)),
        (lambda: make_optimizer("momentum", 0.05), lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9)),
        (lambda: Adam(0.01), lambda ps: torch.optim.Adam(ps, lr=0.01)),
        (lambda: Adam(0.3, beta_1=0.5, beta_2=0.9, epsilon=1e-3),
         lambda ps: torch.optim.Adam(ps, lr=0.3, betas=(0.5, 0.9), eps=1e-3)),
    ],
)
def test_updates_equal_torch(ours, theirs):
    start, grads, ours_after = _run_ours(ours())
    np.testing.assert_allclose(ours_after[0], _run_torch(theirs, start, grads)[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours_after[1], _run_torch(theirs, start, grads)[1], rtol=1e-12, atol=1e-14)


def test_momentum_equals_keras():
    keras = pytest.importorskip("keras")
    # Keras keeps the learning rate and momentum in float32; these two values are exact in float32.
    start, grads, ours_after = _run_ours(SGD(0.0625, momentum=0.875))
    variables = [keras.Variable(p, dtype="float64") for p in start]
    optimizer = keras.optimizers.SGD(learning_rate=0.0625, momentum=0.875)
    for step in grads:
        optimizer.apply_gradients(zip([keras.ops.convert_to_tensor(g, dtype="float64") for g in step], variables))
    for ours, theirs in zip(ours_after, variables):
        np.testing.assert_allclose(ours, keras.ops.convert_to_numpy(theirs), rtol=1e-12, atol=1e-14)


def test_first_adam_step_has_the_size_of_the_learning_rate():
    w = np.array([1.0, -1.0, 2.0])
    Adam(learning_rate=0.1).update([w], [np.array([1e-3, -50.0, 7.0])])
    np.testing.assert_allclose(w, [0.9, -0.9, 1.9], atol=1e-5)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: SGD(0.0), "learning_rate must be a positive number"),
        (lambda: SGD(0.1, momentum=1.0), r"momentum must be in \[0, 1\)"),
        (lambda: Adam(0.1, beta_2=1.0), r"beta_2 must be in \[0, 1\)"),
        (lambda: Adam(0.1, epsilon=0.0), "epsilon must be positive"),
        (lambda: make_optimizer("rmsprop", 0.1), "unknown optimizer 'rmsprop'"),
        (lambda: SGD(0.1).update([np.zeros(2)], []), "1 parameter arrays but 0 gradients"),
        (lambda: SGD(0.1).update([np.zeros(2)], [np.zeros(3)]), r"grads\[0\] has shape \(3,\)"),
        (lambda: SGD(0.1).update([np.zeros(2, dtype=int)], [np.zeros(2)]), "float NumPy array"),
        (lambda: SGD(0.1).update([np.zeros(2)], [np.array([1.0, np.inf])]), "NaN or infinity"),
    ],
)
def test_bad_input_is_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()
