"""Everything the notebooks and the trainer read: the toy world, the official dataset
layout and metadata, the fast cache, video preparation and the streaming VGGSound subset."""
