"""Identities registered for ``ebm-ref verify``, one module per topic.

Every module here is imported by :func:`ebm_ref.verify.load_all`; adding a module is
enough to add its identities.
"""
