"""``python -m llmbook.apps "question"``: the same as ``python -m llmbook.apps.ask "question"``.

Importing this module (as the API reference does) runs nothing; only ``python -m`` does.
"""

import sys

from llmbook.apps.ask import main

if __name__ == "__main__":
    sys.exit(main())
