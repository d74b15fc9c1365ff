"""The one rule by which ctrflow finds its plugins: jobs, feature stages and CTR models.

A plugin kind is a package; every module of it whose name does not start with `_` (and is not in the
kind's `skip`) is a plugin module, so adding a plugin is adding a file. A plugin has a name, either the
module's own (jobs: `Plugins.module`) or the one its class registers with `@plugins.register("name")`
(stages, models); a name defined by two modules is refused with one line naming both.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Generic, TypeVar

T = TypeVar("T")


class DuplicatePlugin(ValueError):
    """Two modules define a plugin of the same kind and name."""


class Plugins(Generic[T]):
    """The plugins of one kind: `registered` maps a name to its plugin (a class, or a module)."""

    def __init__(self, kind: str, package: str, *, skip: Iterable[str] = (), name_attr: str | None = None):
        self.kind, self.package, self.skip = kind, package, frozenset(skip)
        self.name_attr = name_attr  # the class attribute `register` sets to the plugin's name
        self.registered: dict[str, T] = {}
        self._modules: dict[str, str] = {}  # plugin name -> the module that defined it
        self._loaded = False

    def module_names(self) -> list[str]:
        """The plugin modules of the package (not imported)."""
        pkg = importlib.import_module(self.package)
        return sorted(
            m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_") and m.name not in self.skip
        )

    def add(self, name: str, plugin: T, module: str) -> T:
        """Register `plugin` as `name`, defined in `module`; another module's plugin of that name is refused."""
        other = self._modules.get(name)
        if other is not None and other != module:
            raise DuplicatePlugin(f"{self.kind} '{name}' is defined twice: in {other} and in {module}")
        self.registered[name], self._modules[name] = plugin, module
        return plugin

    def register(self, name: str) -> Callable[[type], type]:
        """Class decorator: the class is the plugin `name` (its `name_attr` is set to the name)."""

        def deco(cls: type) -> type:
            self.add(name, cls, cls.__module__)
            if self.name_attr:
                setattr(cls, self.name_attr, name)
            return cls

        return deco

    def module(self, name: str) -> ModuleType:
        """Import the plugin module `name` and register it under its own name (plugins that are modules)."""
        mod = importlib.import_module(f"{self.package}.{name}")
        return self.add(name, mod, mod.__name__)

    def load(self) -> dict[str, T]:
        """Import every plugin module once (their decorators register them); the registered plugins."""
        if not self._loaded:
            for name in self.module_names():
                importlib.import_module(f"{self.package}.{name}")
            self._loaded = True
        return self.registered

    def names(self) -> list[str]:
        return sorted(self.load())

    @contextmanager
    def restoring(self) -> Iterator[Plugins[T]]:
        """Registrations made inside are dropped on exit (for tests and docs examples)."""
        self.load()  # what loading registers stays: its modules are imported once
        saved = dict(self.registered), dict(self._modules)
        try:
            yield self
        finally:
            self.registered.clear()
            self.registered.update(saved[0])
            self._modules.clear()
            self._modules.update(saved[1])
