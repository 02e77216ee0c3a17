"""Training helpers: seeding and quiet framework logging."""

from llmbook.training.quiet import quiet_tensorflow, silenced_stderr
from llmbook.training.seeding import set_seed

__all__ = ["quiet_tensorflow", "set_seed", "silenced_stderr"]
