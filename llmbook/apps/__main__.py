"""``python -m llmbook.apps "question"``: the same as ``python -m llmbook.apps.ask "question"``."""

import sys

from llmbook.apps.ask import main

sys.exit(main())
