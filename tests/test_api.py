"""The public API's verbs stay the functions they are documented to be."""

from __future__ import annotations

import importlib
import pkgutil

import checker


def test_verbs_survive_importing_every_submodule():
    # A submodule named like a verb would replace the verb on the package when imported.
    for mod in pkgutil.walk_packages(checker.__path__, "checker."):
        importlib.import_module(mod.name)
    for verb in ("check", "fix", "idphoto", "layout", "list_specs", "load_spec", "read_photo"):
        assert callable(getattr(checker, verb)) and not hasattr(getattr(checker, verb), "__path__"), verb
        assert getattr(checker, verb).__module__ in ("checker", "checker.specs"), verb
    assert checker.FixOptions().align is True
