"""One module per API resource, each a thin layer over the generated operations."""
