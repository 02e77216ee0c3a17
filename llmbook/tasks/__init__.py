"""Tasks with their data, formats, baselines and evaluation, for the chapters that train and measure models.

- :mod:`llmbook.tasks.last_letter` and :mod:`llmbook.tasks.scan`: synthetic tasks for compositional
  generalization, generated from their definitions (no download). Each holds its data generator, its split
  (train on short instances, test on longer ones), the text formats a small model is trained on, and
  exact-match evaluation of the inference procedures compared in Part V: decoding a problem directly, and
  solving it least to most (Zhou et al., 2023).
- :mod:`llmbook.tasks.tagging`: character tagging on People's Daily (word segmentation, named entities):
  clauses and sentences cut from the corpus's lines, and each piece's B/M/E/S and BIO tags, shared by
  chapters 14 and 15 and ``benchmarks/crf.py``.
- :mod:`llmbook.tasks.translation`: German->English translation on the Ding dictionary's sentences, with
  the baselines a practitioner tries first (word by word with the dictionary, and copying the source).
"""
