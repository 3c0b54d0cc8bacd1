"""Identities registered for ``ebm-ref verify``, one module per topic.

Every module here is imported by :func:`ebm_ref.identities.registry.load_all`; adding a module is
enough to add its identities.
"""
