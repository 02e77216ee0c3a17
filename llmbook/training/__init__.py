"""Training helpers: seeding and quiet framework logging."""

from llmbook.training.seeding import quiet_tensorflow, set_seed

__all__ = ["quiet_tensorflow", "set_seed"]
