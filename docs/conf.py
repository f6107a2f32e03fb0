"""Sphinx configuration of skfedmia's documentation.

Build it with ``python -m sphinx -W --keep-going -b html docs docs/_build/html``. The user
guide is the Markdown in ``docs/`` (MyST), the API reference is generated from the
``__all__`` lists of ``skfedmia`` and its subpackages (see ``_write_api_reference``), and
the gallery is built from ``examples/`` with the examples' short settings.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # document this checkout's skfedmia

# the gallery runs every example with its short settings, on one thread, without a display
os.environ["SKFEDMIA_QUICK"] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import skfedmia  # noqa: E402

project = "skfedmia"
author = "skfedmia developers"
copyright = "skfedmia developers"  # noqa: A001
release = version = skfedmia.__version__

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path = ["_templates"]

# -- MyST: the Markdown guide is used as it is -------------------------------------------
myst_heading_anchors = 3

# -- API reference -------------------------------------------------------------------
autosummary_generate = True
autodoc_typehints = "none"
autodoc_default_options = {"member-order": "groupwise"}
numpydoc_show_class_members = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False
# numpydoc's docstring checks: all of them except those the code base does not follow yet
# (sections that are optional here, descriptions of obvious parameters and returns)
numpydoc_validation_checks = {
    "all",
    "ES01",  # no extended summary
    "EX01",  # no Examples section (required of public classes and functions by the tests)
    "GL08",  # no docstring (callback methods documented on their base class)
    "PR07",  # a parameter without description
    "PR08",  # a parameter description starting in lower case
    "RT01",  # no Returns section
    "RT02",  # the first Returns line with a name
    "RT03",  # a return value without description
    "SA01",  # no See Also section
    "SA03",  # a See Also description in lower case
    "SA04",  # a See Also reference without description
    "SS05",  # a summary starting with a third-person verb
    "YD01",  # no Yields section
}

# -- gallery -------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "reset_modules": ("matplotlib",),
    "plot_gallery": "True",
    "abort_on_example_error": True,
    "show_memory": False,
    "doc_module": ("skfedmia",),
    "backreferences_dir": "gen_modules/backreferences",
}

# -- HTML ----------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skfedmia {release}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
html_static_path: list[str] = []

# Sphinx-gallery's matplotlib runs non-interactive; examples end with plt.show()
warnings.filterwarnings("ignore", message="FigureCanvasAgg is non-interactive")


# -- the API reference, written from the packages' __all__ ----------------------------
def _public_packages():
    """skfedmia and every subpackage that declares ``__all__``."""
    packages = [skfedmia]
    for info in pkgutil.walk_packages(skfedmia.__path__, prefix="skfedmia."):
        if info.ispkg and not any(part.startswith("_") for part in info.name.split(".")):
            module = importlib.import_module(info.name)
            if hasattr(module, "__all__"):
                packages.append(module)
    return packages


def _home(obj, name, packages):
    """The package an object is documented under: the most specific one exporting it."""
    exporting = [p for p in packages if name in p.__all__]
    module = getattr(obj, "__module__", None) or ""
    owners = [p for p in exporting if module.startswith(p.__name__ + ".")]
    return max(owners or exporting, key=lambda p: p.__name__.count("."))


def _data_comment(package, name):
    """The ``#:`` comment above a constant's assignment in one of the package's modules."""
    from sphinx.pycode import ModuleAnalyzer

    for info in pkgutil.iter_modules(package.__path__, prefix=package.__name__ + "."):
        try:
            docs = ModuleAnalyzer.for_module(info.name).find_attr_docs()
        except Exception:  # noqa: BLE001 - a module without source
            continue
        if ("", name) in docs:
            return " ".join(line.strip() for line in docs["", name] if line.strip())
    return ""


def _write_api_reference(out):
    packages = _public_packages()
    homes = {}
    for package in packages:
        for name in package.__all__:
            obj = getattr(package, name)
            if inspect.ismodule(obj) or name.startswith("__"):
                continue
            homes.setdefault(name, _home(obj, name, packages))
    lines = [
        "API reference",
        "=============",
        "",
        "Every public name of :mod:`skfedmia` and its subpackages, as listed in their",
        "``__all__``. Names that a package re-exports from a subpackage are documented once,",
        "under the subpackage, and linked from the others.",
        "",
    ]
    for package in packages:
        title = f":mod:`{package.__name__}`"
        doc = inspect.getdoc(package) or ""
        lines += [title, "-" * len(title), "", f".. automodule:: {package.__name__}"]
        lines += ["   :no-members:", "   :no-index:", ""] if doc else [""]
        own = [n for n in package.__all__ if homes.get(n) is package]
        callables = [n for n in own if callable(getattr(package, n))]
        constants = [n for n in own if n not in callables]
        if callables:
            lines += [
                f".. currentmodule:: {package.__name__}",
                "",
                ".. autosummary::",
                "   :toctree: generated/",
                "   :template: autosummary/object.rst",
                "",
                *[f"   {n}" for n in sorted(callables, key=str.lower)],
                "",
            ]
        for name in constants:
            value = getattr(package, name)
            text = _data_comment(package, name)
            lines += [f".. py:data:: {package.__name__}.{name}", ""]
            if isinstance(value, tuple | frozenset | str) and len(repr(value)) < 80:
                lines += [f"   :value: {value!r}", ""]
            lines += [f"   {text}" if text else "   A constant of this module.", ""]
        elsewhere = [n for n in package.__all__ if n in homes and homes[n] is not package]
        if elsewhere:
            lines += ["Also exported here:", ""]
            for name in sorted(elsewhere, key=str.lower):
                target = f"{homes[name].__name__}.{name}"
                lines.append(f"- :py:obj:`{package.__name__}.{name} <{target}>`")
            lines.append("")
    out.mkdir(parents=True, exist_ok=True)
    text = "\n".join(lines) + "\n"
    index = out / "index.rst"
    if not index.exists() or index.read_text() != text:  # unchanged: no rebuild
        index.write_text(text)


_write_api_reference(HERE / "api")


def _skip_sklearn_routing(app, what, name, obj, skip, options):
    """Leave out scikit-learn's metadata-routing methods, which every estimator inherits."""
    if name == "get_metadata_routing" or (name.startswith("set_") and name.endswith("_request")):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_sklearn_routing)
