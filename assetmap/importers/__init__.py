"""Importers for the official files as published. Each maps columns by their official header names,
runs in one transaction, and returns an ImportReport."""
