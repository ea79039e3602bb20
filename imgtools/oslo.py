"""oslo.utils' ``format_inspector``, imported without the cost of its package's ``__init__``.

``oslo_utils/imageutils/__init__.py`` imports ``QemuImgInfo``, whose module
imports ``oslo_utils.strutils``, which compiles some 480 regular expressions
at import: 40-85 ms, half of a conversion's start-up, for a class imgtools
never uses.  So when nothing has imported the package yet, it is registered
without running its ``__init__``; the first attribute asked of it that is not
a submodule (``QemuImgInfo``, ``__all__``) runs the real ``__init__`` then, so
code in the same process that uses the package still finds everything.
"""

from __future__ import annotations

import importlib.util
import sys

PACKAGE = "oslo_utils.imageutils"


def _register_deferred_package() -> None:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.loader is None:
        return  # not installed: the import below says so
    package = importlib.util.module_from_spec(spec)  # __path__ set, __init__ not run

    def __getattr__(name: str):  # PEP 562: called only for attributes the module lacks
        if importlib.util.find_spec(f"{PACKAGE}.{name}") is not None:
            raise AttributeError(name)  # a submodule: the import system loads it by itself
        package.__dict__.pop("__getattr__", None)
        spec.loader.exec_module(package)
        try:
            return package.__dict__[name]
        except KeyError:
            raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}") from None

    package.__getattr__ = __getattr__
    sys.modules[PACKAGE] = package
    setattr(sys.modules["oslo_utils"], "imageutils", package)


if PACKAGE not in sys.modules:
    _register_deferred_package()

from oslo_utils.imageutils import format_inspector  # noqa: E402  (after the registration above)

__all__ = ["format_inspector"]
