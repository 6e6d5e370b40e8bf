"""Command line: `python3 -m f8train {random-model,zoo,calibrate,train,fashion,ternarize,
fgq-table,repack,simulate,quantize,export,eval,info} ...` (see --help)."""

from __future__ import annotations

import argparse
import os
import shlex
import sys

# OpenMP threads that spin while waiting steal the CPU from each other as soon as anything else
# runs on the 2 cores: measured 20 s → 14.5 s for a short training run beside one busy process,
# and no difference on an idle machine. Must be set before torch (libgomp) loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .fileformat import PACKINGS  # noqa: E402 (numpy only; torch loads in the commands)

FASHION_DATA = "/usr/share/datasets/fashion-mnist"


def _probability(text: str) -> float:
    try:
        p = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}")
    if not 0.0 <= p <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text}")
    return p


def _shape(text: str):
    try:
        h, w, c = (int(t) for t in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError("expected HxWxC, e.g. 28x28x1")
    if min(h, w) < 1 or c not in (1, 3):
        raise argparse.ArgumentTypeError("H and W must be >= 1 and C must be 1 or 3")
    return h, w, c


def command_line() -> str:
    """The command that made a file, for the `created_by` metadata key."""
    return "python3 -m f8train " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def cmd_random_model(args) -> int:
    from . import fileformat, randmodel
    h, w, c = args.input
    make = randmodel.op_zoo if args.zoo else randmodel.small_cnn
    g = make(h, w, c, classes=args.classes, seed=args.seed)
    g.meta = [(k, command_line() if k == "created_by" else v) for k, v in g.meta]
    size = fileformat.write(g, args.out)
    print(f"wrote {args.out}: {len(g.ops)} ops, {len(g.values)} values, {size} bytes")
    return 0


def cmd_zoo(args) -> int:
    import time
    import torch
    from . import fileformat, zoo
    h, w, c = args.input
    os.makedirs(args.out, exist_ok=True)
    state = torch.load(args.state_dict, map_location="cpu") if args.state_dict else None
    for arch in args.arch:
        t0 = time.time()
        g, _ = zoo.random_model(arch, h, w, c, args.classes, seed=args.seed, n_calib=args.calib,
                                state_dict=state, created_by=command_line())
        path = os.path.join(args.out, arch + ".f8")
        tmp = path + ".tmp"
        size = fileformat.write(g, tmp)
        os.replace(tmp, path)               # atomic: a reader may have the old file mmapped
        print(f"wrote {path}: {len(g.ops)} ops, {size} bytes, {time.time() - t0:.1f} s")
    return 0


def cmd_calibrate(args) -> int:
    """Post-training calibration: float zoo model + a few hundred images → .f8, no retraining."""
    import time
    import numpy as np
    import torch
    from . import fileformat, imagefolder, simulate, zoo
    h, w, c = args.input
    t0 = time.time()
    x, _, classes = imagefolder.load_folder(args.data, h, w, c, limit=args.images,
                                            seed=args.seed)
    model = zoo.build_float(args.arch, len(classes), c)
    if args.state_dict:
        model.load_state_dict(torch.load(args.state_dict, map_location="cpu"))
    meta = [("name", args.name or args.arch), ("labels", "\n".join(classes)),
            ("description", f"{args.arch}, post-training calibration on {len(x)} images "
                            f"of {args.data}"),
            ("created_by", command_line())]
    g = zoo.to_graph(args.arch, model, h, w, c, x, meta, fl_rule=args.fl_rule)
    print(f"calibrated on {len(x)} images in {time.time() - t0:.1f} s")
    if args.eval_data:
        xe, ye, _ = imagefolder.load_folder(args.eval_data, h, w, c)
        pred = simulate.top1(simulate.run(g, xe, batch=32))
        with torch.no_grad():
            fp = np.concatenate([model(zoo.images_to_float(xe[i:i + 64])).argmax(1).numpy()
                                 for i in range(0, len(xe), 64)])
        acc_int, acc_fp = 100 * float(np.mean(pred == ye)), 100 * float(np.mean(fp == ye))
        print(f"top-1 on {len(xe)} images: float {acc_fp:.2f}%, integer {acc_int:.2f}% "
              f"(loss {acc_fp - acc_int:.2f} points)")
        g.meta += [("accuracy.fp32", f"{acc_fp:.2f}"), ("accuracy.int", f"{acc_int:.2f}")]
    tmp = args.out + ".tmp"
    size = fileformat.write(g, tmp)
    os.replace(tmp, args.out)
    print(f"wrote {args.out}: {len(g.ops)} ops, {size} bytes")
    return 0


def cmd_train(args) -> int:
    from . import zootrain
    epochs_fp = args.epochs_fp if args.epochs_fp is not None else (0 if args.state_dict else 10)
    zootrain.run(args.arch, args.data, args.val, args.input, args.out, args.report,
                 args.state_dict, epochs_fp, args.epochs_q, args.batch, args.lr_fp, args.lr_q,
                 args.calib_images, args.seed, args.name or args.arch, command_line(),
                 checkpoint=args.checkpoint, resume=args.resume)
    return 0


def cmd_fashion(args) -> int:
    from . import train
    return train.main(args, command_line())


def cmd_ternarize(args) -> int:
    from . import fgq
    if args.group < 1:
        raise ValueError("--group must be at least 1")
    if args.data is None and not args.arch:
        args.data = FASHION_DATA
    return fgq.main(args, command_line())


def cmd_repack(args) -> int:
    from . import fileformat
    g = fileformat.read(args.model)
    n = fileformat.set_packing(g, fileformat.PACKINGS[args.packing])
    if not n:
        raise ValueError(f"{args.model} has no ternary op to repack")
    before = os.path.getsize(args.model)
    g.meta = [(k, v) for k, v in g.meta if k != "repacked_by"] + [("repacked_by", command_line())]
    tmp = args.out + ".tmp"
    size = fileformat.write(g, tmp)
    os.replace(tmp, args.out)
    print(f"wrote {args.out}: {size} bytes ({n} ternary ops in the {args.packing} packing; "
          f"{args.model} was {before} bytes)")
    return 0


def cmd_fgq_table(args) -> int:
    from . import fgq
    fgq.run_table(args.checkpoint, args.out, args.finetune, args.data, command_line(),
                  quick=args.quick, correct=args.correct)
    return 0


def cmd_simulate(args) -> int:
    import numpy as np
    from . import fileformat, simulate
    g = fileformat.read(args.model)
    v0 = g.input
    raw = np.fromfile(args.raw, dtype=np.uint8)
    per = v0.h * v0.w * v0.c
    if raw.size % per:
        print(f"{args.raw}: size is not a multiple of {per}", file=sys.stderr)
        return 1
    logits = simulate.run(g, raw.reshape(-1, v0.h, v0.w, v0.c))
    for row in logits:
        print(" ".join(str(int(v)) for v in row))
    return 0


def cmd_export_checkpoint(args) -> int:
    from . import train
    train.export_checkpoint(args.checkpoint, args.out, args.data, command_line(),
                            calibrate_fls=args.command == "quantize")
    return 0


def cmd_eval(args) -> int:
    """Integer-simulated top-1 of a .f8 on Fashion-MNIST's test set or an ImageFolder."""
    import numpy as np
    from . import data, fileformat, imagefolder, simulate
    g = fileformat.read(args.model)
    v0 = g.input
    if args.data == "fashion":
        root = FASHION_DATA
        x = data.load_idx(os.path.join(root, data.FILES["test_x"])).reshape(-1, 28, 28, 1)
        y = data.load_idx(os.path.join(root, data.FILES["test_y"])).astype(np.int64)
        if (v0.h, v0.w, v0.c) != (28, 28, 1):
            x = np.stack([imagefolder.resize(im, v0.h, v0.w) for im in x])
            x = np.repeat(x, v0.c, axis=3) if v0.c == 3 else x
    else:
        x, y, classes = imagefolder.load_folder(args.data, v0.h, v0.w, v0.c, limit=args.limit)
        if classes != g.labels():
            print("note: the folder's class names differ from the model's labels; comparing "
                  "by index", file=sys.stderr)
    if args.limit:
        x, y = x[:args.limit], y[:args.limit]
    pred = simulate.top1(simulate.run(g, x, batch=64))
    print(f"{args.model}: integer-simulated top-1 {100 * float(np.mean(pred == y)):.2f}% "
          f"on {len(y)} images")
    return 0


def cmd_info(args) -> int:
    from . import fileformat
    g = fileformat.read(args.model)
    for i, v in enumerate(g.values):
        print(f"value {i}: {v.h}x{v.w}x{v.c} {fileformat.DTYPE_NAMES[v.dtype]} fl {v.fl}"
              + (f" bits {v.bits}" if v.bits else ""))
    for i, op in enumerate(g.ops):
        extra = ""
        if op.flw is not None:
            extra = f" weight_bits {op.weight_bits} flw {sorted(set(int(f) for f in op.flw))}"
        if op.codes is not None:
            packing = next(k for k, v in fileformat.PACKINGS.items() if v == op.packing)
            extra += f" group_size {op.group_size} packing {packing}"
        print(f"op {i}: {fileformat.OP_NAMES[op.type]} {op.input0}"
              f"{'' if op.input1 == fileformat.NO_INPUT else ',' + str(op.input1)} -> {op.output}"
              f" k {op.kernel_h}x{op.kernel_w} s {op.stride_h}x{op.stride_w} pad {op.pads}"
              f" groups {op.groups} relu {int(op.relu)} avg_shift {op.avg_shift}{extra}")
    for k, v in g.meta:
        print(f"meta {k} = {v!r}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python3 -m f8train",
                                description="F8Net fixed-point trainer and .f8 tools")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("random-model", help="write a random-weight model with valid shapes")
    r.add_argument("--out", required=True, help="output .f8 path")
    r.add_argument("--input", type=_shape, default=(28, 28, 1), help="HxWxC (default 28x28x1)")
    r.add_argument("--classes", type=int, default=10, help="number of classes (default 10)")
    r.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    r.add_argument("--zoo", action="store_true",
                   help="an op zoo exercising every op and option instead of a small CNN")
    r.set_defaults(func=cmd_random_model)

    z = sub.add_parser("zoo", help="export ResNet-18/50, MobileNet-V1/V2 (torchvision layouts) "
                       "as .f8: random weights, or a state_dict; BN folded, FLs calibrated")
    z.add_argument("--out", default="build/zoo", help="output folder (default build/zoo)")
    z.add_argument("--arch", nargs="+", default=["resnet18", "resnet50", "mobilenet_v1",
                                                   "mobilenet_v2"],
                   choices=["resnet18", "resnet50", "mobilenet_v1", "mobilenet_v2"],
                   help="architectures (default: all four)")
    z.add_argument("--input", type=_shape, default=(224, 224, 3),
                   help="HxWxC (default 224x224x3)")
    z.add_argument("--classes", type=int, default=1000, help="number of classes (default 1000)")
    z.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    z.add_argument("--calib", type=int, default=8,
                   help="random calibration images for the FLs (default 8)")
    z.add_argument("--state-dict", help="a torchvision-style state_dict (.pth) to convert "
                   "instead of random weights (one --arch)")
    z.set_defaults(func=cmd_zoo)

    cal = sub.add_parser("calibrate", help="post-training calibration: a float zoo model "
                         "(state_dict) + a few hundred ImageFolder JPEGs -> .f8, no retraining")
    cal.add_argument("--arch", required=True,
                     choices=["resnet18", "resnet50", "mobilenet_v1", "mobilenet_v2",
                              "fashionnet"])
    cal.add_argument("--state-dict", help="torchvision-style state_dict (.pth); without it, "
                     "random weights (a smoke test)")
    cal.add_argument("--data", required=True, help="ImageFolder directory (one folder per "
                     "class) of JPEGs to calibrate on")
    cal.add_argument("--images", type=int, default=256,
                     help="calibration images drawn from --data (default 256)")
    cal.add_argument("--eval-data", help="ImageFolder directory to measure float and integer "
                     "top-1 on (written into the metadata)")
    cal.add_argument("--input", type=_shape, default=(224, 224, 3),
                     help="HxWxC (default 224x224x3)")
    cal.add_argument("--name", help="model name in the metadata (default: the architecture)")
    cal.add_argument("--fl-rule", choices=["std", "rmse"], default="std",
                     help="activation FLs: F8Net's std rule (default) or tiny fine-tuning's "
                     "RMSE grid search")
    cal.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    cal.add_argument("--out", required=True, help="output .f8 path")
    cal.set_defaults(func=cmd_calibrate)

    t = sub.add_parser("train", help="train a zoo architecture on ImageFolder JPEGs: FP32, "
                       "calibration, quantization-aware fine-tuning, export")
    t.add_argument("--arch", required=True,
                   choices=["resnet18", "resnet50", "mobilenet_v1", "mobilenet_v2", "fashionnet"],
                   help="fashionnet: the small ResNet for 28x28 grayscale (the Fashion model's "
                   "network, widths 24 48 96)")
    t.add_argument("--data", required=True, help="ImageFolder directory of training JPEGs "
                   "(one folder per class)")
    t.add_argument("--val", help="ImageFolder directory to measure top-1 on (default: the "
                   "training images)")
    t.add_argument("--input", type=_shape, default=(224, 224, 3),
                   help="HxWxC the model takes (default 224x224x3)")
    t.add_argument("--state-dict", help="torchvision-style state_dict (.pth) to start from "
                   "(e.g. ImageNet weights with this class count)")
    t.add_argument("--epochs-fp", type=int, default=None,
                   help="FP32 epochs (default 10, or 0 with --state-dict)")
    t.add_argument("--epochs-q", type=int, default=3, help="quantization-aware epochs (default 3)")
    t.add_argument("--batch", type=int, default=32, help="batch size (default 32)")
    t.add_argument("--lr-fp", type=float, default=0.05,
                   help="FP32 peak learning rate, cosine to 0 (default 0.05)")
    t.add_argument("--lr-q", type=float, default=0.005,
                   help="quantized fine-tuning learning rate, cosine to 0 (default 0.005)")
    t.add_argument("--calib-images", type=int, default=256,
                   help="training images that calibrate the FLs (default 256)")
    t.add_argument("--name", help="model name in the metadata (default: the architecture)")
    t.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    t.add_argument("--report", help="report JSON path (report.png is written beside it)")
    t.add_argument("--checkpoint", help="checkpoint file, rewritten after every epoch")
    t.add_argument("--resume", action="store_true",
                   help="continue the run saved in --checkpoint")
    t.add_argument("--out", required=True, help="output .f8 path")
    t.set_defaults(func=cmd_train)

    f = sub.add_parser("fashion", help="train, quantize and export the Fashion-MNIST model")
    f.add_argument("--out", required=True, help="output .f8 path")
    f.add_argument("--report", help="output report JSON path")
    f.add_argument("--epochs-fp", type=int, default=None, help="FP32 training epochs")
    f.add_argument("--epochs-q", type=int, default=None, help="quantization-aware epochs")
    f.add_argument("--quick", action="store_true",
                   help="a few thousand images, 1 epoch each: a smoke test, not a model")
    f.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    f.add_argument("--widths", type=int, nargs=3, metavar=("W28", "W14", "W7"),
                   help="channels at 28x28, 14x14, 7x7 (default 24 48 96)")
    f.add_argument("--pact", action="store_true", help="PACT in fixed point: a learned clip "
                   "level per activation during quantized training")
    f.add_argument("--jpeg-aug", type=_probability, default=None, metavar="P",
                   help="quantized training: send each image through a JPEG round trip "
                   "(quality 70-95) with probability P, as f8d receives them (default 0.5)")
    f.add_argument("--checkpoint", help="checkpoint file, rewritten after every epoch")
    f.add_argument("--resume", action="store_true",
                   help="continue the run saved in --checkpoint")
    f.add_argument("--calib-out", help="also write the calibration-only model (BN folded, FLs "
                   "calibrated, no fine-tuning) to this .f8 path")
    f.add_argument("--data", default=FASHION_DATA,
                   help="folder with the Fashion-MNIST idx .gz files")
    f.set_defaults(func=cmd_fashion)

    tz = sub.add_parser("ternarize", help="FGQ: ternary weights in groups of N (one 8-bit "
                        "alpha each), 8- or 4-bit activations, from an FP32 `fashion "
                        "--checkpoint` or a zoo architecture's FP32 weights (--arch; both "
                        "optionally fine-tuned) or from any .f8 (the zoo's)")
    tz.add_argument("model", help="a `fashion --checkpoint` file (FP32 phase, or its .fp32 "
                    "copy), a zoo architecture's FP32 weights with --arch, or a .f8 to "
                    "ternarize as it is (no --finetune, --act-bits 8)")
    tz.add_argument("--out", required=True, help="output .f8 path")
    tz.add_argument("--group", type=int, default=4, help="N, weights per alpha (default 4)")
    tz.add_argument("--act-bits", type=int, choices=[8, 4], default=8,
                    help="activation word length of the ternary layers' inputs (default 8); "
                    "4: their FLs chosen by the smallest squared error on training images "
                    "(with --arch: the u8 inputs; s8 ones, MobileNet-V2's bottlenecks, keep 8)")
    tz.add_argument("--method", choices=["fgq", "twn"], default="fgq",
                    help="fgq: exact per-group search (default); twn: one threshold 0.7·mean|W| "
                    "and one alpha per layer (the baseline)")
    tz.add_argument("--correct", action=argparse.BooleanOptionalAction, default=None,
                    help="post-training output correction of the ternary layers: a least-"
                    "squares factor per output channel on its alphas and a bias shift, from "
                    "forward passes on 2,000 training images (with --arch: the --calib-images; "
                    "no gradient). The default without --finetune (--no-correct: the plain FGQ "
                    "search); off by default with --finetune; not available for a .f8 source "
                    "(no training images)")
    tz.add_argument("--packing", choices=sorted(PACKINGS), default="dense",
                    help="how the file stores the ternary weights (docs/FORMAT.md §2.5): dense "
                    "(default: base-3 codes, 5 per byte, and 7-bit alphas, format version 2) or "
                    "2bit (2-bit codes and 8-bit alphas, version 1)")
    tz.add_argument("--finetune", type=int, default=0, metavar="EPOCHS",
                    help="epochs of fine-tuning with the ternary quantizer in the loop (STE); "
                    "with --arch on every image of --data")
    tz.add_argument("--report", help="report JSON path")
    tz.add_argument("--quick", action="store_true", help="a few thousand images: a smoke test")
    tz.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    tz.add_argument("--data", default=None,
                    help="folder with the Fashion-MNIST idx .gz files (default "
                    f"{FASHION_DATA}); with --arch, an ImageFolder of JPEGs to calibrate (and "
                    "fine-tune) on")
    tz.add_argument("--arch", choices=["resnet18", "resnet50", "mobilenet_v1", "mobilenet_v2",
                                       "fashionnet"],
                    help="the model is the FP32 weights of this zoo architecture: an `f8train "
                    "train --checkpoint` file or a torchvision-style state_dict; BN folded, "
                    "FLs calibrated on --data, every conv but the first and the classifier "
                    "ternarized from the float weights; --act-bits, --correct and --finetune "
                    "as for the Fashion network")
    tz.add_argument("--input", type=_shape, default=(224, 224, 3),
                    help="with --arch: input HxWxC (default 224x224x3)")
    tz.add_argument("--calib-images", type=int, default=256,
                    help="with --arch: calibration images drawn from --data for the FLs, the "
                    "4-bit FLs and the output correction (default 256)")
    tz.add_argument("--batch", type=int, default=32,
                    help="with --arch and --finetune: batch size (default 32)")
    tz.set_defaults(func=cmd_ternarize)

    rp = sub.add_parser("repack", help="rewrite a ternary .f8's weights in another packing "
                        "(docs/FORMAT.md §2.5): the same codes and alphas, the same model")
    rp.add_argument("model")
    rp.add_argument("--out", required=True, help="output .f8 path (may be the input)")
    rp.add_argument("--packing", choices=sorted(PACKINGS), default="dense",
                    help="dense (default) or 2bit")
    rp.set_defaults(func=cmd_repack)

    ft = sub.add_parser("fgq-table", help="every row of the FGQ accuracy table (docs/"
                        "TRAINING.md) from one FP32 `fashion --checkpoint`")
    ft.add_argument("checkpoint")
    ft.add_argument("--out", required=True, help="output folder: a .f8 per row and "
                    "fgq_report.json")
    ft.add_argument("--finetune", type=int, default=2, metavar="EPOCHS",
                    help="fine-tuning epochs of the fine-tuned rows (default 2)")
    ft.add_argument("--correct", action="store_true",
                    help="every row with the post-training output correction (ternarize "
                    "--correct)")
    ft.add_argument("--quick", action="store_true", help="a few thousand images: a smoke test")
    ft.add_argument("--data", default=FASHION_DATA,
                    help="folder with the Fashion-MNIST idx .gz files")
    ft.set_defaults(func=cmd_fgq_table)

    s = sub.add_parser("simulate", help="run the integer simulator; print one logit row per image")
    s.add_argument("model")
    s.add_argument("raw", help="file of N images, input_h*input_w*input_c u8 bytes each")
    s.set_defaults(func=cmd_simulate)

    for name, text in (("quantize", "a `fashion --checkpoint` file (FP32 or later) -> the "
                                     "calibration-only .f8: BN folded, FLs calibrated, no "
                                     "fine-tuning"),
                       ("export", "a quantized-phase `fashion --checkpoint` file -> .f8 as "
                                  "trained")):
        q = sub.add_parser(name, help=text)
        q.add_argument("--checkpoint", required=True, help="checkpoint file (or its .fp32 copy)")
        q.add_argument("--out", required=True, help="output .f8 path")
        q.add_argument("--data", default=FASHION_DATA,
                       help="folder with the Fashion-MNIST idx .gz files")
        q.set_defaults(func=cmd_export_checkpoint)

    e = sub.add_parser("eval", help="integer-simulated top-1 of a .f8 on Fashion-MNIST's test "
                       "set or an ImageFolder directory")
    e.add_argument("model")
    e.add_argument("--data", default="fashion",
                   help="'fashion' (default) or an ImageFolder directory of JPEGs")
    e.add_argument("--limit", type=int, default=0, help="only this many images (0: all)")
    e.set_defaults(func=cmd_eval)

    i = sub.add_parser("info", help="print a model's values, ops and metadata")
    i.add_argument("model")
    i.set_defaults(func=cmd_info)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError) as e:
        # the user's data or files (a missing folder or checkpoint, mismatched classes, a
        # broken .f8): one line saying what, not a traceback
        print(f"f8train {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
