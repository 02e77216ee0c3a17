"""The API reference page (book/api.md) documents every module of the package, and nothing else."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def package_modules() -> set[str]:
    names = set()
    for path in (ROOT / "llmbook").rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.add(".".join(parts))
    return names


def documented_modules() -> list[str]:
    return re.findall(r"^\.\. automodule:: (\S+)$", (ROOT / "book" / "api.md").read_text(encoding="utf-8"), re.M)


def test_every_module_is_documented_once():
    documented = documented_modules()
    assert len(documented) == len(set(documented)), "a module is documented twice in book/api.md"
    missing = package_modules() - set(documented)
    assert not missing, f"add these modules to book/api.md (one automodule block each): {sorted(missing)}"
    stale = set(documented) - package_modules()
    assert not stale, f"book/api.md documents modules that no longer exist: {sorted(stale)}"


def test_the_page_is_in_the_table_of_contents():
    assert "file: book/api" in (ROOT / "_toc.yml").read_text(encoding="utf-8")
