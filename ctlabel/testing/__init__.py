"""Generators of test and benchmark inputs (damaged text); not used by the stages themselves."""
