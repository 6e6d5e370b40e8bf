"""Writer and reader of `.f8` model files, exactly as docs/FORMAT.md §2 lays them out.

The in-memory description (`Graph`, `Value`, `Op`) is deliberately plain: integers and numpy
arrays, no torch. The trainer builds one and calls `write`; the simulator and the tests call
`read`, which checks everything FORMAT.md §6 says the engine checks, so a file this module accepts
is a file the engine must accept too.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

MAGIC = b"F8MODEL\0"
VERSION = 2          # the newest version read; a file is written at the lowest that holds it
VERSION_MIN = 1
DENSE_VERSION = 2    # the dense ternary packing needs version 2 (§2.1, §2.5)
HEADER_SIZE = 128
VALUE_SIZE = 16
OP_SIZE = 128
ALIGN = 64  # payload and every tensor start at a multiple of 64 (§2)

# dtypes, §1 table
U8, S8, S32 = 1, 2, 3
DTYPE_NAMES = {U8: "u8", S8: "s8", S32: "s32"}
DTYPE_RANGE = {U8: (0, 255), S8: (-127, 127), S32: (-(2**31 - 1), 2**31 - 1)}

# op types, §2.3
CONV2D, DENSE, ADD, MAXPOOL, AVGPOOL = 1, 2, 3, 4, 5
OP_NAMES = {CONV2D: "CONV2D", DENSE: "DENSE", ADD: "ADD", MAXPOOL: "MAXPOOL", AVGPOOL: "AVGPOOL"}
FLAG_RELU = 1
NO_INPUT = 0xFFFFFFFF

PREPROCESS_DIRECT = 1  # §4

# struct layouts (little-endian, §2)
_HEADER = struct.Struct("<8sIIIIQQIIIIIIIIQQQI28s")
_VALUE = struct.Struct("<IIIBbBx")
_OP = struct.Struct("<IIIIIIIIIIIIIIBBHIQQQQQQIIQ")  # byte 56 weight_bits, 57 packing
assert _HEADER.size == HEADER_SIZE and _VALUE.size == VALUE_SIZE and _OP.size == OP_SIZE


class FormatError(ValueError):
    """The bytes are not a valid `.f8` file; the message says which field is wrong."""


@dataclass
class Value:
    """One activation tensor of one image, NHWC (§2.2). `bits`: the word length of a u8/s8
    value, 0 for the dtype's full width (§1: 4-bit activations are u8 with bits 4)."""

    h: int
    w: int
    c: int
    dtype: int
    fl: int
    bits: int = 0

    @property
    def range(self) -> Tuple[int, int]:
        return value_range(self.dtype, self.bits)


def value_range(dtype: int, bits: int) -> Tuple[int, int]:
    """The range of q for a value (§1 table): u8 with b bits [0, 2^b − 1], s8 with b bits
    [−(2^(b−1) − 1), 2^(b−1) − 1]; bits 0 is the dtype's full width."""
    if not bits or dtype == S32:
        return DTYPE_RANGE[dtype]
    if dtype == U8:
        return (0, 2**bits - 1)
    return (-(2**(bits - 1) - 1), 2**(bits - 1) - 1)


TERNARY_BITS = 2  # weight_bits of an FGQ ternary op (§2.5)
PACKING_2BIT, PACKING_DENSE = 0, 1          # a ternary op's packing (§2.5)
PACKINGS = {"2bit": PACKING_2BIT, "dense": PACKING_DENSE}


def ternary_weights(codes: np.ndarray, alpha: np.ndarray, group_size: int) -> np.ndarray:
    """§2.5: w[o][k] = t[o][k]·α[o][k / N], the s8 weights a ternary op computes with.
    codes: [Cout][...] in {−1, 0, +1}; alpha: u8 [Cout][ceil(K/N)]."""
    cout = codes.shape[0]
    t = codes.reshape(cout, -1).astype(np.int64)
    k = t.shape[1]
    a = np.repeat(alpha.astype(np.int64), group_size, axis=1)[:, :k]
    return (t * a).astype(np.int8).reshape(codes.shape)


def pack_codes(codes: np.ndarray) -> bytes:
    """§2.5: 2 bits per weight in weight order, weight j in bits 2(j mod 4) and 2(j mod 4)+1
    of byte j/4; +1 → 0b01, −1 → 0b11, 0 → 0b00; unused bits of the last byte zero."""
    c = (np.ascontiguousarray(codes).reshape(-1).astype(np.int64) & 3).astype(np.uint8)
    c = np.concatenate([c, np.zeros((-len(c)) % 4, np.uint8)]).reshape(-1, 4)
    return (c[:, 0] | c[:, 1] << 2 | c[:, 2] << 4 | c[:, 3] << 6).astype(np.uint8).tobytes()


def unpack_codes(raw: bytes, n: int, what: str) -> np.ndarray:
    """Inverse of pack_codes; FormatError on the code 0b10 or non-zero padding bits."""
    b = np.frombuffer(raw, np.uint8)
    c = np.stack([(b >> s) & 3 for s in (0, 2, 4, 6)], axis=1).reshape(-1)
    if np.any(c[:n] == 2):
        j = int(np.argmax(c[:n] == 2))
        raise FormatError(f"{what}: code 0b10 at weight {j} (only 00, 01, 11 are defined)")
    if np.any(c[n:]):
        raise FormatError(f"{what}: unused bits of the last byte must be zero")
    return np.where(c[:n] == 3, -1, c[:n]).astype(np.int8)


def pack_dense(codes: np.ndarray) -> bytes:
    """§2.5, packing 1: five weights per byte as base-3 digits, weight j the digit of 3^(j mod 5)
    in byte j/5 (b = t0 + 3·t1 + 9·t2 + 27·t3 + 81·t4 < 243); digit 0 = 0, 1 = +1, 2 = −1;
    the last byte's unused digits 0."""
    t = np.ascontiguousarray(codes).reshape(-1).astype(np.int64)
    d = np.where(t < 0, 2, t)
    d = np.concatenate([d, np.zeros((-len(d)) % 5, np.int64)]).reshape(-1, 5)
    return (d @ np.array([1, 3, 9, 27, 81], np.int64)).astype(np.uint8).tobytes()


def unpack_dense(raw: bytes, n: int, what: str) -> np.ndarray:
    """Inverse of pack_dense; FormatError on a byte >= 243 or non-zero unused digits."""
    b = np.frombuffer(raw, np.uint8).astype(np.int64)
    if np.any(b >= 243):
        i = int(np.argmax(b >= 243))
        raise FormatError(f"{what}: dense code byte {i} is {int(b[i])}, not below 243")
    d = np.stack([b // 3 ** r % 3 for r in range(5)], axis=1).reshape(-1)
    if np.any(d[n:]):
        raise FormatError(f"{what}: unused digits of the last dense code byte must be zero")
    return np.where(d[:n] == 2, -1, d[:n]).astype(np.int8)


def pack_alpha7(alpha: np.ndarray) -> bytes:
    """§2.5, packing 1: each α (≤ 127) in 7 bits, α g in bits [7g, 7g + 7) of a little-endian
    bit string (bit b in byte b/8, bit b mod 8); the last byte's unused bits 0."""
    a = np.ascontiguousarray(alpha).reshape(-1).astype(np.uint8)
    if np.any(a > 127):
        raise FormatError("alpha above 127 cannot be packed in 7 bits")
    bits = np.unpackbits(a[:, None], axis=1, bitorder="little")[:, :7].reshape(-1)
    return np.packbits(bits, bitorder="little").tobytes()


def unpack_alpha7(raw: bytes, count: int, what: str) -> np.ndarray:
    """Inverse of pack_alpha7: `count` α's; FormatError on non-zero unused bits."""
    bits = np.unpackbits(np.frombuffer(raw, np.uint8), bitorder="little")
    if np.any(bits[7 * count:]):
        raise FormatError(f"{what}: unused bits of the last alpha byte must be zero")
    b = bits[:7 * count].reshape(count, 7)
    return np.packbits(np.concatenate([b, np.zeros((count, 1), np.uint8)], axis=1), axis=1,
                       bitorder="little").reshape(-1)


def packed_sizes(n_weights: int, n_alphas: int, packing: int) -> Tuple[int, int]:
    """(code bytes, alpha bytes) of a ternary op (§2.5)."""
    if packing == PACKING_DENSE:
        return -(-n_weights // 5), -(-7 * n_alphas // 8)
    return -(-n_weights // 4), n_alphas


@dataclass
class Op:
    """One operation (§2.3). Unused fields stay zero; tensors are None when the op has none."""

    type: int
    input0: int
    output: int
    input1: int = NO_INPUT
    relu: bool = False
    kernel_h: int = 0
    kernel_w: int = 0
    stride_h: int = 0
    stride_w: int = 0
    pad_top: int = 0
    pad_left: int = 0
    pad_bottom: int = 0
    pad_right: int = 0
    groups: int = 1
    avg_shift: int = 0
    weights: Optional[np.ndarray] = None  # int8; CONV2D [Cout][kh][kw][Cin/G], DENSE [Cout][K]
    bias: Optional[np.ndarray] = None     # int32 [Cout]
    flw: Optional[np.ndarray] = None      # int8 [Cout]
    # FGQ ternary ops (§2.5): codes t in {−1, 0, +1}, shaped like `weights`; α u8
    # [Cout][ceil(K/N)]; N = group_size. `weights` then holds their expansion t·α.
    codes: Optional[np.ndarray] = None
    alpha: Optional[np.ndarray] = None
    group_size: int = 0
    packing: int = 0      # ternary ops: PACKING_2BIT or PACKING_DENSE (how the file stores them)

    @property
    def weight_bits(self) -> int:
        if self.weights is None:
            return 0
        return TERNARY_BITS if self.codes is not None else 8

    def set_ternary(self, codes: np.ndarray, alpha: np.ndarray, group_size: int,
                    packing: int = PACKING_DENSE) -> None:
        """Makes this CONV2D/DENSE ternary: codes, α and N, and `weights` their expansion,
        stored in `packing` (the dense one unless told otherwise)."""
        self.packing = packing
        self.codes = np.asarray(codes, np.int8)
        self.alpha = np.asarray(alpha, np.uint8)
        self.group_size = int(group_size)
        self.weights = ternary_weights(self.codes, self.alpha, self.group_size)

    @property
    def pads(self) -> Tuple[int, int, int, int]:
        return (self.pad_top, self.pad_left, self.pad_bottom, self.pad_right)


@dataclass
class Graph:
    """A whole model: values (value 0 is the input), ops in execution order, metadata."""

    values: List[Value]
    ops: List[Op]
    output_value: int
    meta: List[Tuple[str, str]] = field(default_factory=list)
    preprocess: int = PREPROCESS_DIRECT

    @property
    def input(self) -> Value:
        return self.values[0]

    @property
    def num_classes(self) -> int:
        return self.values[self.output_value].c

    def meta_dict(self) -> Dict[str, str]:
        return dict(self.meta)

    def labels(self) -> List[str]:
        return self.meta_dict()["labels"].split("\n")


def _align(n: int, a: int) -> int:
    return (n + a - 1) // a * a


def conv_out_size(size: int, pad_a: int, pad_b: int, kernel: int, stride: int) -> int:
    """§3: Ho = (H + pad_top + pad_bottom − kernel_h) / stride_h + 1 (integer division)."""
    return (size + pad_a + pad_b - kernel) // stride + 1


# ---------------------------------------------------------------------------------------------
# Validation: the §3 shape rules and the §6 load checks, shared by writer and reader so that
# neither can produce or accept a file the other would refuse.
# ---------------------------------------------------------------------------------------------

def _expected_tensor_shapes(op: Op, vin: Value, vout: Value):
    """Shapes of (weights, bias, flw) that the op's shape implies (§2.3, §3)."""
    if op.type == CONV2D:
        return ((vout.c, op.kernel_h, op.kernel_w, vin.c // op.groups), (vout.c,), (vout.c,))
    if op.type == DENSE:
        return ((vout.c, vin.h * vin.w * vin.c), (vout.c,), (vout.c,))
    return None


def _validate_ternary(name: str, op: Op) -> None:
    """§2.5: codes shaped like the weights in {−1, 0, +1}, 1 <= N <= K, α u8
    [Cout][ceil(K/N)] each <= 127, and `weights` exactly their expansion."""
    cout = op.weights.shape[0]
    k = op.weights.size // cout
    if op.codes.shape != op.weights.shape or not np.all(np.isin(op.codes, (-1, 0, 1))):
        raise FormatError(f"{name}: ternary codes must be -1, 0, +1 shaped like the weights")
    if not 1 <= op.group_size <= k:
        raise FormatError(f"{name}: group_size {op.group_size} outside [1, K = {k}]")
    groups = -(-k // op.group_size)
    if op.alpha is None or op.alpha.shape != (cout, groups) or op.alpha.dtype != np.uint8:
        raise FormatError(f"{name}: alpha must be uint8 ({cout}, {groups})")
    if np.any(op.alpha > 127):
        raise FormatError(f"{name}: alpha above 127")
    if op.packing not in (PACKING_2BIT, PACKING_DENSE):
        raise FormatError(f"{name}: packing {op.packing} unknown (0 2-bit codes, 1 dense)")
    if not np.array_equal(op.weights, ternary_weights(op.codes, op.alpha, op.group_size)):
        raise FormatError(f"{name}: weights are not the expansion of codes and alpha")


def validate(g: Graph) -> None:
    """Raises FormatError naming the op or field if `g` breaks a rule of FORMAT.md §2-§3/§6."""
    nv = len(g.values)
    if nv < 2:
        raise FormatError("num_values must be >= 2")
    if len(g.ops) < 1:
        raise FormatError("num_ops must be >= 1")
    for i, v in enumerate(g.values):
        if v.dtype not in DTYPE_NAMES:
            raise FormatError(f"value {i}: bad dtype {v.dtype}")
        if not -32 <= v.fl <= 32:
            raise FormatError(f"value {i}: fl {v.fl} outside [-32, 32]")
        if min(v.h, v.w, v.c) < 1:
            raise FormatError(f"value {i}: empty shape {v.h}x{v.w}x{v.c}")
        if v.bits and (v.dtype == S32 or not 2 <= v.bits <= 8):
            raise FormatError(f"value {i}: bits {v.bits} (0, or 2-8 for u8/s8 values)")
    v0 = g.values[0]
    if v0.dtype != U8 or v0.bits:
        raise FormatError("value 0 (input) must be u8 with bits 0")
    if v0.c not in (1, 3):
        raise FormatError("input_c must be 1 or 3")
    if not 0 <= g.output_value < nv:
        raise FormatError("output_value out of range")
    vo = g.values[g.output_value]
    if vo.dtype != S32 or vo.h != 1 or vo.w != 1:
        raise FormatError("output value must be s32 1x1xnum_classes")

    written = {0}
    for k, op in enumerate(g.ops):
        name = f"op {k} ({OP_NAMES.get(op.type, op.type)})"
        if op.type not in OP_NAMES:
            raise FormatError(f"op {k}: bad type {op.type}")
        ins = [op.input0] + ([op.input1] if op.type == ADD else [])
        if op.type != ADD and op.input1 != NO_INPUT:
            raise FormatError(f"{name}: input1 must be 0xFFFFFFFF")
        for i in ins + [op.output]:
            if not 0 <= i < nv:
                raise FormatError(f"{name}: value id {i} out of range")
        for i in ins:
            if i not in written:
                raise FormatError(f"{name}: reads value {i} before it is written")
        if op.output in written:
            raise FormatError(f"{name}: value {op.output} written twice")
        written.add(op.output)
        vin, vout = g.values[op.input0], g.values[op.output]
        windowed = op.type in (CONV2D, MAXPOOL, AVGPOOL)
        geom = (op.kernel_h, op.kernel_w, op.stride_h, op.stride_w) + op.pads
        if windowed:
            if min(op.kernel_h, op.kernel_w, op.stride_h, op.stride_w) < 1:
                raise FormatError(f"{name}: kernel and stride must be >= 1")
            ho = conv_out_size(vin.h, op.pad_top, op.pad_bottom, op.kernel_h, op.stride_h)
            wo = conv_out_size(vin.w, op.pad_left, op.pad_right, op.kernel_w, op.stride_w)
            if vin.h + op.pad_top + op.pad_bottom < op.kernel_h or \
                    vin.w + op.pad_left + op.pad_right < op.kernel_w:
                raise FormatError(f"{name}: window larger than padded input")
            if (vout.h, vout.w) != (ho, wo):
                raise FormatError(f"{name}: output {vout.h}x{vout.w}, shape rule gives {ho}x{wo}")
        elif any(geom):
            raise FormatError(f"{name}: kernel/stride/pad fields must be 0")
        if op.type != CONV2D and op.groups != 1:
            raise FormatError(f"{name}: groups must be 1")
        if op.type != AVGPOOL and op.avg_shift != 0:
            raise FormatError(f"{name}: avg_shift must be 0")

        f_ints: List[int] = []
        if op.type in (CONV2D, DENSE):
            if vin.dtype not in (U8, S8):
                raise FormatError(f"{name}: input must be u8 or s8")
            if op.type == CONV2D:
                if op.groups < 1 or vin.c % op.groups or vout.c % op.groups:
                    raise FormatError(f"{name}: groups {op.groups} must divide Cin and Cout")
            else:
                if (vout.h, vout.w) != (1, 1):
                    raise FormatError(f"{name}: output must be 1x1xCout")
            if op.weights is None or op.bias is None or op.flw is None:
                raise FormatError(f"{name}: weights, bias and flw are required")
            ws, bs, fs = _expected_tensor_shapes(op, vin, vout)
            if op.weights.shape != ws or op.weights.dtype != np.int8:
                raise FormatError(f"{name}: weights must be int8 {ws}")
            if op.bias.shape != bs or op.bias.dtype != np.int32:
                raise FormatError(f"{name}: bias must be int32 {bs}")
            if op.flw.shape != fs or op.flw.dtype != np.int8:
                raise FormatError(f"{name}: flw must be int8 {fs}")
            if np.any(op.weights == -128):
                raise FormatError(f"{name}: weight -128 is outside the s8 range [-127, 127]")
            if np.any(op.bias == -(2**31)):
                raise FormatError(f"{name}: bias -2^31 is outside the s32 range")
            if np.any(np.abs(op.flw.astype(int)) > 32):
                raise FormatError(f"{name}: FL_w outside [-32, 32]")
            if op.codes is not None:
                _validate_ternary(name, op)
            elif op.alpha is not None or op.group_size or op.packing:
                raise FormatError(f"{name}: alpha/group_size/packing only for ternary ops")
            f_ints = [int(f) + vin.fl for f in op.flw]
        else:
            if op.weights is not None or op.bias is not None or op.flw is not None or \
                    op.codes is not None or op.packing:
                raise FormatError(f"{name}: op has no tensors")
            if op.type == ADD:
                vb = g.values[op.input1]
                if (vin.h, vin.w, vin.c) != (vb.h, vb.w, vb.c):
                    raise FormatError(f"{name}: inputs differ in shape")
                if (vout.h, vout.w, vout.c) != (vin.h, vin.w, vin.c):
                    raise FormatError(f"{name}: output shape differs from inputs")
                f = max(vin.fl, vb.fl)
                # alignment shifts F_int − Fa and F_int − Fb (§3 ADD)
                if f - min(vin.fl, vb.fl) > 31:
                    raise FormatError(f"{name}: alignment shift > 31")
                f_ints = [f]
            else:
                if vout.c != vin.c:
                    raise FormatError(f"{name}: pooling keeps the channel count")
                if op.type == MAXPOOL and (op.pad_top >= op.kernel_h or
                                           op.pad_bottom >= op.kernel_h or
                                           op.pad_left >= op.kernel_w or
                                           op.pad_right >= op.kernel_w):
                    # A window wholly in the padding would have no maximum (§3 skips padding);
                    # the engine refuses such files at load, and so do we.
                    raise FormatError(f"{name}: MAXPOOL padding must be smaller than the kernel")
                if op.type == AVGPOOL:
                    if any(op.pads):
                        raise FormatError(f"{name}: AVGPOOL padding must be 0")
                    if not 0 <= op.avg_shift <= 31:
                        raise FormatError(f"{name}: avg_shift > 31")
                    f_ints = [vin.fl + op.avg_shift]
                else:
                    f_ints = [vin.fl]
        for f in f_ints:
            if abs(f - vout.fl) > 31:
                raise FormatError(f"{name}: requant shift {f - vout.fl} exceeds 31 bits")
    if g.output_value not in written:
        raise FormatError("output_value is never written")

    md = g.meta_dict()
    for key in ("name", "labels"):
        if key not in md:
            raise FormatError(f"metadata key '{key}' is required")
    if len(md["labels"].split("\n")) != g.num_classes:
        raise FormatError("metadata 'labels' must hold num_classes lines")
    for k, v in g.meta:
        if "\0" in k or "\0" in v:
            raise FormatError(f"metadata '{k}': NUL not allowed")


# ---------------------------------------------------------------------------------------------
# Writer
# ---------------------------------------------------------------------------------------------

def to_bytes(g: Graph) -> bytes:
    """Serialises `g` (after `validate`) into the exact byte layout of FORMAT.md §2."""
    validate(g)
    nv, no = len(g.values), len(g.ops)
    values_offset = HEADER_SIZE                       # multiple of 8
    ops_offset = values_offset + nv * VALUE_SIZE      # multiple of 8 (16·nv)
    meta_offset = ops_offset + no * OP_SIZE           # multiple of 4

    meta = bytearray()
    for k, v in g.meta:
        kb, vb = k.encode("utf-8"), v.encode("utf-8")
        meta += struct.pack("<II", len(kb), len(vb)) + kb + vb
        meta += b"\0" * (_align(len(meta), 4) - len(meta))
    payload_offset = _align(meta_offset + len(meta), ALIGN)

    # Payload: each op's weights (a ternary op's packed codes), bias, flw, then a ternary op's
    # alpha, in op order, each at a multiple of 64.
    payload = bytearray()
    placements = []  # per op: [(offset, size)] * 4
    for op in g.ops:
        spots = []
        ternary = op.codes is not None
        dense = op.packing == PACKING_DENSE
        for arr, dt in ((op.codes if ternary else op.weights, "<i1"), (op.bias, "<i4"),
                        (op.flw, "<i1"), (op.alpha, "<u1")):
            if arr is None:
                spots.append((0, 0))
                continue
            payload += b"\0" * (_align(len(payload), ALIGN) - len(payload))
            if arr is op.codes:
                raw = pack_dense(arr) if dense else pack_codes(arr)
            elif arr is op.alpha and dense:
                raw = pack_alpha7(arr)
            else:
                raw = np.ascontiguousarray(arr).astype(dt).tobytes()
            spots.append((payload_offset + len(payload), len(raw)))
            payload += raw
        placements.append(spots)
    file_size = payload_offset + len(payload)

    region = bytearray(payload_offset)
    for i, v in enumerate(g.values):
        _VALUE.pack_into(region, values_offset + i * VALUE_SIZE, v.h, v.w, v.c, v.dtype, v.fl,
                         v.bits)
    for i, (op, spots) in enumerate(zip(g.ops, placements)):
        (wo, wsz), (bo, bsz), (fo, fsz), (ao, asz) = spots
        _OP.pack_into(region, ops_offset + i * OP_SIZE, op.type, FLAG_RELU if op.relu else 0,
                      op.input0, op.input1, op.output, op.kernel_h, op.kernel_w, op.stride_h,
                      op.stride_w, op.pad_top, op.pad_left, op.pad_bottom, op.pad_right,
                      op.groups, op.weight_bits, op.packing, 0, op.avg_shift, wo, wsz, bo, bsz,
                      fo, fsz, op.group_size, asz, ao)
    region[meta_offset:meta_offset + len(meta)] = meta
    v0 = g.values[0]
    payload_crc = zlib.crc32(bytes(payload))
    # the lowest version that holds the file (§2.1): 2 only with a dense ternary op
    version = DENSE_VERSION if any(op.packing == PACKING_DENSE for op in g.ops) else VERSION_MIN
    _HEADER.pack_into(region, 0, MAGIC, version, 0, payload_crc, 0, file_size, payload_offset,
                      v0.h, v0.w, v0.c, g.preprocess, g.num_classes, nv, no, len(g.meta),
                      values_offset, ops_offset, meta_offset, g.output_value, b"")
    # header_crc32 covers [0, payload_offset) with its own four bytes taken as zero (§2).
    struct.pack_into("<I", region, 12, zlib.crc32(bytes(region)))
    return bytes(region) + bytes(payload)


def write(g: Graph, path: str) -> int:
    """Writes `g` to `path`; returns the file size."""
    data = to_bytes(g)
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


# ---------------------------------------------------------------------------------------------
# Reader
# ---------------------------------------------------------------------------------------------

def from_bytes(data: bytes) -> Graph:
    """Parses and fully checks a `.f8` file (FORMAT.md §6). Raises FormatError."""
    data = bytes(data)
    if len(data) < HEADER_SIZE:
        raise FormatError("file shorter than the 128-byte header")
    (magic, version, header_crc, payload_crc, flags, file_size, payload_offset, in_h, in_w, in_c,
     preprocess, num_classes, nv, no, nm, values_offset, ops_offset, meta_offset, output_value,
     reserved) = _HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise FormatError("bad magic")
    if not VERSION_MIN <= version <= VERSION:
        raise FormatError(f"unsupported version {version} (versions {VERSION_MIN} to {VERSION} "
                          "are read)")
    if file_size != len(data):
        raise FormatError(f"file_size {file_size} != real size {len(data)}")
    if payload_offset % ALIGN or not HEADER_SIZE <= payload_offset <= len(data):
        raise FormatError("payload_offset not a multiple of 64 inside the file")
    region = bytearray(data[:payload_offset])
    region[12:16] = b"\0\0\0\0"
    if zlib.crc32(bytes(region)) != header_crc:
        raise FormatError("header_crc32 mismatch")
    if zlib.crc32(data[payload_offset:]) != payload_crc:
        raise FormatError("payload_crc32 mismatch")
    if flags != 0:
        raise FormatError("flags must be 0")
    if preprocess != PREPROCESS_DIRECT:
        raise FormatError(f"unknown preprocess {preprocess}")

    def table(off, count, size, align, what):
        if off % align or off < HEADER_SIZE or off + count * size > payload_offset:
            raise FormatError(f"{what} table outside the header region or misaligned")

    table(values_offset, nv, VALUE_SIZE, 8, "value")
    table(ops_offset, no, OP_SIZE, 8, "op")
    table(meta_offset, 0, 0, 4, "metadata")

    values = []
    for i in range(nv):
        h, w, c, dtype, fl, bits = _VALUE.unpack_from(data, values_offset + i * VALUE_SIZE)
        if data[values_offset + i * VALUE_SIZE + 15]:
            raise FormatError(f"value {i}: reserved byte not zero")
        values.append(Value(h, w, c, dtype, fl, bits))
    if not values or (values[0].h, values[0].w, values[0].c) != (in_h, in_w, in_c):
        raise FormatError("value 0 does not match input_h/input_w/input_c")

    def tensor(off, size, expect_size, dt, shape, what):
        if size != expect_size:
            raise FormatError(f"{what}: size {size}, shape implies {expect_size}")
        if off % ALIGN or off < payload_offset or off + size > len(data):
            raise FormatError(f"{what}: outside the payload or not 64-byte aligned")
        return np.frombuffer(data, dtype=dt, count=size // np.dtype(dt).itemsize,
                             offset=off).reshape(shape).copy()

    ops = []
    for k in range(no):
        (typ, flags_op, in0, in1, out, kh, kw, sh, sw, pt, pl, pb, pr, groups, wbits, packing,
         reserved_op, avg_shift, wo, wsz, bo, bsz, fo, fsz, gsize, asz, ao) = \
            _OP.unpack_from(data, ops_offset + k * OP_SIZE)
        name = f"op {k} ({OP_NAMES.get(typ, typ)})"
        if flags_op & ~FLAG_RELU:
            raise FormatError(f"{name}: unknown flags")
        if reserved_op:
            raise FormatError(f"{name}: reserved bytes 58-59 must be 0")
        if wbits != TERNARY_BITS and (packing or gsize or asz or ao):
            raise FormatError(f"{name}: packing and group_size/alpha fields must be 0 "
                              "(not ternary)")
        op = Op(type=typ, input0=in0, input1=in1, output=out, relu=bool(flags_op & FLAG_RELU),
                kernel_h=kh, kernel_w=kw, stride_h=sh, stride_w=sw, pad_top=pt, pad_left=pl,
                pad_bottom=pb, pad_right=pr, groups=groups, avg_shift=avg_shift)
        if typ in (CONV2D, DENSE):
            if wbits not in (8, TERNARY_BITS):
                raise FormatError(f"{name}: weight_bits {wbits}, only 8 and 2 are supported")
            if not (in0 < nv and out < nv):
                raise FormatError(f"{name}: value id out of range")
            if typ == CONV2D and (groups < 1 or values[in0].c % groups):
                raise FormatError(f"{name}: groups {groups} must divide Cin")
            ws, bs, fs = _expected_tensor_shapes(op, values[in0], values[out])
            n_w = int(np.prod(ws))
            if wbits == TERNARY_BITS:
                kk = n_w // ws[0]
                if not 1 <= gsize <= kk:
                    raise FormatError(f"{name}: group_size {gsize} outside [1, K = {kk}]")
                if packing not in (PACKING_2BIT, PACKING_DENSE):
                    raise FormatError(f"{name}: packing {packing} unknown (0 2-bit, 1 dense)")
                if packing == PACKING_DENSE and version < DENSE_VERSION:
                    raise FormatError(f"{name}: packing 1 (dense) in a version {version} file")
                ng = -(-kk // gsize)
                cb, ab = packed_sizes(n_w, ws[0] * ng, packing)
                raw = tensor(wo, wsz, cb, "<u1", (cb,), f"{name} codes").tobytes()
                araw = tensor(ao, asz, ab, "<u1", (ab,), f"{name} alpha")
                if packing == PACKING_DENSE:
                    codes = unpack_dense(raw, n_w, f"{name} codes").reshape(ws)
                    alpha = unpack_alpha7(araw.tobytes(), ws[0] * ng, f"{name} alpha")
                else:
                    codes = unpack_codes(raw, n_w, f"{name} codes").reshape(ws)
                    alpha = araw
                alpha = alpha.reshape(ws[0], ng)
                if np.any(alpha > 127):
                    raise FormatError(f"{name}: alpha above 127")
                op.set_ternary(codes, alpha, gsize, packing)
            else:
                op.weights = tensor(wo, wsz, n_w, "<i1", ws, f"{name} weights")
            op.bias = tensor(bo, bsz, 4 * bs[0], "<i4", bs, f"{name} bias")
            op.flw = tensor(fo, fsz, fs[0], "<i1", fs, f"{name} flw")
            op.weights = op.weights.astype(np.int8)
            op.bias = op.bias.astype(np.int32)
            op.flw = op.flw.astype(np.int8)
        elif wbits or wo or wsz or bo or bsz or fo or fsz:
            raise FormatError(f"{name}: op has no tensors, their fields must be 0")
        ops.append(op)

    meta = []
    pos = meta_offset
    for i in range(nm):
        if pos + 8 > payload_offset:
            raise FormatError(f"metadata entry {i} outside the header region")
        kl, vl = struct.unpack_from("<II", data, pos)
        end = pos + 8 + kl + vl
        if end > payload_offset:
            raise FormatError(f"metadata entry {i} outside the header region")
        try:
            key = data[pos + 8:pos + 8 + kl].decode("utf-8")
            val = data[pos + 8 + kl:end].decode("utf-8")
        except UnicodeDecodeError as e:
            raise FormatError(f"metadata entry {i}: not UTF-8") from e
        meta.append((key, val))
        pos = _align(end, 4)

    g = Graph(values=values, ops=ops, output_value=output_value, meta=meta,
              preprocess=preprocess)
    validate(g)
    if num_classes != g.num_classes:
        raise FormatError("num_classes does not match the output value")
    return g


def set_packing(g: Graph, packing: int) -> int:
    """Stores every ternary op of `g` in `packing` (same codes and α's: the same model);
    returns how many ops that is."""
    ops = [op for op in g.ops if op.codes is not None]
    for op in ops:
        op.packing = packing
    return len(ops)


def read(path: str) -> Graph:
    with open(path, "rb") as f:
        return from_bytes(f.read())
