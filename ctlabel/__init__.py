"""ctlabel: chest-CT text to training labels, reviewed, exported and trained on."""

__version__ = "0.1.0"
