"""Synthetic tasks for compositional generalization, generated from their definitions (no download).

Each task module holds its data generator, its split (train on short instances, test on longer ones),
the text formats a small model is trained on, and exact-match evaluation of the inference procedures
compared in Part V: decoding a problem directly, and solving it least to most (Zhou et al., 2023).
"""
