"""llmbook.training: seeding and quiet logging."""

import os
import random
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import llmbook
from llmbook.training import quiet_tensorflow, set_seed


def test_set_seed_makes_python_and_numpy_repeatable():
    generator = set_seed(123)
    first = (random.random(), np.random.rand(), generator.random())
    generator = set_seed(123)
    assert (random.random(), np.random.rand(), generator.random()) == first
    set_seed(124)
    assert random.random() != first[0]


def test_set_seed_seeds_keras_when_asked():
    import keras

    def fresh_weights():
        layer = keras.layers.Dense(4)
        layer.build((None, 3))
        return keras.ops.convert_to_numpy(layer.kernel)

    set_seed(5, keras=True)
    first = fresh_weights()
    set_seed(5)  # keras is imported now, so the default seeds it too
    np.testing.assert_array_equal(first, fresh_weights())
    set_seed(6)
    assert not np.array_equal(first, fresh_weights())


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True, None])
def test_bad_seed(seed):
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        set_seed(seed)


def test_quiet_tensorflow_sets_the_level_and_checks_it(monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    quiet_tensorflow(2)
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "2"
    assert sys.modules["tensorflow"].get_logger().level >= 40
    with pytest.raises(ValueError, match="level must be 0, 1, 2 or 3"):
        quiet_tensorflow(4)


def test_importing_llmbook_changes_no_global_state():
    """No environment variable, warnings filter or Keras backend is set by importing the package or
    any subpackage; only llmbook.book.setup_chapter() does that, when a chapter asks."""
    import subprocess

    code = (
        "import os, warnings, sys; before = dict(os.environ); filters = list(warnings.filters)\n"
        "import llmbook, llmbook.data, llmbook.text, llmbook.book, llmbook.training\n"
        "assert dict(os.environ) == before, set(os.environ.items()) ^ set(before.items())\n"
        # Third-party imports add filters of their own (numpy ABI notices); llmbook adds none.
        "assert not any('IProgress' in str(f[1]) for f in warnings.filters)\n"
        # These import TensorFlow, which sets variables of its own (TF2_BEHAVIOR, TF_CPP_MIN_LOG_LEVEL, ...):
        # none of ours.
        "import llmbook.generation, llmbook.models.gpt, llmbook.embeddings.word2vec\n"
        "ours = ('KERAS_BACKEND', 'TQDM_DISABLE', 'HF_HUB_DISABLE_PROGRESS_BARS')\n"
        "assert not [k for k in ours if k in os.environ], [k for k in ours if k in os.environ]\n"
        "assert not any('IProgress' in str(f[1]) for f in warnings.filters)\n"
        "from llmbook.book import setup_chapter; setup_chapter(tensorflow=False)\n"
        "print(os.environ['KERAS_BACKEND'], os.environ['TQDM_DISABLE'])"
    )
    env = {k: v for k, v in os.environ.items()
           if k not in ("KERAS_BACKEND", "TQDM_DISABLE", "HF_HUB_DISABLE_PROGRESS_BARS", "TF_CPP_MIN_LOG_LEVEL")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    package = Path(llmbook.__file__).parent
    setters = [str(path.relative_to(package)) for path in package.rglob("*.py")
               if re.search(r"warnings\.(filterwarnings|simplefilter)|os\.environ\[[^]]+\]\s*=|os\.environ\.setdefault",
                            path.read_text()) and path.name not in ("book.py", "seeding.py", "quiet.py")]
    assert setters == [], f"global state set outside setup_chapter, set_seed and quiet_tensorflow: {setters}"
    assert out.stdout.split() == ["tensorflow", "1"]


def test_first_tensorflow_import_through_llmbook_writes_nothing_to_stderr():
    import subprocess

    for first_import in ("from llmbook.training import quiet_tensorflow; quiet_tensorflow()",
                         "from llmbook.training import set_seed; set_seed(0, keras=True)"):
        code = f"import llmbook; {first_import}; import keras; keras.ops.add(1, 2); print('ok')"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "ok" and out.stderr == "", out.stderr
