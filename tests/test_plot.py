"""llmbook.plot: the shared figure helpers draw what they are given and refuse what they cannot draw."""

import matplotlib

matplotlib.use("Agg")  # tests only; the chapters keep the inline backend

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from llmbook.models.neuron import ACTIVATIONS  # noqa: E402
from llmbook.plot import draw_arrow, draw_stack, plot_curves, plot_functions_with_derivatives  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_plot_curves_draws_each_curve_with_its_data():
    curves = {"sgd": [1.0, 0.5, 0.25], "adam": [1.0, 0.1, 0.01]}
    ax = plot_curves(curves, xlabel="epoch", ylabel="loss", log_y=True, title="t")
    assert [line.get_label() for line in ax.get_lines()] == ["sgd", "adam"]
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), [1.0, 0.1, 0.01])
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "epoch" and ax.get_title() == "t"
    ax = plot_curves({"a": [3.0, 4.0]}, x=[10, 20])
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [10, 20])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(curves={}), "curves is empty"),
        (dict(curves={"a": []}), "has no values"),
        (dict(curves={"a": [1.0, 0.0]}, log_y=True), "log axis"),
        (dict(curves={"a": [1.0, 2.0]}, x=[1, 2, 3]), "has 2 values but x has 3"),
    ],
)
def test_plot_curves_refuses_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot_curves(**kwargs)


def test_functions_with_derivatives_plots_both_panels():
    fig = plot_functions_with_derivatives(ACTIVATIONS)
    left, right = fig.axes
    assert [line.get_label() for line in left.get_lines() if not line.get_label().startswith("_")] == list(ACTIVATIONS)
    relu_slope = [line for line in right.get_lines() if line.get_label() == "relu"][0]
    assert set(np.unique(relu_slope.get_ydata())) == {0.0, 1.0}
    with pytest.raises(ValueError, match="functions is empty"):
        plot_functions_with_derivatives({})
    with pytest.raises(ValueError, match="shaped like x"):
        plot_functions_with_derivatives({"bad": (lambda x: x[:3], lambda x: x)})


def test_draw_stack_places_boxes_bottom_up_and_links_them():
    fig, ax = plt.subplots()
    boxes = draw_stack(ax, ["tokens", "embedding", "block", "head"], x=0.5, frame=(2, 2, "x N"))
    assert [b.label for b in boxes] == ["tokens", "embedding", "block", "head"]
    assert all(lower.top < upper.bottom for lower, upper in zip(boxes, boxes[1:]))
    assert boxes[0].center[0] == pytest.approx(0.5)
    assert len(ax.patches) == 4 + 1  # four boxes and the dashed frame
    assert sum(1 for t in ax.texts if t.get_text() == "x N") == 1
    arrows_before = len(ax.texts)
    draw_arrow(ax, boxes[0].center, boxes[-1].center, text="skip")
    assert len(ax.texts) == arrows_before + 2  # the arrow annotation and its label


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(labels=[]), "labels is empty"),
        (dict(labels=["a", "b"], colors=["red"]), "2 labels but 1 colours"),
        (dict(labels=["a", "b"], frame=(1, 2, "x N")), "outside the 2 boxes"),
    ],
)
def test_draw_stack_refuses_bad_input(kwargs, message):
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match=message):
        draw_stack(ax, x=0.5, **kwargs)
