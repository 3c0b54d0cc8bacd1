"""Training objectives, one module per method, each written as its derivation."""
