#!/usr/bin/python3
"""The Python peer of bench/supernet/sandwich_bench.cpp: one sandwich training step (largest,
smallest and N random subnets; in-place distillation from the largest) written in plain
PyTorch 1.13, with each subnet built as an ordinary torch module with the same shapes the
C++ supernet runs (the NetGraph lowering: stem conv+BN+ReLU6, inverted residual blocks,
head 1x1, global average pool, FC; input resized bilinearly to the subnet's resolution).

The subnets are read from the JSON-lines file the C++ benchmark writes (--archs), so both
sides run exactly the same architectures.

  /usr/bin/python3 bench/supernet/sandwich_step.py --space configs/spaces/fmnist-mbv2.yaml \
      --archs build/sandwich_archs.jsonl [--batch 128] [--steps 5] [--threads 2]
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml


POOL = "sum"


def make_divisible(value, divisor=8):
    v = max(divisor, int(value + divisor / 2.0) // divisor * divisor)
    if v < 0.9 * value:
        v += divisor
    return v


class Space:
    def __init__(self, path):
        with open(path) as f:
            s = yaml.safe_load(f)
        self.in_ch = s["input_channels"]
        self.classes = s["num_classes"]
        self.div = s.get("channel_divisor", 8)
        self.stem = s["stem"]
        self.stages = s["stages"]
        head = s.get("head", {})
        self.head = head.get("channels", 0)
        self.head_below_one = head.get("width_below_one", False)

    def width(self, c, w):
        return make_divisible(c * w, self.div)

    def head_width(self, w):
        if self.head == 0:
            return 0
        return make_divisible(self.head * (w if self.head_below_one else max(1.0, w)), self.div)

    def hidden(self, cin, e):
        return cin if e == 1 else make_divisible(cin * e, self.div)


def conv_bn(cin, cout, k, stride, groups, act):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class Block(nn.Module):
    def __init__(self, space, cin, cout, k, e, stride):
        super().__init__()
        hidden = space.hidden(cin, e)
        layers = []
        if e != 1:
            layers.append(conv_bn(cin, hidden, 1, 1, 1, True))
        layers.append(conv_bn(hidden, hidden, k, stride, hidden, True))
        layers.append(conv_bn(hidden, cout, 1, 1, 1, False))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


class Subnet(nn.Module):
    def __init__(self, space, arch):
        super().__init__()
        w = arch["width"]
        self.resolution = arch["resolution"]
        c = space.width(space.stem["channels"], w)
        self.stem = conv_bn(space.in_ch, c, space.stem.get("kernel", 3), space.stem.get("stride", 2), 1, True)
        blocks = []
        for s, st in enumerate(arch["stages"]):
            cout = space.width(space.stages[s]["channels"], w)
            for i, (k, e) in enumerate(zip(st["kernels"], st["expands"])):
                stride = space.stages[s].get("stride", 1) if i == 0 else 1
                blocks.append(Block(space, c, cout, k, e, stride))
                c = cout
        self.blocks = nn.Sequential(*blocks)
        h = space.head_width(w)
        self.head = conv_bn(c, h, 1, 1, 1, True) if h > 0 else nn.Identity()
        self.fc = nn.Linear(h if h > 0 else c, space.classes)

    def forward(self, x):
        if x.shape[-1] != self.resolution:
            x = F.interpolate(x, size=(self.resolution, self.resolution), mode="bilinear",
                              align_corners=False)
        x = self.head(self.blocks(self.stem(x)))
        if POOL == "adaptive":
            return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))
        # The default, as the C++ supernet does it: sum's backward hands the layers below an
        # expanded NHWC-compatible gradient; adaptive_avg_pool2d's is NCHW and makes every
        # convolution's backward ~2x slower under channels-last.
        return self.fc(x.sum((2, 3)) / (x.shape[2] * x.shape[3]))


def sandwich_step(nets, opt, x, y, smoothing):
    opt.zero_grad(set_to_none=True)
    logits = nets[0](x)
    loss = F.cross_entropy(logits, y, label_smoothing=smoothing)
    loss.backward()
    soft = F.softmax(logits.detach(), dim=1)
    for net in nets[1:]:
        out = net(x)
        F.kl_div(F.log_softmax(out, dim=1), soft, reduction="batchmean").backward()
    opt.step()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--space", required=True)
    ap.add_argument("--archs", required=True, help="JSON lines: largest, smallest, random...")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--pool", choices=["sum", "adaptive"], default="sum",
                    help="global average pool as sum/divide (default, fastest) or adaptive_avg_pool2d")
    a = ap.parse_args()
    global POOL
    POOL = a.pool
    torch.manual_seed(0)
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    else:
        import os
        torch.set_num_threads(os.cpu_count())
    space = Space(a.space)
    with open(a.archs) as f:
        archs = [json.loads(l) for l in f if l.strip()]
    nets = [Subnet(space, arch) for arch in archs]
    params = [p for n in nets for p in n.parameters()]
    opt = torch.optim.SGD(params, lr=0.01, momentum=0.9, nesterov=True, weight_decay=4e-5)
    x = torch.randn(a.batch, space.in_ch, 28, 28)
    y = torch.randint(0, space.classes, (a.batch,))
    if a.channels_last:
        nets = [n.to(memory_format=torch.channels_last) for n in nets]
        x = x.contiguous(memory_format=torch.channels_last)
    for n in nets:
        n.train()
    for _ in range(a.warmup):
        sandwich_step(nets, opt, x, y, 0.1)
    t0 = time.perf_counter()
    for _ in range(a.steps):
        sandwich_step(nets, opt, x, y, 0.1)
    dt = (time.perf_counter() - t0) / a.steps
    ips = a.batch / dt
    if a.json:
        print(json.dumps({"seconds_per_step": dt, "images_per_second": ips,
                          "subnets": len(nets), "threads": torch.get_num_threads()}))
    else:
        print(f"python sandwich step: {len(nets)} subnets, batch {a.batch}, "
              f"{torch.get_num_threads()} threads: {dt*1000:.1f} ms/step, {ips:.1f} images/s")


if __name__ == "__main__":
    main()
