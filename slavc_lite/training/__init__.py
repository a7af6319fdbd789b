"""The training engine: configurations and presets, the resumable training loop, distributed
data parallelism, and the toy-world object pretraining that stands in for ImageNet offline."""
