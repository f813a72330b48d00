"""Forward+backward time per image of the pix2pixHD global generator on CPU.

Prints parameters, forward GFLOP and seconds per image (fp32 vs bf16 autocast +
channels_last). Usage::

    python benchmarks/bench_models.py --ngf 32 --size 256 128 --threads 1 --iters 3
"""

from __future__ import annotations

import argparse
import copy
import time

import torch

from v2v_pipeline.models import GlobalGenerator, count_flops, count_parameters


def _step(model: torch.nn.Module, x: torch.Tensor, bf16: bool) -> None:
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        y = model(x)
    y.float().mean().backward()
    model.zero_grad(set_to_none=True)


def step_times(model: torch.nn.Module, x: torch.Tensor, iters: int) -> dict[str, float]:
    """Best-of-``iters`` fwd+bwd seconds per image for each precision / memory format.

    The variants run interleaved so that load from other processes affects them alike.
    """
    cl = copy.deepcopy(model).to(memory_format=torch.channels_last)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    variants = {
        "fp32 contiguous": (model, x, False),
        "fp32 channels_last": (cl, x_cl, False),
        "bf16 autocast contiguous": (model, x, True),
        "bf16 autocast channels_last": (cl, x_cl, True),
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    for args in variants.values():
        _step(*args)  # warm-up (oneDNN primitive creation)
    for _ in range(iters):
        for name, args in variants.items():
            start = time.perf_counter()
            _step(*args)
            times[name].append(time.perf_counter() - start)
    return {k: min(v) / x.shape[0] for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ngf", type=int, default=32)
    parser.add_argument("--n-downsampling", type=int, default=4)
    parser.add_argument("--n-blocks", type=int, default=9)
    parser.add_argument("--size", type=int, nargs=2, default=(256, 128), metavar=("W", "H"))
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--upsampling", default="transpose")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    w, h = args.size
    g = GlobalGenerator(3, 3, args.ngf, args.n_downsampling, args.n_blocks, upsampling=args.upsampling)
    x = torch.rand(args.batch, 3, h, w) * 2 - 1
    print(
        f"GlobalGenerator ngf={args.ngf} down={args.n_downsampling} blocks={args.n_blocks} "
        f"up={args.upsampling}: {count_parameters(g) / 1e6:.2f} M params, "
        f"{count_flops(g, x) / 1e9 / args.batch:.2f} GFLOP/forward/image at {w}x{h}; "
        f"threads={args.threads} batch={args.batch} cpu={torch.backends.cpu.get_cpu_capability()}"
    )
    for name, sec in step_times(g, x, args.iters).items():
        print(f"{name:28s}: {sec:.3f} s/image (forward+backward, best of {args.iters})")


if __name__ == "__main__":
    main()
