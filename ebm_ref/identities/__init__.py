"""Identities registered for ``ebm-ref verify``, one module per topic.

Every module here is imported by :func:`ebm_ref.identities.registry.load_all`; adding a module is
enough to add its identities.
"""


def __getattr__(name):
    # topic modules load on first use (``ebm_ref.identities.connections``), as ``load_all`` loads them
    import importlib
    import importlib.util

    if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
