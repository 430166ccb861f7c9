"""The gantry bench workloads in PyTorch (same layers, initialisation, optimiser and batch).

Usage: python workloads.py W [--batch-size N] [--steps S] [--repeats R] [--warmup K] [--threads T]
Prints one JSON line like `gantry bench W --json`.
"""
import argparse, json, resource, statistics, time

import torch
import torch.nn as nn
import torch.nn.functional as F

WORKLOADS = {"w1": 64, "w2": 128, "w3": 64, "w4": 64, "w5": 256, "w6": 50}


def dcgan28(d_norm="bn", sigmoid=True):
    G = nn.Sequential(
        nn.ConvTranspose2d(100, 256, 4, 2, 1, bias=False), nn.BatchNorm2d(256), nn.ReLU(),
        nn.ConvTranspose2d(256, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(),
        nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
        nn.ConvTranspose2d(64, 32, 4, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
        nn.ConvTranspose2d(32, 1, 2, 2, 2, bias=False), nn.Tanh())
    norm = (lambda c, s: nn.BatchNorm2d(c)) if d_norm == "bn" else (lambda c, s: nn.LayerNorm([c, s, s]))
    D = [nn.Conv2d(1, 32, 2, 2, 2, bias=False), nn.LeakyReLU(0.02),
         nn.Conv2d(32, 64, 4, 2, 1, bias=False), norm(64, 8), nn.LeakyReLU(0.02),
         nn.Conv2d(64, 128, 4, 2, 1, bias=False), norm(128, 4), nn.LeakyReLU(0.02),
         nn.Conv2d(128, 256, 4, 2, 1, bias=False), norm(256, 2), nn.LeakyReLU(0.02),
         nn.Conv2d(256, 1, 4, 2, 1, bias=True)]
    # BCE on logits (the trailing Sigmoid is folded into the loss, as gantry does).
    return G, nn.Sequential(*D)


def mlp_small():
    G = nn.Sequential(nn.Linear(96, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 784), nn.Tanh())
    D = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.LeakyReLU(0.01), nn.Linear(256, 256), nn.LeakyReLU(0.01), nn.Linear(256, 1))
    for m in list(G) + list(D):
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
    return G, D


def dcgan32():
    G = nn.Sequential(
        nn.ConvTranspose2d(100, 512, 4, 1, 0, bias=False), nn.BatchNorm2d(512), nn.ReLU(),
        nn.ConvTranspose2d(512, 256, 4, 2, 1, bias=False), nn.BatchNorm2d(256), nn.ReLU(),
        nn.ConvTranspose2d(256, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(),
        nn.ConvTranspose2d(128, 3, 4, 2, 1, bias=False), nn.Tanh())
    D = nn.Sequential(
        nn.Conv2d(3, 128, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
        nn.Conv2d(128, 256, 4, 2, 1, bias=False), nn.BatchNorm2d(256), nn.LeakyReLU(0.2),
        nn.Conv2d(256, 512, 4, 2, 1, bias=False), nn.BatchNorm2d(512), nn.LeakyReLU(0.2),
        nn.Conv2d(512, 1, 4, 1, 0, bias=False))
    for m in list(G) + list(D):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return G, D


def gan_step(G, D, real, z_dim, lr, betas, noise="normal", fresh=False):
    oG = torch.optim.Adam(G.parameters(), lr, betas=betas)
    oD = torch.optim.Adam(D.parameters(), lr, betas=betas)
    bce = nn.BCEWithLogitsLoss()
    n = real.shape[0]
    conv = isinstance(G[0], nn.ConvTranspose2d)

    def z():
        shape = (n, z_dim, 1, 1) if conv else (n, z_dim)
        return torch.randn(shape) if noise == "normal" else torch.rand(shape) * 2 - 1

    def step():
        fake = G(z())
        sr, sf = D(real).view(-1), D(fake.detach()).view(-1)
        ld = bce(sr, torch.ones_like(sr)) + bce(sf, torch.zeros_like(sf))
        oD.zero_grad(); ld.backward(); oD.step()
        if fresh:
            fake = G(z())
        sg = D(fake).view(-1)
        lg = bce(sg, torch.ones_like(sg))
        oG.zero_grad(); lg.backward(); oG.step()
    return step


class FidInception(nn.Module):
    """pytorch-fid's FID InceptionV3 up to pool3, with each BatchNorm folded into its conv (conv
    with bias + ReLU), exactly the computation gantry runs (gantry folds the BatchNorms too)."""

    @staticmethod
    def conv(cin, cout, k, stride=1, pad=0):
        k = (k, k) if isinstance(k, int) else k
        pad = (pad, pad) if isinstance(pad, int) else pad
        return nn.Sequential(nn.Conv2d(cin, cout, k, stride, pad), nn.ReLU())

    def __init__(self):
        super().__init__()
        c = self.conv
        self.stem = nn.Sequential(c(3, 32, 3, 2), c(32, 32, 3), c(32, 64, 3, 1, 1), nn.MaxPool2d(3, 2),
                                  c(64, 80, 1), c(80, 192, 3), nn.MaxPool2d(3, 2))
        self.a = nn.ModuleList([self.block_a(192, 32), self.block_a(256, 64), self.block_a(288, 64)])
        self.b = nn.ModuleList([c(288, 384, 3, 2), nn.Sequential(c(288, 64, 1), c(64, 96, 3, 1, 1), c(96, 96, 3, 2))])
        self.c = nn.ModuleList([self.block_c(c7) for c7 in (128, 160, 160, 192)])
        self.d = nn.ModuleList([nn.Sequential(c(768, 192, 1), c(192, 320, 3, 2)),
                                nn.Sequential(c(768, 192, 1), c(192, 192, (1, 7), 1, (0, 3)), c(192, 192, (7, 1), 1, (3, 0)),
                                              c(192, 192, 3, 2))])
        self.e = nn.ModuleList([self.block_e(1280), self.block_e(2048)])

    def block_a(self, cin, pool):
        c = self.conv
        return nn.ModuleList([c(cin, 64, 1), nn.Sequential(c(cin, 48, 1), c(48, 64, 5, 1, 2)),
                              nn.Sequential(c(cin, 64, 1), c(64, 96, 3, 1, 1), c(96, 96, 3, 1, 1)), c(cin, pool, 1)])

    def block_c(self, c7):
        c, row, col = self.conv, ((1, 7), (0, 3)), ((7, 1), (3, 0))
        return nn.ModuleList([c(768, 192, 1),
                              nn.Sequential(c(768, c7, 1), c(c7, c7, row[0], 1, row[1]), c(c7, 192, col[0], 1, col[1])),
                              nn.Sequential(c(768, c7, 1), c(c7, c7, col[0], 1, col[1]), c(c7, c7, row[0], 1, row[1]),
                                            c(c7, c7, col[0], 1, col[1]), c(c7, 192, row[0], 1, row[1])),
                              c(768, 192, 1)])

    def block_e(self, cin):
        c = self.conv
        return nn.ModuleList([c(cin, 320, 1), c(cin, 384, 1), c(384, 384, (1, 3), 1, (0, 1)), c(384, 384, (3, 1), 1, (1, 0)),
                              nn.Sequential(c(cin, 448, 1), c(448, 384, 3, 1, 1)), c(384, 384, (1, 3), 1, (0, 1)),
                              c(384, 384, (3, 1), 1, (1, 0)), c(cin, 192, 1)])

    def forward(self, x):
        x = self.stem(x)
        for b1, b5, b3, pool in self.a:
            x = torch.cat([b1(x), b5(x), b3(x), pool(F.avg_pool2d(x, 3, 1, 1, count_include_pad=False))], 1)
        x = torch.cat([self.b[0](x), self.b[1](x), F.max_pool2d(x, 3, 2)], 1)
        for b1, b7, b7dbl, pool in self.c:
            x = torch.cat([b1(x), b7(x), b7dbl(x), pool(F.avg_pool2d(x, 3, 1, 1, count_include_pad=False))], 1)
        x = torch.cat([self.d[0](x), self.d[1](x), F.max_pool2d(x, 3, 2)], 1)
        for i, (b1, b3, b3a, b3b, dbl, dbla, dblb, pool) in enumerate(self.e):
            t3, td = b3(x), dbl(x)
            pooled = F.avg_pool2d(x, 3, 1, 1, count_include_pad=False) if i == 0 else F.max_pool2d(x, 3, 1, 1)
            x = torch.cat([b1(x), b3a(t3), b3b(t3), dbla(td), dblb(td), pool(pooled)], 1)
        return x.mean((2, 3))


def wgan_gp_step(real):
    G, D = dcgan28(d_norm="ln")
    oG = torch.optim.Adam(G.parameters(), 1e-4, betas=(0.0, 0.9))
    oD = torch.optim.Adam(D.parameters(), 1e-4, betas=(0.0, 0.9))
    n = real.shape[0]

    def step():
        for _ in range(5):
            fake = G(torch.randn(n, 100, 1, 1)).detach()
            alpha = torch.rand(n, 1, 1, 1)
            xh = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
            g, = torch.autograd.grad(D(xh).sum(), xh, create_graph=True)
            gp = ((g.view(n, -1).norm(2, dim=1) - 1) ** 2).mean()
            loss = D(fake).mean() - D(real).mean() + 10 * gp
            oD.zero_grad(); loss.backward(); oD.step()
        lg = -D(G(torch.randn(n, 100, 1, 1))).mean()
        oG.zero_grad(); lg.backward(); oG.step()
    return step


def main():
    p = argparse.ArgumentParser()
    p.add_argument("workload")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int)
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]: every tensor and module is made there")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    torch.set_default_device(device)
    # GPU work is asynchronous: a repeat ends when the device has finished it.
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    torch.manual_seed(0)
    w = a.workload.lower()
    n = a.batch_size or WORKLOADS[w]
    images = n
    if w == "w1":
        G, D = dcgan28()
        step = gan_step(G, D, torch.rand(n, 1, 28, 28) * 2 - 1, 100, 2e-4, (0.5, 0.999))
    elif w == "w2":
        G, D = mlp_small()
        step = gan_step(G, D, torch.rand(n, 1, 28, 28) * 2 - 1, 96, 1e-3, (0.5, 0.999), noise="uniform", fresh=True)
    elif w == "w3":
        step = wgan_gp_step(torch.rand(n, 1, 28, 28) * 2 - 1)
        images = 5 * n
    elif w == "w4":
        G, D = dcgan32()
        step = gan_step(G, D, torch.rand(n, 3, 32, 32) * 2 - 1, 100, 2e-4, (0.5, 0.999))
    elif w == "w5":
        G, _ = dcgan28()
        G.eval()

        def step():
            with torch.no_grad():
                G(torch.randn(n, 100, 1, 1)).cpu().numpy()
    elif w == "w6":
        net = FidInception().eval()
        x = torch.rand(n, 3, 299, 299) * 2 - 1

        def step():
            with torch.no_grad():
                net(x).cpu().numpy()
    else:
        raise SystemExit(f"unknown workload {w}")
    for _ in range(a.warmup):
        step()
    sync()
    rates = []
    for _ in range(a.repeats):
        t = time.perf_counter()
        for _ in range(a.steps):
            step()
        sync()
        rates.append(a.steps / (time.perf_counter() - t))
    med = statistics.median(rates)
    print(json.dumps({"workload": w, "batch_size": n, "steps_per_s": med, "images_per_s": med * images,
                      "repeats": rates, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "threads": torch.get_num_threads(), "device": str(device),
                      **({"gpu": torch.cuda.get_device_name(device),
                          "peak_device_mib": torch.cuda.max_memory_allocated(device) / 2**20} if device.type == "cuda" else {})}))


if __name__ == "__main__":
    main()
