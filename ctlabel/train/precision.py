"""Where bfloat16 autocast pays off, and the memory layout and autocast context that use it."""

from __future__ import annotations

import contextlib
from functools import cache
from pathlib import Path
from typing import Any

import torch

FAST_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


@cache
def cpu_bf16_units() -> list[str]:
    """The CPU's bfloat16 instruction sets (AMX, AVX-512 BF16) that this machine reports."""
    get = getattr(torch.cpu, "get_capabilities", None)
    if get is not None:
        caps = get()
        return [f for f in FAST_BF16_FLAGS if caps.get(f)]
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return []
    return [f for f in FAST_BF16_FLAGS if f in flags]


def resolve_amp(amp: bool | None, device: torch.device) -> bool:
    """bf16 autocast when asked; by default where the chip has fast bf16 (a bf16 GPU, AMX or AVX-512 BF16)."""
    if amp is not None:
        return amp
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool(cpu_bf16_units())


def autocast(device: torch.device, amp: bool) -> contextlib.AbstractContextManager[Any]:
    """A bfloat16 autocast context for ``device``'s type, enabled only when ``amp``."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp)


def memory_format(channels_last: bool) -> torch.memory_format:
    """``torch.channels_last`` when ``channels_last``, else ``torch.contiguous_format``."""
    return torch.channels_last if channels_last else torch.contiguous_format


def describe(device: torch.device, amp: bool, channels_last: bool) -> dict[str, Any]:
    """What ran, for config.json and the benchmark."""
    return {
        "device": device.type,
        "amp": amp,
        "dtype": "bfloat16" if amp else "float32",
        "channels_last": channels_last,
        "cpu_bf16_units": cpu_bf16_units(),
    }
