"""Training helpers: seeding, quiet framework logging and data-parallel training."""

from llmbook.training.distributed import (
    compare_in_subprocess,
    configure_cpu_devices,
    make_tf_config,
    scaled_learning_rate,
    train_losses,
    validate_tf_config,
    with_dense_gradients,
)
from llmbook.training.quiet import quiet_tensorflow, silenced_stderr
from llmbook.training.seeding import set_seed

__all__ = [
    "compare_in_subprocess",
    "configure_cpu_devices",
    "make_tf_config",
    "quiet_tensorflow",
    "scaled_learning_rate",
    "set_seed",
    "silenced_stderr",
    "train_losses",
    "validate_tf_config",
    "with_dense_gradients",
]
