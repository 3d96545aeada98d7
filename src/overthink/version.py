"""overthink's version, in a module of its own: the modules that store it (provenance, exports) import it from here,
not from the package, whose `__getattr__` imports the public API (overthink/api.py) and so every layer."""

__version__ = "0.1.0"
