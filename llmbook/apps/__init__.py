"""Applications built from the package's parts: ``python -m llmbook.apps.ask "question"`` answers
from the book's own pages (:mod:`llmbook.apps.ask`); :mod:`llmbook.apps.dialogue` is a chat assistant
with a token-budget memory."""
