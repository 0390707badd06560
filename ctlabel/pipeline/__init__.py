"""Pipelines: the four stages run from one TOML file, each skipped when its outputs are current."""
