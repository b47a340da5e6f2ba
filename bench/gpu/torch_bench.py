#!/usr/bin/env python3
"""Real PyTorch workloads for gprio's NVIDIA benchmark (facts/nvidia.md's co-location baseline).

  torch_bench.py online-graph  [--rate 40] [--seconds S] [--warmup W] [--dump F]
      ResNet-50, batch 16, fp16, replayed as a CUDA graph (GPU-bound), Poisson arrivals.
  torch_bench.py online-eager  [--rate 20] ...
      ResNet-50, batch 1, fp16, eager (launch-bound: short kernels separated by Python).
  torch_bench.py online-decode [--rate 10] ...
      12-layer transformer (d=768, the encoder's fused inference path), batch 1, 16 token
      steps per request, each step reading its token back (CPU-bound: Python launches many
      tiny kernels, the GPU keeps up).
  torch_bench.py online-gdecode [--rate 20] ...
      The same transformer, each token step replayed as a CUDA graph (as serving engines do):
      16 steps per request, each read back with .item() (a stream synchronisation) before the
      host writes the token and replays the next step: GPU-bound steps separated by short
      CPU gaps.
  torch_bench.py online-side   [--rate 40] ...
      online-graph's service plus a side stream kept busy the whole time by a 1-block spinning
      kernel relaunched from a second thread (a prefetch or collective stream).
  torch_bench.py offline-ddp ...   (under torchrun --nproc_per_node 2: the same, data-parallel
      over two GPUs with NCCL; rank 0 prints, and decides when all ranks stop)
  torch_bench.py offline [--seconds S | --iterations N] [--window-start A --window-end B]
      8-layer transformer encoder (d=1024) training, batch 16 x 512 tokens, bf16 autocast,
      fixed seeds and deterministic algorithms; prints iterations/s, final loss and a checksum
      of the weights (bit-identical alone and under preemption, or preemption corrupted work).
Prints one JSON line like gpubench.
GPRIO_STREAM_PRIORITY=high|low runs the work on a stream of the device's highest / lowest
priority (the "stream priority" setup of the AMD kit), as gpubench does.
"""
import argparse
import hashlib
import json
import math
import os
import random
import time

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
import torch  # noqa: E402


def pct(v, p):
    if not v:
        return 0.0
    v = sorted(v)
    return v[min(len(v) - 1, max(0, math.ceil(p / 100 * len(v)) - 1))]


def serve(step, rate, seconds, warmup, dump, mode):
    rng = random.Random(12345)
    lat = []
    t0 = time.perf_counter()
    nxt = t0 + warmup
    busy = 0.0
    while nxt < t0 + warmup + seconds:
        now = time.perf_counter()
        if now < nxt:
            time.sleep(max(0.0, nxt - now - 0.0002))
            while time.perf_counter() < nxt:
                pass
        s = time.perf_counter()
        step()
        torch.cuda.synchronize()
        e = time.perf_counter()
        busy += e - s
        lat.append((e - nxt) * 1e3)
        nxt += rng.expovariate(rate)
    if dump:
        with open(dump, "w") as f:
            f.write("".join(f"{x:.5f}\n" for x in lat))
    print(json.dumps({"mode": mode, "requests": len(lat), "p50_ms": pct(lat, 50), "p90_ms": pct(lat, 90),
                      "p99_ms": pct(lat, 99), "max_ms": max(lat) if lat else 0, "rate": rate,
                      "busy_share": busy / seconds}), flush=True)


def online(args, graph, before_serve=None):
    import torchvision
    torch.manual_seed(0)
    m = torchvision.models.resnet50(weights=None).cuda().half().eval()
    bs = 16 if graph else 1
    x = torch.randn(bs, 3, 224, 224, device="cuda", dtype=torch.half)
    with torch.no_grad():
        for _ in range(5):
            m(x)
        torch.cuda.synchronize()
        if graph:
            g = torch.cuda.CUDAGraph()
            s = torch.cuda.Stream()
            s.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(s):
                for _ in range(3):
                    m(x)
            torch.cuda.current_stream().wait_stream(s)
            with torch.cuda.graph(g):
                y = m(x)
            step = g.replay
        else:
            def step():
                m(x)
        if before_serve:
            before_serve()
        serve(step, args.rate, args.seconds, args.warmup, args.dump, "torch-graph" if graph else "torch-eager")


def decode(args):
    torch.manual_seed(0)
    d, layers, vocab = 768, 12, 8192
    emb = torch.nn.Embedding(vocab, d).cuda().half()
    layer = torch.nn.TransformerEncoderLayer(d, 12, 4 * d, dropout=0.0, batch_first=True)
    body = torch.nn.TransformerEncoder(layer, layers).cuda().half().eval()
    head = torch.nn.Linear(d, vocab).cuda().half()
    prompt = torch.randint(0, vocab, (1, 32), device="cuda")

    def step():
        # no attention mask: the encoder's fused inference path, a few kernels per layer
        seq = prompt
        with torch.inference_mode():
            for _ in range(16):
                h = body(emb(seq))
                tok = int(head(h[:, -1]).argmax(-1).item())  # each token read back
                seq = torch.cat([seq, torch.tensor([[tok]], device="cuda")], 1)
    for _ in range(3):
        step()
    torch.cuda.synchronize()
    serve(step, args.rate, args.seconds, args.warmup, args.dump, "torch-decode")


def gdecode(args):
    torch.manual_seed(0)
    d, layers, vocab, prompt_len, steps = 768, 12, 8192, 32, 16
    emb = torch.nn.Embedding(vocab, d).cuda().half()
    layer = torch.nn.TransformerEncoderLayer(d, 12, 4 * d, dropout=0.0, batch_first=True)
    body = torch.nn.TransformerEncoder(layer, layers).cuda().half().eval()
    head = torch.nn.Linear(d, vocab).cuda().half()
    prompt = torch.randint(0, vocab, (1, prompt_len), device="cuda")
    buf = torch.zeros(1, prompt_len + steps, dtype=torch.long, device="cuda")  # static shapes
    pos = torch.zeros(1, dtype=torch.long, device="cuda")  # the position read, set per step
    out = torch.zeros(1, dtype=torch.long, device="cuda")

    def fwd():
        h = body(emb(buf))
        out.copy_(head(h.index_select(1, pos)[:, 0]).argmax(-1))
    with torch.inference_mode():
        buf[0, :prompt_len] = prompt[0]
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3):
                fwd()
        torch.cuda.current_stream().wait_stream(s)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            fwd()

    def step():
        with torch.inference_mode():
            buf[0, :prompt_len] = prompt[0]
            for i in range(steps):
                pos.fill_(prompt_len - 1 + i)
                g.replay()
                tok = int(out.item())  # each token read back: a stream synchronisation
                buf[0, prompt_len + i] = tok
    for _ in range(3):
        step()
    torch.cuda.synchronize()
    serve(step, args.rate, args.seconds, args.warmup, args.dump, "torch-gdecode")


def side(args):
    import threading
    s = torch.cuda.Stream()
    stop = threading.Event()

    def hold():
        # never drains: the next batch is queued before the one ahead of it finishes
        prev = None
        with torch.cuda.stream(s):
            while not stop.is_set():
                for _ in range(4):
                    torch.cuda._sleep(1_000_000)  # ~0.5 ms of one spinning block
                e = torch.cuda.Event()
                e.record(s)
                if prev is not None:
                    prev.synchronize()
                prev = e
    # started once the graph is captured: a launch from another thread during a global-mode
    # capture invalidates it
    t = threading.Thread(target=hold, daemon=True)
    try:
        online(args, True, t.start)
    finally:
        stop.set()
        if t.is_alive():
            t.join()


def offline(args, ddp=False):
    rank = 0
    if ddp:
        # torchrun's ranks, one GPU each; rank 0 decides when to stop and tells the others
        # (ranks that stopped on their own clocks would leave a peer in an all-reduce)
        import torch.distributed as dist
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        dist.init_process_group("nccl")
        rank = dist.get_rank()
    torch.manual_seed(0)
    random.seed(0)
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    layer = torch.nn.TransformerEncoderLayer(1024, 16, 4096, dropout=0.0, batch_first=True)
    model = torch.nn.TransformerEncoder(layer, 8).cuda()
    if ddp:
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[torch.cuda.current_device()])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    g = torch.Generator(device="cuda").manual_seed(1 + rank)
    x = torch.randn(16, 512, 1024, device="cuda", generator=g)
    tgt = torch.randn(16, 512, 1024, device="cuda", generator=g)
    t0 = time.perf_counter()
    n = in_win = 0
    loss = None
    stop = torch.zeros(1, device="cuda")
    while True:
        if ddp:
            if n % 4 == 0:
                stop.fill_(float((n >= args.iterations) if args.iterations
                                 else (time.perf_counter() - t0 >= args.seconds)))
                dist.broadcast(stop, 0)
                if stop.item():
                    break
        elif (n >= args.iterations) if args.iterations else (time.perf_counter() - t0 >= args.seconds):
            break
        with torch.autocast("cuda", dtype=torch.bfloat16):
            out = model(x)
            loss = torch.nn.functional.mse_loss(out.float(), tgt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        n += 1
        if n % 4 == 0:
            torch.cuda.synchronize()
            t = time.perf_counter() - t0
            in_win += 4 if args.window_start <= t <= args.window_end else 0
    torch.cuda.synchronize()
    if ddp:
        dist.destroy_process_group()
        if rank != 0:
            return
    el = time.perf_counter() - t0
    h = hashlib.sha256()
    for p in model.parameters():
        h.update(p.detach().float().cpu().numpy().tobytes())
    wl = min(args.window_end, el) - args.window_start
    print(json.dumps({"mode": "torch-offline", "iterations": n, "seconds": el, "iter_per_s": n / el,
                      "window_kernels_per_s": in_win / wl if wl > 0 else 0.0,
                      "final_loss": float(loss.item()) if loss is not None else None,
                      "checksum": h.hexdigest()[:16]}), flush=True)


def priority_stream():
    """The stream GPRIO_STREAM_PRIORITY asks for, as the current stream (else the default)."""
    import contextlib
    p = os.environ.get("GPRIO_STREAM_PRIORITY", "")
    if p not in ("high", "low"):
        return contextlib.nullcontext()
    # PyTorch: 0 is the lowest priority, negative numbers higher (clamped to the device's range)
    return torch.cuda.stream(torch.cuda.Stream(priority=-1 if p == "high" else 0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["online-graph", "online-eager", "online-decode", "online-gdecode", "online-side",
                                     "offline", "offline-ddp"])
    ap.add_argument("--rate", type=float, default=40)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--dump")
    ap.add_argument("--iterations", type=int, default=0)
    ap.add_argument("--window-start", type=float, default=0)
    ap.add_argument("--window-end", type=float, default=1e9)
    a = ap.parse_args()
    with priority_stream():
        run(a)


def run(a):
    if a.mode == "offline":
        offline(a)
    elif a.mode == "offline-ddp":
        offline(a, ddp=True)
    elif a.mode == "online-decode":
        decode(a)
    elif a.mode == "online-gdecode":
        gdecode(a)
    elif a.mode == "online-side":
        side(a)
    else:
        online(a, a.mode == "online-graph")


if __name__ == "__main__":
    main()
