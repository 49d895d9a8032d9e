"""ctypes binding of the kernel library's C ABI (include/qk/Runtime/QKNormRuntime.h).

    lib = qk.runtime.load("host")      # libqk_runtime_host.so; "cuda" for libqk_runtime_cuda.so
    lib.fused_rms_norm(dtype, in_ptr, in_stride, out_ptr, out_stride, num_tokens, ranges, stream)
    lib.fused_rms_norm_rope(dtype, in_ptr, in_stride, out_ptr, out_stride, num_tokens, ranges,
                            rope, rotated_ranges, stream)   # ABI 3 (docs/rope-abi.md), if lib.has_rope

Errors raise `RuntimeLibraryError` carrying the status and `qk_last_error_message()`.
"""

import ctypes
import threading
from typing import Dict, Optional, Sequence, Tuple

from . import _abi_rows, _discovery

ABI_VERSION = 3  # QK_RUNTIME_ABI_VERSION of include/qk/Runtime/QKNormRuntime.h (test_codes.py)
MAX_RANGES = 4

DTYPE_F32, DTYPE_F16, DTYPE_BF16 = 0, 1, 2
ROUNDING_ONCE, ROUNDING_BEFORE_WEIGHT = 0, 1
# ABI version 3 (docs/rope-abi.md): the rotation's style and rounding, the dtype of positions
ROPE_STYLE_NEOX, ROPE_STYLE_GPTJ = 0, 1
ROPE_ROUNDING_PER_OP, ROPE_ROUNDING_ONCE = 0, 1
INDEX_I32, INDEX_I64 = 0, 1
ROPE_STYLES = {"neox": ROPE_STYLE_NEOX, "gptj": ROPE_STYLE_GPTJ}
ROPE_ROUNDINGS = {"per_op": ROPE_ROUNDING_PER_OP, "once": ROPE_ROUNDING_ONCE}
STATUS_NAMES = {0: "ok", 1: "invalid argument", 2: "unsupported", 3: "device error"}


class NormRange(ctypes.Structure):
    """qk_norm_range_t"""
    # generated from the ODS of #qk.rms (QK_AbiRow in QKAttrs.td), like the C struct
    _fields_ = _abi_rows.NORM_RANGE_FIELDS

    def __repr__(self):
        return (f"NormRange(column_offset={self.column_offset}, num_groups={self.num_groups}, "
                f"group_size={self.group_size}, group_stride={self.group_stride}, "
                f"weight={'set' if self.weight else None}, weight_dtype={self.weight_dtype}, "
                f"epsilon={self.epsilon:g}, weight_offset={self.weight_offset:g}, rounding={self.rounding})")


class Rope(ctypes.Structure):
    """qk_rope_t (ABI version 3, docs/rope-abi.md)"""
    # generated from the ODS of #qk.rope (QK_AbiRow in QKAttrs.td), like the C struct
    _fields_ = _abi_rows.ROPE_FIELDS

    def __repr__(self):
        return (f"Rope(style={self.style}, rounding={self.rounding}, before_norm={self.before_norm}, "
                f"per_pair={self.per_pair}, head_dim={self.head_dim}, rotary_dim={self.rotary_dim}, "
                f"table_dtype={self.table_dtype}, table_rows={self.table_rows}, "
                f"table_columns={self.table_columns}, cos_row_stride={self.cos_row_stride}, "
                f"sin_row_stride={self.sin_row_stride}, cos_column={self.cos_column}, "
                f"sin_column={self.sin_column}, positions={'set' if self.positions else None}, "
                f"positions_dtype={self.positions_dtype})")


class RuntimeLibraryError(RuntimeError):
    def __init__(self, status: int, message: str, runtime: str):
        self.status = status
        self.runtime_message = message
        self.runtime = runtime
        super().__init__(f"qk runtime ({runtime}): {STATUS_NAMES.get(status, f'status {status}')}: {message}")


class RuntimeLibrary:
    def __init__(self, path):
        self.path = str(path)
        self._lib = ctypes.CDLL(self.path)
        f = self._lib.qk_fused_rms_norm
        f.restype = ctypes.c_int
        f.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64,
                      ctypes.c_int64, ctypes.POINTER(NormRange), ctypes.c_int32, ctypes.c_void_p]
        self._fn = f
        # ABI version 3: absent from older builds (has_rope False; qk.ops then runs its reference
        # on the CPU and raises on CUDA)
        try:
            fr = self._lib.qk_fused_rms_norm_rope
        except AttributeError:
            fr = None
        if fr is not None:
            fr.restype = ctypes.c_int
            fr.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64,
                           ctypes.c_int64, ctypes.POINTER(NormRange), ctypes.c_int32, ctypes.POINTER(Rope),
                           ctypes.c_uint32, ctypes.c_void_p]
        self._rope_fn = fr
        self.has_rope = fr is not None
        self._lib.qk_last_error_message.restype = ctypes.c_char_p
        self._lib.qk_last_error_message.argtypes = []
        self._lib.qk_runtime_name.restype = ctypes.c_char_p
        self._lib.qk_runtime_name.argtypes = []
        self.name = self._lib.qk_runtime_name().decode()

    def entry_points(self) -> Tuple[int, int]:
        """Addresses of qk_fused_rms_norm and qk_last_error_message (for the native torch op, which
        calls them directly; the library stays loaded while this object lives: qk.runtime.load
        keeps it)."""
        return (ctypes.cast(self._fn, ctypes.c_void_p).value,
                ctypes.cast(self._lib.qk_last_error_message, ctypes.c_void_p).value)

    def rope_entry_point(self) -> int:
        """Address of qk_fused_rms_norm_rope, or 0 when this library predates ABI version 3."""
        return ctypes.cast(self._rope_fn, ctypes.c_void_p).value if self._rope_fn is not None else 0

    def last_error_message(self) -> str:
        return (self._lib.qk_last_error_message() or b"").decode(errors="replace")

    def fused_rms_norm(self, dtype: int, in_ptr: int, in_token_stride: int, out_ptr: int,
                       out_token_stride: int, num_tokens: int, ranges: Sequence[NormRange],
                       stream: Optional[int] = None) -> None:
        n = len(ranges)
        arr = (NormRange * max(n, 1))(*ranges)
        status = self._fn(dtype, in_ptr or None, in_token_stride, out_ptr or None, out_token_stride, num_tokens,
                          arr, n, stream or None)
        if status != 0:
            # the message is thread-local in the library and read right after the call
            raise RuntimeLibraryError(status, self.last_error_message(), self.name)


    def fused_rms_norm_rope(self, dtype: int, in_ptr: int, in_token_stride: int, out_ptr: int,
                            out_token_stride: int, num_tokens: int, ranges: Sequence[NormRange],
                            rope: Optional[Rope], rotated_ranges: int, stream: Optional[int] = None) -> None:
        if self._rope_fn is None:
            raise RuntimeLibraryError(2, f"{self.path} has no qk_fused_rms_norm_rope (ABI version 3)", self.name)
        n = len(ranges)
        arr = (NormRange * max(n, 1))(*ranges)
        status = self._rope_fn(dtype, in_ptr or None, in_token_stride, out_ptr or None, out_token_stride,
                               num_tokens, arr, n, ctypes.byref(rope) if rope is not None else None,
                               rotated_ranges, stream or None)
        if status != 0:
            raise RuntimeLibraryError(status, self.last_error_message(), self.name)


_LIBS: Dict[str, RuntimeLibrary] = {}
_LOCK = threading.Lock()


def load(kind: str, path: Optional[str] = None) -> RuntimeLibrary:
    """The runtime library of `kind` ("host" or "cuda"), found by qk._discovery (env
    QK_RUNTIME_HOST_LIB / QK_RUNTIME_CUDA_LIB, QK_RUNTIME_LIB_DIR, QK_BUILD_DIR, build trees)."""
    key = f"{kind}:{path}"
    with _LOCK:
        if key not in _LIBS:
            _LIBS[key] = RuntimeLibrary(_discovery.find_runtime_library(kind, path))
        return _LIBS[key]


def available(kind: str) -> bool:
    try:
        load(kind)
        return True
    except (OSError, _discovery.ToolNotFoundError):
        return False
