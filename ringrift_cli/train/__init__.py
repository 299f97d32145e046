"""Training: datasets streamed from NPZ shards, the training loop, its checkpoints."""
