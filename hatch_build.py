"""Build hook: compile the C stems (digest/text/_stems.c) beside their pure-Python reference.

The extension only makes the summarizer faster; without a C compiler the build goes on
with a warning and digest uses the Python stems, which give the same output."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class StemsBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        try:
            built = _compile(Path(self.root))
        except Exception as error:  # no compiler, no headers: the Python stems still work
            self.app.display_warning(
                f"digest: the C stems were not built ({error}); the Python ones are used"
            )
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if version != "editable":  # an editable install imports the file where it was built
            build_data["force_include"][str(built)] = f"digest/{built.name}"


def _compile(root: Path) -> Path:
    """Build digest/text/_stems.c in place with setuptools' compiler settings for this Python."""
    from setuptools import Distribution, Extension
    from setuptools.command.build_ext import build_ext

    here = Path.cwd()
    os.chdir(root)
    try:
        extension = Extension("digest.text._stems", ["digest/text/_stems.c"])
        command = build_ext(Distribution({"name": "digest", "ext_modules": [extension]}))
        command.inplace = True
        command.ensure_finalized()
        command.run()
        return root / command.get_ext_fullpath("digest.text._stems")
    finally:
        os.chdir(here)
