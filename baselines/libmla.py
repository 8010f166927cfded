"""libmla from Python: a small ctypes binding of kernels/include/mla.h (ABI 2).

The MLA decode of this project called from Python on PyTorch tensors, with the
library's automatic choice of kernel (kernel_version 0) by default. It needs
kernels/build/libmla.so (`make kernels`; or point MLA_LIB at one), a CUDA GPU
and torch; loading the library, mla_select_kernel and mla_kernel_name need
neither a GPU nor torch.

    import torch
    from libmla import Libmla                        # with baselines/ on sys.path
    mla = Libmla()                                   # $MLA_LIB, else kernels/build/libmla.so
    b, s_q, h_q, pages = 4, 1, 128, 16               # 16 pages of 64 tokens per request
    q = torch.randn(b, s_q, h_q, 576, dtype=torch.bfloat16, device="cuda")
    kv = torch.randn(b * pages, 64, 1, 576, dtype=torch.bfloat16, device="cuda")   # paged cache, h_kv = 1
    table = torch.arange(b * pages, dtype=torch.int32, device="cuda").view(b, pages)
    lens = torch.full((b,), 1000, dtype=torch.int32, device="cuda")
    dec = mla.decoder(q, kv, table, lens, causal=False)   # plans once (mla_plan); reuse while lens holds
    out, lse = dec()                                 # [b, s_q, h_q, 512] bf16, [b, h_q, s_q] fp32, current stream
    print(dec.kernel_version, mla.kernel_name(dec.kernel_version))   # the rung the automatic choice runs

A failing libmla call raises MlaError with the library's message (status and
function named); a missing, foreign or outdated library raises MlaLoadError
saying what to do; bad tensors raise ValueError or TypeError naming the
argument. The library validates everything before it launches, so nothing
here takes the process down.
"""
import ctypes
import math
import os

ABI_VERSION = 2
KERNEL_AUTO = 0
HEAD_DIM_K = 576
HEAD_DIM_V = 512
BLOCK_SIZE = 64
SCHED_INTS = 8
DTYPE_BF16 = 0
DTYPE_FP16 = 1


class MlaLoadError(RuntimeError):
    """libmla cannot be used here: not built, not loadable, or of another ABI."""


class MlaError(RuntimeError):
    """A libmla call returned a non-zero status; the message is the library's (mla_last_error)."""

    def __init__(self, fn, status, message):
        super().__init__(f"{fn} failed with status {status}: {message}")
        self.fn, self.status, self.message = fn, status, message


class Params(ctypes.Structure):
    """mla_decode_params: 6 pointers, 10 int64 strides (elements), 12 int32, a float, an int32; 184 bytes."""
    _fields_ = [(n, ctypes.c_void_p) for n in ("q", "kvcache", "block_table", "cache_seqlens", "out", "lse")] + \
        [(n, ctypes.c_int64) for n in ("q_batch_stride", "q_seq_stride", "q_head_stride", "kv_block_stride",
                                        "kv_token_stride", "kv_head_stride", "block_table_batch_stride",
                                        "out_batch_stride", "out_seq_stride", "out_head_stride")] + \
        [(n, ctypes.c_int32) for n in ("dtype", "b", "s_q", "h_q", "h_kv", "d_k", "d_v", "num_blocks", "block_size",
                                        "max_blocks_per_seq", "causal", "kernel_version")] + \
        [("softmax_scale", ctypes.c_float), ("reserved", ctypes.c_int32)]


class Options(ctypes.Structure):
    """mla_decode_options: 32 bytes (mla_default_options fills the defaults)."""
    _fields_ = [("dependent_launch", ctypes.c_int32), ("reserved", ctypes.c_int32 * 7)]


def default_library_path():
    """$MLA_LIB, else kernels/build/libmla.so of the checkout this file lies in."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.environ.get("MLA_LIB") or os.path.join(root, "kernels", "build", "libmla.so")


def num_sm_parts_for(s_q, h_q, h_kv, sm_count):
    """mla_get_num_sm_parts's formula (mla.h) for a GPU of sm_count SMs, without asking the device."""
    rows = s_q * (h_q // h_kv)
    return max(1, sm_count // (h_kv * ((rows + 63) // 64)))


_P, _I, _SZ = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t
_SIGNATURES = {
    "mla_abi_version": (_I, []),
    "mla_last_error": (ctypes.c_char_p, []),
    "mla_status_string": (ctypes.c_char_p, [_I]),
    "mla_kernel_name": (ctypes.c_char_p, [_I]),
    "mla_sizeof_params": (_I, []),
    "mla_sizeof_options": (_I, []),
    "mla_default_options": (_I, [ctypes.POINTER(Options)]),
    "mla_get_num_sm_parts": (_I, [_I, _I, _I, ctypes.POINTER(_I)]),
    "mla_plan": (_I, [_P, _I, _I, _I, _I, _I, _I, _P, _P, _P]),
    "mla_workspace_bytes": (_I, [_I, _I, _I, _I, _I, ctypes.POINTER(_SZ)]),
    "mla_select_kernel": (_I, [ctypes.POINTER(Params), _I, _I, ctypes.POINTER(_I)]),
    "mla_decode": (_I, [ctypes.POINTER(Params), ctypes.POINTER(Options), _P, _P, _I, _P, _SZ, _P]),
}


class Libmla:
    """One loaded libmla.so. Loading checks the ABI version and both struct sizes against this binding."""

    def __init__(self, path=None):
        self.path = os.path.abspath(path or default_library_path())
        if not os.path.exists(self.path):
            raise MlaLoadError(f"libmla not found at {self.path}: build it with `make kernels` (needs nvcc), "
                               "or point MLA_LIB at a built libmla.so")
        try:
            lib = ctypes.CDLL(self.path)
        except OSError as e:
            raise MlaLoadError(f"could not load {self.path}: {e} (it links the CUDA runtime: is libcudart on the "
                               "library path?)") from None
        for name, (res, args) in _SIGNATURES.items():
            try:
                f = getattr(lib, name)
            except AttributeError:
                raise MlaLoadError(f"{self.path} lacks {name}: not a libmla of ABI {ABI_VERSION}; rebuild it with "
                                   "`make kernels`") from None
            f.restype, f.argtypes = res, args
        self.lib = lib
        abi = lib.mla_abi_version()
        if abi != ABI_VERSION:
            raise MlaLoadError(f"{self.path} has ABI version {abi}, this binding (baselines/libmla.py) needs "
                               f"{ABI_VERSION}: rebuild the library from this checkout (`make kernels`)")
        sizes = {"mla_decode_params": (lib.mla_sizeof_params(), ctypes.sizeof(Params)),
                 "mla_decode_options": (lib.mla_sizeof_options(), ctypes.sizeof(Options))}
        for struct, (c_size, py_size) in sizes.items():
            if c_size != py_size:
                raise MlaLoadError(f"{struct} is {c_size} bytes in {self.path} but {py_size} in baselines/libmla.py: "
                                   "rebuild the library from this checkout")

    def last_error(self):
        """The message of the last failing call on this thread ("" if none)."""
        return (self.lib.mla_last_error() or b"").decode("utf-8", "replace")

    def check(self, fn, status):
        """Raises MlaError with the library's message unless status is 0."""
        if status != 0:
            msg = self.last_error() or (self.lib.mla_status_string(status) or b"").decode()
            raise MlaError(fn, status, msg)

    def abi_version(self):
        return self.lib.mla_abi_version()

    def kernel_name(self, version):
        """mla_kernel_name: "auto" for 0, the rung's name for 1..MAX, None beyond."""
        n = self.lib.mla_kernel_name(int(version))
        return n.decode() if n is not None else None

    def kernel_versions(self):
        """[(1, "simt"), (2, "mma_sync"), ...]: every rung this build has."""
        out, v = [], 1
        while self.kernel_name(v) is not None:
            out.append((v, self.kernel_name(v)))
            v += 1
        return out

    def default_options(self, dependent_launch=None):
        o = Options()
        self.check("mla_default_options", self.lib.mla_default_options(ctypes.byref(o)))
        if dependent_launch is not None:
            o.dependent_launch = 1 if dependent_launch else 0
        return o

    def select_kernel(self, b, s_q, h_q, h_kv, max_blocks_per_seq, sm_count, kernel_version=KERNEL_AUTO,
                      num_sm_parts=None, causal=False, dtype=DTYPE_BF16):
        """The rung a decode of this shape runs (kernel_version 0 resolved by the library's rule) on a GPU of
        sm_count SMs. Needs no device."""
        parts = num_sm_parts if num_sm_parts is not None else num_sm_parts_for(s_q, h_q, h_kv, sm_count)
        p = Params(dtype=dtype, b=b, s_q=s_q, h_q=h_q, h_kv=h_kv, d_k=HEAD_DIM_K, d_v=HEAD_DIM_V, num_blocks=1,
                   block_size=BLOCK_SIZE, max_blocks_per_seq=max_blocks_per_seq, causal=int(bool(causal)),
                   kernel_version=kernel_version, softmax_scale=1.0 / math.sqrt(HEAD_DIM_K))
        v = ctypes.c_int()
        self.check("mla_select_kernel", self.lib.mla_select_kernel(ctypes.byref(p), parts, sm_count, ctypes.byref(v)))
        return v.value

    def decoder(self, q, kvcache, block_table, cache_seqlens, causal=False, softmax_scale=None,
                kernel_version=KERNEL_AUTO, dependent_launch=None):
        """A planned decode of these tensors (Decoder): call it for one step on the current torch stream."""
        return Decoder(self, q, kvcache, block_table, cache_seqlens, causal, softmax_scale, kernel_version,
                       dependent_launch)


class Decoder:
    """mla_plan once (outside any timed loop), then mla_decode per call into the same out and lse.

    The plan depends only on cache_seqlens and the shape: build a new Decoder when the lengths change.
    Attributes: out, lse (the outputs), num_sm_parts, requested_version (as given; 0 = auto) and
    kernel_version (the rung that runs, mla_select_kernel)."""

    def __init__(self, mla, q, kvcache, block_table, cache_seqlens, causal, softmax_scale, kernel_version,
                 dependent_launch):
        import torch  # noqa: PLC0415 (only a decoder needs torch)
        self.mla, self.torch = mla, torch
        dtypes = {torch.bfloat16: DTYPE_BF16, torch.float16: DTYPE_FP16}
        for name, t in (("q", q), ("kvcache", kvcache), ("block_table", block_table), ("cache_seqlens", cache_seqlens)):
            if not isinstance(t, torch.Tensor):
                raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
            if not t.is_cuda:
                raise ValueError(f"{name} must be on a CUDA device, got {t.device}")
            if t.device != q.device:
                raise ValueError(f"{name} is on {t.device}, q on {q.device}: put every tensor on one device")
        if q.device.index != torch.cuda.current_device():
            raise ValueError(f"q is on {q.device} but the current device is cuda:{torch.cuda.current_device()}: "
                             "libmla runs on the current device (torch.cuda.set_device)")
        if q.dtype not in dtypes or kvcache.dtype != q.dtype:
            raise TypeError(f"q and kvcache must both be bfloat16 or float16, got {q.dtype} and {kvcache.dtype}")
        if q.dim() != 4 or q.shape[3] != HEAD_DIM_K or q.stride(3) != 1:
            raise ValueError(f"q must be [b, s_q, h_q, {HEAD_DIM_K}] with a contiguous last dimension, got "
                             f"{tuple(q.shape)} strides {q.stride()}")
        if kvcache.dim() != 4 or kvcache.shape[1] != BLOCK_SIZE or kvcache.shape[3] != HEAD_DIM_K or kvcache.stride(3) != 1:
            raise ValueError(f"kvcache must be [num_blocks, {BLOCK_SIZE}, h_kv, {HEAD_DIM_K}] with a contiguous last "
                             f"dimension, got {tuple(kvcache.shape)} strides {kvcache.stride()}")
        b, s_q, h_q = q.shape[0], q.shape[1], q.shape[2]
        h_kv = kvcache.shape[2]
        if block_table.dtype != torch.int32 or block_table.dim() != 2 or block_table.shape[0] != b or block_table.stride(1) != 1:
            raise ValueError(f"block_table must be int32 [b={b}, max_blocks_per_seq], rows contiguous, got "
                             f"{block_table.dtype} {tuple(block_table.shape)}")
        if cache_seqlens.dtype != torch.int32 or tuple(cache_seqlens.shape) != (b,) or not cache_seqlens.is_contiguous():
            raise ValueError(f"cache_seqlens must be a contiguous int32 [b={b}], got {cache_seqlens.dtype} "
                             f"{tuple(cache_seqlens.shape)}")
        if h_q % h_kv:
            raise ValueError(f"h_q ({h_q}) must be a multiple of h_kv ({h_kv})")
        scale = 1.0 / math.sqrt(HEAD_DIM_K) if softmax_scale is None else float(softmax_scale)
        dev = q.device
        self.q, self.kvcache, self.block_table, self.cache_seqlens = q, kvcache, block_table, cache_seqlens
        self.out = torch.empty((b, s_q, h_q, HEAD_DIM_V), dtype=q.dtype, device=dev)
        self.lse = torch.empty((b, h_q, s_q), dtype=torch.float32, device=dev)
        lib = mla.lib
        parts = ctypes.c_int()
        mla.check("mla_get_num_sm_parts", lib.mla_get_num_sm_parts(s_q, h_q, h_kv, ctypes.byref(parts)))
        self.num_sm_parts = parts.value
        self.sched = torch.empty(self.num_sm_parts * SCHED_INTS, dtype=torch.int32, device=dev)
        self.num_splits = torch.empty(b + 1, dtype=torch.int32, device=dev)
        ws = ctypes.c_size_t()
        mla.check("mla_workspace_bytes", lib.mla_workspace_bytes(b, s_q, h_q, h_kv, self.num_sm_parts, ctypes.byref(ws)))
        self.workspace_bytes = ws.value
        self.workspace = torch.empty(max(16, ws.value), dtype=torch.uint8, device=dev)
        self.params = Params(
            q=q.data_ptr(), kvcache=kvcache.data_ptr(), block_table=block_table.data_ptr(),
            cache_seqlens=cache_seqlens.data_ptr(), out=self.out.data_ptr(), lse=self.lse.data_ptr(),
            q_batch_stride=q.stride(0), q_seq_stride=q.stride(1), q_head_stride=q.stride(2),
            kv_block_stride=kvcache.stride(0), kv_token_stride=kvcache.stride(1), kv_head_stride=kvcache.stride(2),
            block_table_batch_stride=block_table.stride(0), out_batch_stride=self.out.stride(0),
            out_seq_stride=self.out.stride(1), out_head_stride=self.out.stride(2), dtype=dtypes[q.dtype], b=b, s_q=s_q,
            h_q=h_q, h_kv=h_kv, d_k=HEAD_DIM_K, d_v=HEAD_DIM_V, num_blocks=kvcache.shape[0], block_size=BLOCK_SIZE,
            max_blocks_per_seq=block_table.shape[1], causal=int(bool(causal)), kernel_version=int(kernel_version),
            softmax_scale=scale, reserved=0)
        self.options = mla.default_options(dependent_launch)
        self.requested_version = int(kernel_version)
        sms = torch.cuda.get_device_properties(dev).multi_processor_count
        v = ctypes.c_int()
        mla.check("mla_select_kernel", lib.mla_select_kernel(ctypes.byref(self.params), self.num_sm_parts, sms,
                                                             ctypes.byref(v)))
        self.kernel_version = v.value
        mla.check("mla_plan", lib.mla_plan(cache_seqlens.data_ptr(), b, s_q, h_q, h_kv, block_table.shape[1],
                                           self.num_sm_parts, self.sched.data_ptr(), self.num_splits.data_ptr(),
                                           self._stream()))

    def _stream(self):
        return ctypes.c_void_p(self.torch.cuda.current_stream().cuda_stream)

    def __call__(self):
        """One decode step (decode + combine) on the current stream; returns (out, lse), the same tensors each call."""
        self.mla.check("mla_decode", self.mla.lib.mla_decode(
            ctypes.byref(self.params), ctypes.byref(self.options), self.sched.data_ptr(), self.num_splits.data_ptr(),
            self.num_sm_parts, self.workspace.data_ptr(), self.workspace_bytes, self._stream()))
        return self.out, self.lse
