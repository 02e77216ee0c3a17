"""A small mixin shared by the layers: build and rebuild from the shape of the first input only."""

from __future__ import annotations


class SingleInputBuild:
    """Layers whose weights depend only on the shape of their first call argument.

    Keras records the shapes of every tensor argument of the first call (masks, caches, context) and,
    when a saved model is loaded, passes them all to ``build``. These layers take one ``input_shape``
    (everything else comes from the config), so the build config keeps the first shape only.
    """

    def get_build_config(self):
        shapes = getattr(self, "_build_shapes_dict", None)
        if shapes:
            return {"input_shape": tuple(shapes.values())[0]}
        return None

    def build_from_config(self, config):
        shape = (config or {}).get("input_shape")
        if shape is not None:
            self.build(shape)
