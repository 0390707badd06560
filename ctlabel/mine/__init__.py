"""Mining: captions and radiology text → COVID flag and lesion states with evidence."""

from ctlabel.mine.miner import Miner

__all__ = ["Miner"]
