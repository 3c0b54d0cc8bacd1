"""Identities registered for ``ebm-ref verify``, one module per topic.

Every module here is imported by :func:`ebm_ref.identities.registry.load_all`; adding a module is
enough to add its identities.
"""
from .._submodules import lazy_getattr

# topic modules load on first use (``ebm_ref.identities.connections``), as ``load_all`` loads them
__getattr__ = lazy_getattr(__name__)
