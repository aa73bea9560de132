"""What the CPU can do for the optional neural stages (restore/mlm.py, restore/clm.py).

On a CPU with native bfloat16 units (AMX or AVX512-BF16) a transformer runs several times faster in
bfloat16 than in float32, and a sentence's log-probability moves by a few hundredths of a nat; on a
CPU without them bfloat16 is emulated and slower than float32. ``RESTORE_FP32=1`` keeps float32
anyway (to compare the two, or to rule bfloat16 out when a figure looks wrong).
"""

from __future__ import annotations

import os

FP32_ENV = "RESTORE_FP32"
_LEGACY_FP32_ENV = "RESTORE_MLM_FP32"  # the masked-LM stage's name for it before the causal LM shared it


def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AMX or AVX512-BF16) and float32 is not asked for."""
    if os.environ.get(FP32_ENV) or os.environ.get(_LEGACY_FP32_ENV):
        return False
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"amx_bf16", "avx512_bf16"})
    except OSError:
        pass
    return False
