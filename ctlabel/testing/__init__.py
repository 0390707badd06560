"""Generators of test and benchmark inputs: damaged text, preprint PDFs, CT-like images.

Not used by the stages themselves (``bench pdf`` with no input generates a paper).
"""
