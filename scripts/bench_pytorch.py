#!/usr/bin/env python3
"""The SDPM network and training step of src/Sdpm.Engine rebuilt in PyTorch, timed like `sdpm bench --core`.

Usage: bench_pytorch.py --preset small --batch 8 --steps 5 --passes 5 --threads 2 [--optimizer custom|foreach] [--json]
Prints (or writes as JSON) the parameter count, the median train step and the median inference pass.
scripts/bench-pytorch.sh runs it beside `sdpm bench --core` and prints the ratio.

Same as the engine: layers, channels, GroupNorm groups, SiLU, FiLM, linear/full attention, time embedding, uniform
+-1/sqrt(fan_in) initialisation, augmentation (affine_grid + grid_sample, noise), the SDPM objective (Ld2 P2-weighted,
Ld1, Lp in the t < T/2 window, soft Dice; five .item() reads), the global-norm clip and Adam written as the engine's
per-parameter ops (--optimizer custom, the default). Not the same: the phantom's random draws (same recipe: a disk with a
lesion on every slice) and the random streams; --optimizer foreach uses torch.optim.Adam(foreach=True) and
clip_grad_norm_ instead (what a PyTorch user would write).
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {  # NetworkConfig.FromPreset: base, multipliers, blocks per level, image size, linear-attention levels, heads, head channels
    "tiny": (8, [1, 2], 1, 32, 1, 2, 8),
    "small": (16, [1, 2, 2, 4], 1, 128, 2, 2, 16),
    "paper": (32, [2, 4, 4, 8, 16, 16, 16], 2, 256, 3, 4, 32),
}


def group_norm(ch):  # Norms.Group
    g = 8 if ch % 8 == 0 and ch >= 32 else 4 if ch % 4 == 0 and ch >= 16 else 2 if ch % 2 == 0 else 1
    gn = nn.GroupNorm(g, ch)
    nn.init.ones_(gn.weight)
    nn.init.zeros_(gn.bias)
    return gn


class TimeEmbedding(nn.Module):
    def __init__(self, dim, out_dim):
        super().__init__()
        half = dim // 2
        self.register_buffer("freqs", torch.tensor([math.exp(-math.log(10000) * i / max(1, half - 1)) for i in range(half)], dtype=torch.float32), persistent=False)
        self.fc1 = nn.Linear(dim, out_dim)
        self.fc2 = nn.Linear(out_dim, out_dim)

    def forward(self, t):
        args = t.float().unsqueeze(1) * self.freqs.unsqueeze(0)
        emb = torch.cat([torch.sin(args), torch.cos(args)], 1)
        return self.fc2(F.silu(self.fc1(emb)))


class ResBlock(nn.Module):
    def __init__(self, cin, cout, tdim):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm1 = group_norm(cout)
        self.film = nn.Linear(tdim, 2 * cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.norm2 = group_norm(cout)
        self.skip = nn.Conv2d(cin, cout, 1)

    def forward(self, x, temb):
        h = self.norm1(self.conv1(x))
        s0, s1 = self.film(F.silu(temb)).unsqueeze(-1).unsqueeze(-1).chunk(2, 1)
        h = F.silu(h * s0 + h + s1)
        h = F.silu(self.norm2(self.conv2(h)))
        return h + self.skip(x)


class SelfAttention(nn.Module):
    def __init__(self, ch, heads, dim_head, linear):
        super().__init__()
        self.linear, self.heads, self.dim_head = linear, heads, dim_head
        self.scale = 1.0 / math.sqrt(dim_head)
        self.norm = group_norm(ch)
        self.qkv = nn.Conv2d(ch, 3 * heads * dim_head, 1, bias=False)
        self.proj = nn.Conv2d(heads * dim_head, ch, 1)

    def forward(self, x):
        b, _, h, w = x.shape
        q, k, v = (p.reshape(b, self.heads, self.dim_head, h * w) for p in self.qkv(self.norm(x)).chunk(3, 1))
        if self.linear:
            context = torch.matmul(k.softmax(-1), v.transpose(-1, -2))
            out = torch.matmul(context.transpose(-1, -2), q.softmax(-2) * self.scale)
        else:
            attn = (torch.matmul(q.transpose(-1, -2), k) * self.scale).softmax(-1)
            out = torch.matmul(v, attn.transpose(-1, -2))
        return x + self.proj(out.reshape(b, self.heads * self.dim_head, h, w))


class EncoderLevel(nn.Module):
    def __init__(self, cin, cout, tdim, blocks, attn, down, heads, dim_head):
        super().__init__()
        self.blocks = nn.ModuleList([ResBlock(cin if b == 0 else cout, cout, tdim) for b in range(blocks)])
        self.attention = nn.ModuleList([SelfAttention(cout, heads, dim_head, True)] if attn else [])
        self.down = nn.ModuleList([nn.Conv2d(cout, cout, 3, stride=2, padding=1)] if down else [])

    def forward(self, x, temb):
        for b in self.blocks:
            x = b(x, temb)
        for a in self.attention:
            x = a(x)
        return x, (self.down[0](x) if len(self.down) else x)


class Upsample(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class DecoderLevel(nn.Module):
    def __init__(self, ch, up_to, tdim, blocks, attn, heads, dim_head):
        super().__init__()
        self.blocks = nn.ModuleList([ResBlock(2 * ch if b == 0 else ch, ch, tdim) for b in range(blocks)])
        self.attention = nn.ModuleList([SelfAttention(ch, heads, dim_head, True)] if attn else [])
        self.up = nn.ModuleList([Upsample(ch, up_to)] if up_to > 0 else [])

    def forward(self, x, temb, skip):
        h = torch.cat([x, skip], 1)
        for b in self.blocks:
            h = b(h, temb)
        for a in self.attention:
            h = a(h)
        for u in self.up:
            h = u(h)
        return h


class Decoder(nn.Module):
    def __init__(self, ch, tdim, blocks, lin_levels, heads, dim_head):
        super().__init__()
        levels = len(ch)
        self.levels = nn.ModuleList([DecoderLevel(ch[l], ch[l - 1] if l > 0 else 0, tdim, blocks, l >= levels - lin_levels, heads, dim_head)
                                     for l in range(levels - 1, -1, -1)])
        self.out_norm = group_norm(ch[0])
        self.head = nn.Conv2d(ch[0], 1, 1)

    def forward(self, mid, temb, skips):
        h = mid
        for i, level in enumerate(self.levels):
            h = level(h, temb, skips[len(skips) - 1 - i])
        return self.head(F.silu(self.out_norm(h)))


class DiffusionUNet(nn.Module):
    def __init__(self, preset, streams=2):
        super().__init__()
        base, mult, blocks, _, lin_levels, heads, dim_head = PRESETS[preset]
        ch = [m * base for m in mult]
        tdim = 4 * base
        levels = len(ch)
        self.stem = nn.Conv2d(1, ch[0], 3, padding=1)
        self.time = TimeEmbedding(base, tdim)
        enc, prev = [], ch[0]
        for l in range(levels):
            enc.append(EncoderLevel(prev, ch[l], tdim, blocks, l >= levels - lin_levels, l < levels - 1, heads, dim_head))
            prev = ch[l]
        self.encoder = nn.ModuleList(enc)
        self.mid1 = ResBlock(prev, prev, tdim)
        self.mid_attention = SelfAttention(prev, heads, dim_head, False)
        self.mid2 = ResBlock(prev, prev, tdim)
        self.decoders = nn.ModuleList([Decoder(ch, tdim, blocks, lin_levels, heads, dim_head) for _ in range(streams)])
        with torch.no_grad():  # ModelNetworks.Initialise: uniform +-1/sqrt(fan_in) for conv and linear weights and biases
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    bound = 1.0 / math.sqrt(m.weight[0].numel())
                    m.weight.uniform_(-bound, bound)
                    if m.bias is not None:
                        m.bias.uniform_(-bound, bound)

    def forward(self, x, t):
        temb = self.time(t)
        h = self.stem(x)
        skips = []
        for level in self.encoder:
            skip, h = level(h, temb)
            skips.append(skip)
        h = self.mid2(self.mid_attention(self.mid1(h, temb)), temb)
        return [d(h, temb, skips) for d in self.decoders]


def alpha_bar(steps=500, start=-3.0, end=3.0, tau=1.0):  # SigmoidSchedule
    sig = lambda v: 1 / (1 + math.exp(-v))
    v0, v1 = sig(start / tau), sig(end / tau)
    a = [min(1.0, max(1e-6, (v1 - sig(((i / steps) * (end - start) + start) / tau)) / (v1 - v0))) for i in range(steps + 1)]
    a[0] = 1.0
    return a


def phantom(size, slices, gen):  # EngineBenchmark.Phantom: a disk at -0.3 with a bright lesion at 0.7, -1 outside, noise 0.05
    c = (size - 1) / 2.0
    yy, xx = torch.meshgrid(torch.arange(size, dtype=torch.float64), torch.arange(size, dtype=torch.float64), indexing="ij")
    head = ((xx - c) ** 2 + (yy - c) ** 2).sqrt() <= size * 0.42
    images, masks = [], []
    for _ in range(slices):
        u = torch.rand(3, generator=gen, dtype=torch.float64)
        lx, ly = c + (u[0] * 0.3 - 0.15) * size, c + (u[1] * 0.3 - 0.15) * size
        lr = size * (0.05 + 0.07 * u[2])
        lesion = (((xx - lx) ** 2 + (yy - ly) ** 2).sqrt() <= lr) & head
        img = torch.where(lesion, 0.7, -0.3) + 0.05 * torch.randn(size, size, generator=gen, dtype=torch.float64)
        images.append(torch.where(head, img, torch.full_like(img, -1.0)).float())
        masks.append(lesion.float())
    return torch.stack(images).unsqueeze(1), torch.stack(masks).unsqueeze(1)


def augment(x, mask, gen):  # Augmentation.Apply with the default ranges
    b = x.shape[0]
    theta, sigma = [], []
    for _ in range(b):
        u = torch.rand(6, generator=gen, dtype=torch.float64).tolist()
        flip = -1.0 if u[0] < 0.5 else 1.0
        angle = (u[1] * 20 - 10) * math.pi / 180
        scale = 1 / (0.9 + 0.2 * u[2])
        tx, ty = (u[3] * 0.2 - 0.1) * 2, (u[4] * 0.2 - 0.1) * 2
        cs, sn = math.cos(angle) * scale, math.sin(angle) * scale
        theta.append([[cs * flip, -sn, tx], [sn * flip, cs, ty]])
        sigma.append(u[5] * 0.05)
    grid = F.affine_grid(torch.tensor(theta, dtype=torch.float32), [b, 1, x.shape[2], x.shape[3]], align_corners=False)
    xa = F.grid_sample(x + 1, grid, mode="bilinear", padding_mode="zeros", align_corners=False) - 1
    ma = F.grid_sample(mask, grid, mode="nearest", padding_mode="zeros", align_corners=False)
    brain = xa > -1
    noise = torch.randn(xa.shape, generator=gen) * torch.tensor(sigma, dtype=torch.float32).view(b, 1, 1, 1)
    xn = torch.where(brain, (xa + noise).clamp(-1, 1), torch.full_like(xa, -1.0))
    return xn, ma * brain.float()


def per_sample_mse(a, b):
    return (a - b).pow(2).flatten(1).mean(1)


def soft_dice(p, g, smooth=1.0):
    inter = (p * g).flatten(1).sum(1)
    total = p.flatten(1).sum(1) + g.flatten(1).sum(1)
    return 1 - (inter * 2 + smooth) / (total + smooth)


class EngineAdam:  # Training/Adam.cs: the same per-parameter ops, bias-corrected, betas 0.9 / 0.99
    def __init__(self, params, b1=0.9, b2=0.99, eps=1e-8):
        self.params, self.b1, self.b2, self.eps, self.steps = list(params), b1, b2, eps, 0
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self):
        for p in self.params:
            if p.grad is not None:
                p.grad.zero_()

    @torch.no_grad()
    def clip(self, max_norm):
        grads = [p.grad for p in self.params if p.grad is not None]
        total = torch.stack([g.pow(2).sum() for g in grads]).sum().sqrt().item()
        if max_norm > 0 and total > max_norm:
            for g in grads:
                g.mul_(max_norm / (total + 1e-6))
        return total

    @torch.no_grad()
    def step(self, lr):
        self.steps += 1
        bc2 = 1 - self.b2 ** self.steps
        step_size = -lr / (1 - self.b1 ** self.steps)
        for p, m, v in zip(self.params, self.m, self.v):
            g = p.grad
            m.mul_(self.b1).add_(g, alpha=1 - self.b1)
            v.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
            denom = (v / bc2).sqrt_().add_(self.eps)
            p.addcdiv_(m, denom, value=step_size)


class TorchAdam:  # what a PyTorch user would write: torch.optim.Adam (foreach) and clip_grad_norm_
    def __init__(self, params, b1=0.9, b2=0.99, eps=1e-8):
        self.params = list(params)
        self.opt = torch.optim.Adam(self.params, lr=1e-4, betas=(b1, b2), eps=eps, foreach=True)

    def zero_grad(self):
        self.opt.zero_grad(set_to_none=False)

    def clip(self, max_norm):
        try:
            return torch.nn.utils.clip_grad_norm_(self.params, max_norm, foreach=True).item()
        except TypeError:  # PyTorch 1.13 has no foreach clip
            return torch.nn.utils.clip_grad_norm_(self.params, max_norm).item()

    def step(self, lr):
        for g in self.opt.param_groups:
            g["lr"] = lr
        self.opt.step()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="small", choices=PRESETS)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--passes", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads (0: leave PyTorch's default)")
    ap.add_argument("--optimizer", default="custom", choices=["custom", "foreach"])
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(1)
    size = PRESETS[a.preset][3]
    T = 500
    abar = alpha_bar(T)
    images, masks = phantom(size, 16, gen)
    net = DiffusionUNet(a.preset)
    params = [p for p in net.parameters()]
    opt = EngineAdam(params) if a.optimizer == "custom" else TorchAdam(params)

    def train_step():
        idx = torch.randint(0, images.shape[0], (a.batch,), generator=gen)
        x0, lesion = augment(images[idx], masks[idx], gen)  # Trainer.Batch + Augmentation.Apply
        t = [min(T - 1, int(T * u)) for u in torch.rand(a.batch, generator=gen, dtype=torch.float64).tolist()]
        eps = torch.randn(x0.shape, generator=gen)
        # Objective.Compute / SdpmLoss (paper recipe defaults, as `sdpm bench` trains with)
        brain = (x0 > -1).float()
        target = lesion * brain
        eps = eps * brain
        y0 = (target * 2 - 1) * brain
        sa = torch.tensor([math.sqrt(abar[v]) for v in t], dtype=torch.float32).view(-1, 1, 1, 1)
        s1 = torch.tensor([math.sqrt(1 - abar[v]) for v in t], dtype=torch.float32).view(-1, 1, 1, 1)
        xt = (sa * x0 + s1 * eps) * brain
        yt = (sa * y0 + s1 * eps) * brain
        out = net(xt, torch.tensor([float(v) for v in t]))
        eps_hat, yt_hat = out[0] * brain, out[1] * brain
        sa2 = torch.tensor([math.sqrt(abar[v]) for v in t], dtype=torch.float32).view(-1, 1, 1, 1)  # Coefficients() again
        s12 = torch.tensor([math.sqrt(1 - abar[v]) for v in t], dtype=torch.float32).view(-1, 1, 1, 1)
        y0_hat = ((yt_hat - s12 * eps_hat) / sa2) * brain
        p2 = torch.tensor([0.0 if abar[v] >= 1 else 1 / (1 + abar[v] / (1 - abar[v])) for v in t], dtype=torch.float32)
        ld2 = (p2 * per_sample_mse(eps_hat, eps)).mean()
        ld1 = per_sample_mse(y0_hat, y0).mean()
        tp = T // 2
        window = torch.tensor([1.0 if v < tp else 0.0 for v in t])
        lp = (window * per_sample_mse(yt_hat, yt)).sum() / max(1.0, sum(1 for v in t if v < tp))
        prob = (y0_hat.clamp(-1, 1) + 1) * 0.5
        dice = soft_dice(prob * brain, target).mean()
        total = ld2 + ld1 + lp + dice
        _ = [v.item() for v in (ld1, ld2, lp, dice, total)]
        opt.zero_grad()
        total.backward()
        opt.clip(1.0)
        opt.step(1e-4)

    net.train()
    train_step()  # warm-up, as the engine's benchmark does
    steps = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        train_step()
        steps.append(time.perf_counter() - t0)
    net.eval()
    reps = (a.batch + images.shape[0] - 1) // images.shape[0]
    xb = images.repeat(reps, 1, 1, 1)[: a.batch].contiguous()
    tb = torch.tensor([float(10 + 20 * i) for i in range(a.batch)])
    passes = []
    for i in range(a.passes + 1):
        t0 = time.perf_counter()
        with torch.no_grad():
            out = net(xb, tb)
            out[0].sum().item()
        if i > 0:
            passes.append(time.perf_counter() - t0)
    r = {
        "preset": a.preset, "batch_size": a.batch, "image_size": size, "parameters": sum(p.numel() for p in params),
        "threads": torch.get_num_threads(), "torch_version": torch.__version__, "optimizer": a.optimizer,
        "one_dnn_isa": os.environ.get("ONEDNN_MAX_CPU_ISA", "(default)"), "cpu_capability": torch.backends.cpu.get_cpu_capability() if hasattr(torch.backends, "cpu") else "?",
        "allocator": "tcmalloc" if "tcmalloc" in open("/proc/self/maps").read() else "glibc",
        "train_step_seconds": statistics.median(steps), "train_step_times": steps,
        "inference_pass_seconds": statistics.median(passes), "inference_pass_times": passes,
    }
    if a.json:
        print(json.dumps(r))
    else:
        print(f"PyTorch {r['torch_version']} preset {a.preset} ({r['parameters']:,} parameters) {r['threads']} threads, allocator {r['allocator']}, optimizer {a.optimizer}")
        print(f"train step (batch {a.batch}): median {r['train_step_seconds'] * 1000:.1f} ms of {len(steps)}")
        print(f"inference pass (batch {a.batch}, no_grad): median {r['inference_pass_seconds'] * 1000:.1f} ms of {len(passes)}")


if __name__ == "__main__":
    sys.exit(main())
