"""A deliberately naive, one-element-at-a-time reading of docs/FORMAT.md §1 and §3, in plain
Python integers. It is the scalar twin of the vectorised simulator: slow, but with nothing
clever (no im2col, no float matmul, no strided views) that could hide a mistake."""

from f8train.fileformat import ADD, AVGPOOL, CONV2D, DENSE, DTYPE_RANGE, MAXPOOL


def requant(v, n, dtype):
    if n > 0:
        q = v // (1 << n)                 # floor
        r = v - q * (1 << n)
        half = 1 << (n - 1)
        if r > half or (r == half and q % 2 == 1):
            q += 1
    else:
        q = v * (1 << (-n))
    lo, hi = DTYPE_RANGE[dtype]
    return min(max(q, lo), hi)


def wrap32(v):
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= (1 << 31) else v


def run_image(g, image):
    """image: nested lists or array (H, W, C) of u8; returns the logits as a list of ints."""
    vals = {0: [[[int(image[y][x][c]) for c in range(g.values[0].c)]
                 for x in range(g.values[0].w)] for y in range(g.values[0].h)]}
    for op in g.ops:
        vin, vout = g.values[op.input0], g.values[op.output]
        a = vals[op.input0]
        out = [[[0] * vout.c for _ in range(vout.w)] for _ in range(vout.h)]
        for y in range(vout.h):
            for x in range(vout.w):
                for o in range(vout.c):
                    if op.type == CONV2D:
                        cin_g = vin.c // op.groups
                        g_ = o // (vout.c // op.groups)
                        acc = int(op.bias[o])
                        for ky in range(op.kernel_h):
                            for kx in range(op.kernel_w):
                                iy = y * op.stride_h + ky - op.pad_top
                                ix = x * op.stride_w + kx - op.pad_left
                                if 0 <= iy < vin.h and 0 <= ix < vin.w:
                                    for i in range(cin_g):
                                        acc += (a[iy][ix][g_ * cin_g + i]
                                                * int(op.weights[o, ky, kx, i]))
                        v, f = wrap32(acc), int(op.flw[o]) + vin.fl
                    elif op.type == DENSE:
                        flat = [a[yy][xx][cc] for yy in range(vin.h) for xx in range(vin.w)
                                for cc in range(vin.c)]
                        acc = int(op.bias[o]) + sum(p * int(w) for p, w in zip(flat, op.weights[o]))
                        v, f = wrap32(acc), int(op.flw[o]) + vin.fl
                    elif op.type == ADD:
                        vb = g.values[op.input1]
                        f = max(vin.fl, vb.fl)
                        v = (a[y][x][o] * (1 << (f - vin.fl))
                             + vals[op.input1][y][x][o] * (1 << (f - vb.fl)))
                    else:
                        items = []
                        for ky in range(op.kernel_h):
                            for kx in range(op.kernel_w):
                                iy = y * op.stride_h + ky - op.pad_top
                                ix = x * op.stride_w + kx - op.pad_left
                                if 0 <= iy < vin.h and 0 <= ix < vin.w:
                                    items.append(a[iy][ix][o])
                        if op.type == MAXPOOL:
                            v, f = max(items), vin.fl
                        else:
                            assert op.type == AVGPOOL
                            v, f = sum(items), vin.fl + op.avg_shift
                    if op.relu:
                        v = max(v, 0)
                    out[y][x][o] = requant(v, f - vout.fl, vout.dtype)
        vals[op.output] = out
    return vals[g.output_value][0][0]
