"""The package's shape: dependencies flow one way, and light subpackages stay light."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "llmbook"

# Each subpackage may import only from the ones listed (and from itself). Lower layers never import
# higher ones: apps -> weights -> models -> layers -> keras.ops; embeddings -> data -> text; everything
# may use the bottom (validation, backend, numerics, gguf_format).
ALLOWED = {
    "validation": set(),
    "backend": set(),
    "numerics": set(),
    "gguf_format": set(),
    "text": {"gguf_format", "validation"},
    "data": {"text", "validation"},
    "layers": {"validation", "backend"},
    "training": {"numerics", "validation"},
    "generation": {"numerics", "validation", "backend", "layers"},  # rotary positions, for shared-prefix caches
    "prompting": {"generation", "validation"},
    "tasks": {"data", "text", "generation", "prompting", "metrics", "validation"},
    "models": {"layers", "text", "validation", "backend"},
    "embeddings": {"data", "text", "validation", "backend"},
    "weights": {"models", "text", "data", "gguf_format", "validation", "backend"},
    "metrics": {"validation"},
    "plot": {"validation"},
    "book": {"training", "validation"},
    "retrieval": {"book", "validation"},  # book: stored glue values; MiniLM is passed in, not imported
    "apps": {"retrieval", "models", "weights", "generation", "book", "validation"},
    "(root)": set(),
}


def imports_of(path: Path) -> set[str]:
    """The llmbook subpackages a module imports, at module level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("llmbook"):
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names if alias.name.startswith("llmbook")]
        for name in names:
            parts = name.split(".")
            found.add(parts[1] if len(parts) > 1 else "(root)")
    return found


def subpackage(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    if len(relative.parts) == 1:
        return "(root)" if relative.name == "__init__.py" else relative.stem
    return relative.parts[0]


def test_dependencies_flow_one_way():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        own = subpackage(path)
        assert own in ALLOWED, f"{path.relative_to(PACKAGE)}: new subpackage {own!r}: add it to ALLOWED with its layer"
        for target in imports_of(path) - {own}:
            if target not in ALLOWED[own]:
                wrong.append(f"{path.relative_to(PACKAGE)} imports llmbook.{target}")
    assert wrong == [], "\n".join(wrong)


def test_the_check_sees_a_wrong_import(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text("def f():\n    from llmbook.models.gpt import GPT\n")
    assert imports_of(module) == {"models"} and "models" not in ALLOWED["layers"]


def test_light_subpackages_do_not_import_keras():
    code = ("import sys, llmbook.data, llmbook.text, llmbook.generation, llmbook.models, llmbook.embeddings, "
            "llmbook.validation, llmbook.backend, llmbook.book, llmbook.prompting\n"
            "from llmbook.generation import top_p_filter, render_chat\n"
            "print(sorted(m for m in ('keras', 'tensorflow', 'torch', 'jax') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
