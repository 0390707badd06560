"""Export: records → the label files the trainer reads, with splits, validation and diffs."""
