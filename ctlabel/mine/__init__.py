"""Mining: captions and radiology text → COVID flag and lesion states with evidence.

The package is also the API's ``ctlabel.mine(df, …)``: once imported, a subpackage is its
parent's attribute of the same name, so the package itself is callable (see ``ctlabel.api.mine``).
"""

import sys
from types import ModuleType
from typing import Any

from ctlabel.mine.miner import Miner

__all__ = ["Miner"]


class _CallableModule(ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """``ctlabel.mine(df, text_cols=[…], id_col=…)``: :func:`ctlabel.api.mine`."""
        from ctlabel.api import mine

        return mine(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
