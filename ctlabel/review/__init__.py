"""Review: machine labels into Label Studio as pre-annotations, human decisions back."""
