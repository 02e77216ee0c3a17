"""The book's Sphinx extension: link the API reference's names as readers import them, and clean the pages.

**Names.** The docstrings name objects the way a reader imports them: ``llmbook.models.LlamaDecoder`` (a package
re-export) or ``BertEncoder`` (a name of the same package). The API reference documents each object once,
in the module that defines it (``llmbook.models.llama.LlamaDecoder``), so Sphinx would not find those names.
This handler looks a missing ``py`` reference up by its last component among the documented objects and
links it when exactly one object matches (within the package it names, if it names one). An ambiguous or
unknown name stays a warning, which ``jupyter-book build -W`` turns into an error.

**Pages.** Jupyter Book 1's thebe extension writes its inline configuration script twice into every page,
and the second copy is a JavaScript error in the reader's browser (a ``const`` declared twice). The book
does not use thebe; the handler keeps the first copy of any script a page lists twice (an inline
script's file name is ``None`` or ``""``, depending on which extension added it).
"""

from __future__ import annotations


def _resolve(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    if not target or " " in target:
        return None
    domain = env.get_domain("py")
    last = target.rsplit(".", 1)[-1]
    prefix = target.rsplit(".", 1)[0] + "." if "." in target else ""
    candidates = [name for name in domain.objects if name.rsplit(".", 1)[-1] == last and name.startswith("llmbook.")]
    if prefix:
        candidates = [name for name in candidates if name.startswith(prefix)]
    else:
        module = node.get("py:module") or ""
        package = module.rsplit(".", 1)[0] if module.count(".") > 1 else module
        inside = [name for name in candidates if package and name.startswith(package + ".")]
        candidates = inside or candidates
    if len(candidates) != 1:
        return None
    return domain.resolve_xref(env, node.get("refdoc", ""), app.builder, node["reftype"], candidates[0], node, contnode)


def _unique_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = (getattr(script, "filename", script) or "", repr(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app):
    app.connect("missing-reference", _resolve)
    app.connect("html-page-context", _unique_scripts, priority=100)  # before any handler that returns a template
    return {"parallel_read_safe": True, "parallel_write_safe": True}

