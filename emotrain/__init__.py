"""emotrain: multi-label emotion recognition (Demux) with label-correlation regularizers.

The whole library is one call: ``train(config, report=None) -> TrainResult``.
"""

from emotrain.config import TrainConfig
from emotrain.training import TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "train"]
