"""The .f8 writer and reader against docs/FORMAT.md §2: layout, checksums, corruption."""

import struct
import zlib

import numpy as np
import pytest

from f8train import fileformat as ff
from f8train import randmodel


def _graphs():
    return [randmodel.small_cnn(seed=1), randmodel.op_zoo(seed=2),
            randmodel.op_zoo(20, 17, 3, classes=4, seed=3)]


def _same(a: ff.Graph, b: ff.Graph):
    assert a.values == b.values and a.meta == b.meta and a.output_value == b.output_value
    assert len(a.ops) == len(b.ops)
    for x, y in zip(a.ops, b.ops):
        for f in ("type", "input0", "input1", "output", "relu", "kernel_h", "kernel_w",
                  "stride_h", "stride_w", "pad_top", "pad_left", "pad_bottom", "pad_right",
                  "groups", "avg_shift", "weight_bits"):
            assert getattr(x, f) == getattr(y, f), f
        for f in ("weights", "bias", "flw"):
            u, v = getattr(x, f), getattr(y, f)
            assert (u is None and v is None) or (np.array_equal(u, v) and u.dtype == v.dtype)


@pytest.mark.parametrize("g", _graphs(), ids=["small", "zoo", "zoo-rgb"])
def test_round_trip(g, tmp_path):
    path = tmp_path / "m.f8"
    size = ff.write(g, str(path))
    data = path.read_bytes()
    assert size == len(data)
    g2 = ff.read(str(path))
    _same(g, g2)
    assert ff.to_bytes(g2) == data         # byte-identical on re-serialisation


def test_header_layout_and_checksums():
    g = randmodel.op_zoo(seed=2)
    data = ff.to_bytes(g)
    assert data[:8] == b"F8MODEL\0"
    version, header_crc, payload_crc, flags = struct.unpack_from("<IIII", data, 8)
    file_size, payload_offset = struct.unpack_from("<QQ", data, 24)
    in_h, in_w, in_c, pre, ncls, nv, no, nm = struct.unpack_from("<8I", data, 40)
    vo, oo, mo = struct.unpack_from("<QQQ", data, 72)
    (out_v,) = struct.unpack_from("<I", data, 96)
    assert (version, flags, file_size) == (1, 0, len(data))
    assert (in_h, in_w, in_c, pre, ncls) == (28, 28, 1, 1, 10)
    assert (nv, no, nm) == (len(g.values), len(g.ops), len(g.meta))
    assert out_v == g.output_value and data[100:128] == bytes(28)
    assert payload_offset % 64 == 0 and vo % 8 == 0 and oo % 8 == 0 and mo % 4 == 0
    assert vo == 128 and oo == vo + 16 * nv and mo == oo + 128 * no
    # header_crc32 over [0, payload_offset) with its own four bytes zeroed
    region = bytearray(data[:payload_offset])
    region[12:16] = bytes(4)
    assert zlib.crc32(bytes(region)) == header_crc
    assert zlib.crc32(data[payload_offset:]) == payload_crc
    # every tensor is 64-byte aligned inside the payload with the size its shape implies
    for k in range(no):
        fields = struct.unpack_from("<6Q", data, oo + 128 * k + 64)
        op = g.ops[k]
        if op.weights is None:
            assert fields == (0,) * 6
            continue
        for (off, size), arr in zip(zip(fields[::2], fields[1::2]), (op.weights, op.bias, op.flw)):
            assert off % 64 == 0 and off >= payload_offset and off + size <= len(data)
            assert size == arr.nbytes
            assert np.array_equal(np.frombuffer(data, arr.dtype, arr.size, off), arr.ravel())


def test_value_and_op_records():
    g = randmodel.op_zoo(seed=2)
    data = ff.to_bytes(g)
    vo, oo = struct.unpack_from("<QQ", data, 72)
    for i, v in enumerate(g.values):
        assert struct.unpack_from("<IIIBbH", data, vo + 16 * i) == (v.h, v.w, v.c, v.dtype,
                                                                    v.fl, 0)
    for k, op in enumerate(g.ops):
        rec = struct.unpack_from("<16I", data, oo + 128 * k)
        assert rec[0] == op.type and rec[1] == int(op.relu)
        assert rec[3] == (op.input1 if op.type == ff.ADD else 0xFFFFFFFF)
        assert rec[13] == op.groups and rec[14] == (8 if op.weights is not None else 0)
        assert rec[15] == op.avg_shift
        assert data[oo + 128 * k + 112:oo + 128 * k + 128] == bytes(16)


def test_metadata_entries_padded_to_4():
    g = randmodel.small_cnn()
    g.meta.append(("odd", "abc"))           # 3 + 3 bytes: needs 2 bytes of padding
    data = ff.to_bytes(g)
    (mo,) = struct.unpack_from("<Q", data, 88)
    pos, seen = mo, []
    for _ in g.meta:
        kl, vl = struct.unpack_from("<II", data, pos)
        seen.append((data[pos + 8:pos + 8 + kl].decode(), data[pos + 8 + kl:pos + 8 + kl + vl]
                     .decode()))
        pos = (pos + 8 + kl + vl + 3) // 4 * 4
    assert seen == g.meta
    assert ff.from_bytes(data).meta_dict()["labels"].split("\n")[9] == "Ankle boot"


@pytest.mark.parametrize("where", ["header", "value table", "op table", "metadata", "payload"])
def test_corrupted_byte_is_detected(where):
    data = bytearray(ff.to_bytes(randmodel.op_zoo(seed=2)))
    vo, oo, mo = struct.unpack_from("<QQQ", data, 72)
    (po,) = struct.unpack_from("<Q", data, 32)
    pos = {"header": 44, "value table": vo + 13, "op table": oo + 128 + 40,
           "metadata": mo + 9, "payload": po + 100}[where]
    data[pos] ^= 0x01
    with pytest.raises(ff.FormatError, match="crc32"):
        ff.from_bytes(bytes(data))


def test_other_damage_is_detected():
    data = ff.to_bytes(randmodel.small_cnn())
    with pytest.raises(ff.FormatError, match="file_size"):
        ff.from_bytes(data + b"\0")
    with pytest.raises(ff.FormatError, match="file_size"):
        ff.from_bytes(data[:-1])
    with pytest.raises(ff.FormatError, match="magic"):
        ff.from_bytes(b"F8MODEX\0" + data[8:])
    with pytest.raises(ff.FormatError):
        ff.from_bytes(data[:100])


def test_writer_refuses_inconsistent_graphs():
    g = randmodel.small_cnn()
    g.values[1].h += 1                               # breaks the §3 shape rule
    with pytest.raises(ff.FormatError, match="shape rule"):
        ff.to_bytes(g)
    g = randmodel.small_cnn()
    g.meta = [kv for kv in g.meta if kv[0] != "labels"]
    with pytest.raises(ff.FormatError, match="labels"):
        ff.to_bytes(g)
    g = randmodel.small_cnn()
    g.ops[0].weights = g.ops[0].weights[:, :, :, :0]
    with pytest.raises(ff.FormatError, match="weights"):
        ff.to_bytes(g)
    g = randmodel.op_zoo()
    mp = next(op for op in g.ops if op.type == ff.MAXPOOL and op.pad_top)
    mp.pad_top = mp.kernel_h                   # a window could lie wholly in the padding
    g.values[mp.output].h += 1
    with pytest.raises(ff.FormatError, match="smaller than the kernel"):
        ff.to_bytes(g)
    g = randmodel.small_cnn()
    g.values[1].fl = g.values[1].fl - 32 if g.values[1].fl > 0 else -32   # shift > 31
    with pytest.raises(ff.FormatError, match="31"):
        ff.to_bytes(g)
