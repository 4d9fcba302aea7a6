#!/usr/bin/python3
"""PyTorch reference workload for `deno task bench --compare`.

Written for this project from shared/spec/algorithms.md (sections 2, 3 and 6); no code is copied
from elsewhere. It times, on the CPU, the Heaven-Hell-3 network of the spec trained with the ADQN
loss on whole 100-step episodes, the way a PyTorch user would write it:

- embeddings of width 64 (nn.Embedding) for the previous action (index |A| = "no previous action",
  a fixed zero row), the observation (|O| + 1 indices, index |O| = the reset observation, a fixed
  zero row) and the state; a one-layer nn.GRU(128, 128, batch_first=True) from a zero state;
- a Q head Linear(128,512)-ReLU-Linear(512,256)-ReLU-Linear(256,|A|) on the history features and a
  U head of the same shape on concat(history features, state embedding), sharing the encoder;
- Xavier-normal linear weights (gain sqrt(2) before a ReLU, 1 for the output layer), zero biases,
  N(0, 1) embeddings, PyTorch's default GRU initialisation; target copies of every weight;
- ADQN loss: y_t = r_t + gamma m_t U'(h_{t+1}, s_{t+1}, argmax_a Q'(h_{t+1}, a)), m_t = 0 at the
  last stored step; L_U = mean (U(h_t, s_t, a_t) - y_t)^2, L_Q = mean (Q(h_t, a_t) - y_t)^2;
  one backward pass on (L_U + L_Q) / 2 and one Adam step (lr 1e-4, eps 1e-4). The target network
  runs over T + 1 steps, the online one over T, as in the project's agent.

Modes (`--modes` takes a comma-separated list):
- `train-1`: one episode of 100 steps per gradient step (the reference protocol);
- `train-B` (e.g. `train-32`): one model, a batch of B episodes per gradient step;
- `seq-K` (e.g. `seq-20`): K independent runs, each with its own weights and optimizer, trained one
  after the other in one process (K x train-1: how runs are usually launched); one step = one
  gradient step of every run;
- `bmm-K` (e.g. `bmm-20`): the same K independent runs hand-batched into one computation: every
  weight is stacked along a leading K axis and every product is a torch.bmm (the GRU is written out
  step by step with PyTorch's gate equations), with one Adam over the stacked weights (Adam is
  elementwise and the loss is the sum of the K runs' losses, so each run gets exactly its own
  update). The strongest PyTorch baseline for many runs that we know how to write on a CPU;
- `act`: one acting step for one environment: embeddings, one GRU step, Q head and argmax (read
  back to Python), under torch.no_grad();
- `act-K` (e.g. `act-20`): one acting step for each of K independent runs, one after the other.

Output: one JSON object on stdout, {"torch": version, "threads": n, "results": [{"mode", "steps_per_s",
"env_steps_per_s", "iterations", "seconds"}]}; env_steps_per_s counts trained environment steps
(steps x episodes x 100) for training modes and environment steps for acting modes.

Device: `--device cuda` (PyTorch 2 or later) builds every network and batch on that device; batches
are drawn on the CPU first, so the numbers are those of `--device cpu` (the default) for one seed.

Threads: `--threads n` calls torch.set_num_threads(n); the caller should also set OMP_NUM_THREADS=n
(and OMP_WAIT_POLICY=PASSIVE for n > 1: PyTorch's busy-waiting OpenMP threads are several times
slower on a loaded 2-core machine).
"""

import argparse
import json
import math
import sys
import time

import torch
from torch import nn

NUM_ACTIONS = 4  # Heaven-Hell-3 (lib/envs/heaven_hell.ts): left, right, up, down
NUM_OBS = 15  # one-hot observation width; index 15 is the reset observation
NUM_STATES = 28
EMBED = 64
HIDDEN = 128
HEAD = (512, 256)
STEPS = 100
GAMMA = 0.99


def mlp(n_in, hidden, n_out):
    """Linear-ReLU-...-Linear with Xavier-normal weights and zero biases (algorithms.md section 3)."""
    layers = []
    width = n_in
    for h in hidden:
        lin = nn.Linear(width, h)
        nn.init.xavier_normal_(lin.weight, gain=math.sqrt(2.0))
        nn.init.zeros_(lin.bias)
        layers += [lin, nn.ReLU()]
        width = h
    out = nn.Linear(width, n_out)
    nn.init.xavier_normal_(out.weight, gain=1.0)
    nn.init.zeros_(out.bias)
    layers.append(out)
    return nn.Sequential(*layers)


class AdqnNet(nn.Module):
    """Q(h, .) and U(h, s, .) of the Heaven-Hell model, sharing the history encoder."""

    def __init__(self):
        super().__init__()
        self.action_embedding = nn.Embedding(NUM_ACTIONS + 1, EMBED, padding_idx=NUM_ACTIONS)
        self.obs_embedding = nn.Embedding(NUM_OBS + 1, EMBED, padding_idx=NUM_OBS)
        self.state_embedding = nn.Embedding(NUM_STATES, EMBED)
        self.gru = nn.GRU(2 * EMBED, HIDDEN, batch_first=True)
        self.q_head = mlp(HIDDEN, HEAD, NUM_ACTIONS)
        self.u_head = mlp(HIDDEN + EMBED, HEAD, NUM_ACTIONS)

    def history(self, prev_action, obs, hidden=None):
        """GRU features [B, T, H] of index tensors prev_action, obs [B, T]."""
        x = torch.cat([self.action_embedding(prev_action), self.obs_embedding(obs)], dim=-1)
        out, h = self.gru(x, hidden)
        return out, h

    def q(self, hist):
        return self.q_head(hist)

    def u(self, hist, state):
        return self.u_head(torch.cat([hist, self.state_embedding(state)], dim=-1))


def random_batch(gen, batch):
    """B stored 100-step episodes (plus the step after the last) as index tensors, drawn on the CPU
    (the generator's device) and moved to the default device."""
    cpu = {"device": "cpu"}
    actions = torch.randint(NUM_ACTIONS, (batch, STEPS), generator=gen, **cpu)
    prev_action = torch.cat([torch.full((batch, 1), NUM_ACTIONS, **cpu), actions], dim=1)  # [B, T+1]
    obs = torch.randint(NUM_OBS, (batch, STEPS + 1), generator=gen, **cpu)
    obs[:, 0] = NUM_OBS  # the reset observation
    state = torch.randint(NUM_STATES, (batch, STEPS + 1), generator=gen, **cpu)
    rewards = torch.zeros(batch, STEPS, **cpu)
    rewards[:, -1] = torch.randint(2, (batch,), generator=gen, **cpu).float() * 2 - 1
    continues = torch.ones(batch, STEPS, **cpu)
    continues[:, -1] = 0.0  # m_t = 0 at the last stored step
    here = torch.zeros(0).device
    return {
        name: t.to(here)
        for name, t in {
            "prev_action": prev_action,
            "obs": obs,
            "state": state,
            "actions": actions,
            "rewards": rewards,
            "continues": continues,
        }.items()
    }


class Run:
    """One training run: online and target networks and Adam."""

    def __init__(self, seed):
        torch.manual_seed(seed)
        self.online = AdqnNet()
        self.target = AdqnNet()
        self.target.load_state_dict(self.online.state_dict())
        for p in self.target.parameters():
            p.requires_grad_(False)
        self.optimizer = torch.optim.Adam(self.online.parameters(), lr=1e-4, eps=1e-4)

    def train_step(self, b):
        T = STEPS
        with torch.no_grad():
            th, _ = self.target.history(b["prev_action"], b["obs"])  # [B, T+1, H]
            tq = self.target.q(th[:, 1:])
            tu = self.target.u(th[:, 1:], b["state"][:, 1:])
            best = tq.argmax(dim=-1, keepdim=True)
            y = b["rewards"] + GAMMA * b["continues"] * tu.gather(-1, best).squeeze(-1)
        hist, _ = self.online.history(b["prev_action"][:, :T], b["obs"][:, :T])
        q = self.online.q(hist)
        u = self.online.u(hist, b["state"][:, :T])
        a = b["actions"].unsqueeze(-1)
        loss_q = ((q.gather(-1, a).squeeze(-1) - y) ** 2).mean()
        loss_u = ((u.gather(-1, a).squeeze(-1) - y) ** 2).mean()
        loss = (loss_u + loss_q) / 2
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def act(self, hidden, prev_action, obs):
        """One acting step; returns (greedy action, next hidden state)."""
        with torch.no_grad():
            out, h = self.online.history(prev_action, obs, hidden)
            return int(self.online.q(out).argmax()), h


class BatchedRuns:
    """K independent runs with stacked weights [K, ...]; every product is a torch.bmm."""

    def __init__(self, k, seed):
        torch.manual_seed(seed)
        self.k = k
        nets = [AdqnNet() for _ in range(k)]

        def stack(fn):
            return torch.stack([fn(n).detach().clone() for n in nets]).contiguous()

        p = {
            "act_emb": stack(lambda n: n.action_embedding.weight),
            "obs_emb": stack(lambda n: n.obs_embedding.weight),
            "state_emb": stack(lambda n: n.state_embedding.weight),
            "wi": stack(lambda n: n.gru.weight_ih_l0.t()),  # [K, I, 3H]
            "wh": stack(lambda n: n.gru.weight_hh_l0.t()),  # [K, H, 3H]
            "bi": stack(lambda n: n.gru.bias_ih_l0.unsqueeze(0)),  # [K, 1, 3H]
            "bh": stack(lambda n: n.gru.bias_hh_l0.unsqueeze(0)),
        }
        for head in ("q_head", "u_head"):
            linears = [m for m in getattr(nets[0], head) if isinstance(m, nn.Linear)]
            for i in range(len(linears)):
                idx = 2 * i
                p[f"{head}.w{i}"] = stack(lambda n: getattr(n, head)[idx].weight.t())
                p[f"{head}.b{i}"] = stack(lambda n: getattr(n, head)[idx].bias.unsqueeze(0))
        self.layers = len(HEAD) + 1
        self.online = {name: v.requires_grad_(True) for name, v in p.items()}
        self.target = {name: v.detach().clone() for name, v in p.items()}
        self.optimizer = torch.optim.Adam(list(self.online.values()), lr=1e-4, eps=1e-4)
        self.rows = torch.arange(k).unsqueeze(1)

    def _embed(self, table, idx, pad):
        out = table[self.rows, idx]  # [K, T, E]
        if pad is None:
            return out
        return out * (idx != pad).unsqueeze(-1).to(out.dtype)

    def _history(self, w, prev_action, obs):
        x = torch.cat(
            [
                self._embed(w["act_emb"], prev_action, NUM_ACTIONS),
                self._embed(w["obs_emb"], obs, NUM_OBS),
            ],
            dim=-1,
        )
        gi = torch.baddbmm(w["bi"], x, w["wi"])  # [K, T, 3H]
        h = torch.zeros(self.k, 1, HIDDEN)
        outs = []
        for t in range(x.shape[1]):
            gh = torch.baddbmm(w["bh"], h, w["wh"])  # [K, 1, 3H]
            i_r, i_z, i_n = gi[:, t : t + 1].chunk(3, dim=-1)
            h_r, h_z, h_n = gh.chunk(3, dim=-1)
            r = torch.sigmoid(i_r + h_r)
            z = torch.sigmoid(i_z + h_z)
            n = torch.tanh(i_n + r * h_n)
            h = (1 - z) * n + z * h
            outs.append(h)
        return torch.cat(outs, dim=1)  # [K, T, H]

    def _head(self, w, name, x):
        for i in range(self.layers):
            x = torch.baddbmm(w[f"{name}.b{i}"], x, w[f"{name}.w{i}"])
            if i + 1 < self.layers:
                x = torch.relu(x)
        return x

    def train_step(self, b):
        T = STEPS
        with torch.no_grad():
            th = self._history(self.target, b["prev_action"], b["obs"])[:, 1:]
            tq = self._head(self.target, "q_head", th)
            su = self._embed(self.target["state_emb"], b["state"][:, 1:], None)
            tu = self._head(self.target, "u_head", torch.cat([th, su], dim=-1))
            best = tq.argmax(dim=-1, keepdim=True)
            y = b["rewards"] + GAMMA * b["continues"] * tu.gather(-1, best).squeeze(-1)
        hist = self._history(self.online, b["prev_action"][:, :T], b["obs"][:, :T])
        q = self._head(self.online, "q_head", hist)
        s = self._embed(self.online["state_emb"], b["state"][:, :T], None)
        u = self._head(self.online, "u_head", torch.cat([hist, s], dim=-1))
        a = b["actions"].unsqueeze(-1)
        # Per-run mean over steps, summed over runs: each run's gradient is its own loss's.
        loss_q = ((q.gather(-1, a).squeeze(-1) - y) ** 2).mean(dim=1)
        loss_u = ((u.gather(-1, a).squeeze(-1) - y) ** 2).mean(dim=1)
        loss = ((loss_u + loss_q) / 2).sum()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.item()


def time_it(fn, seconds):
    """Run fn once to warm up, then repeatedly for at least `seconds`; (per second, iterations)."""
    fn()
    n = 0
    t0 = time.perf_counter()
    while True:
        fn()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= seconds:
            return n / dt, n, dt


def parse_mode(mode):
    """('train', B) | ('seq', K) | ('bmm', K) | ('act', K); raises ValueError on a bad mode."""
    if mode == "act":
        return "act", 1
    for kind in ("train", "seq", "bmm", "act"):
        prefix = kind + "-"
        if mode.startswith(prefix) and mode[len(prefix) :].isdigit():
            n = int(mode[len(prefix) :])
            if n >= 1:
                return kind, n
    raise ValueError(
        f'unknown mode "{mode}"; expected act, act-K, train-B, seq-K or bmm-K (positive integers)'
    )


def measure(mode, seconds):
    kind, n = parse_mode(mode)
    gen = torch.Generator().manual_seed(1234)
    if kind == "train":
        run = Run(0)
        batch = random_batch(gen, n)
        per_s, iters, dt = time_it(lambda: run.train_step(batch), seconds)
        return per_s, per_s * n * STEPS, iters, dt
    if kind == "seq":
        runs = [Run(i) for i in range(n)]
        batches = [random_batch(gen, 1) for _ in range(n)]

        def step_all():
            for r, b in zip(runs, batches):
                r.train_step(b)

        per_s, iters, dt = time_it(step_all, seconds)
        return per_s, per_s * n * STEPS, iters, dt
    if kind == "bmm":
        runs = BatchedRuns(n, 0)
        b = random_batch(gen, n)  # row k is run k's episode
        per_s, iters, dt = time_it(lambda: runs.train_step(b), seconds)
        return per_s, per_s * n * STEPS, iters, dt
    # act / act-K: 100 consecutive steps per timed call, one run after the other.
    runs = [Run(i) for i in range(n)]
    episode = random_batch(gen, 1)
    prev = [episode["prev_action"][:, t : t + 1] for t in range(STEPS)]
    obs = [episode["obs"][:, t : t + 1] for t in range(STEPS)]

    def hundred():
        hs = [None] * n
        for t in range(STEPS):
            for i, r in enumerate(runs):
                _, hs[i] = r.act(hs[i], prev[t], obs[t])

    per_s, iters, dt = time_it(hundred, seconds)
    return per_s * STEPS, per_s * STEPS * n, iters * STEPS, dt


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--modes", default="train-1,train-32,seq-8,seq-20,bmm-8,bmm-20,act,act-20")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="cpu (default) or cuda (PyTorch 2 or later)")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument(
        "--start-at",
        type=float,
        default=None,
        help="wall-clock start of the timed work, seconds since the epoch (lines up processes)",
    )
    args = ap.parse_args(argv)
    if args.threads < 1 or not args.seconds > 0:
        ap.error("--threads must be >= 1 and --seconds > 0")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    try:
        for m in modes:
            parse_mode(m)
    except ValueError as e:
        ap.error(str(e))
    torch.set_num_threads(args.threads)
    if args.device != "cpu":
        if not hasattr(torch, "set_default_device"):
            ap.error(f"--device {args.device} needs PyTorch 2 or later (this is {torch.__version__})")
        torch.set_default_device(args.device)
    torch.set_grad_enabled(True)
    results = []
    if args.start_at is not None:
        time.sleep(max(0.0, args.start_at - time.time()))
    for m in modes:
        per_s, env_per_s, iters, dt = measure(m, args.seconds)
        results.append(
            {
                "mode": m,
                "steps_per_s": per_s,
                "env_steps_per_s": env_per_s,
                "iterations": iters,
                "seconds": dt,
            }
        )
        print(f"torch {m}: {per_s:.2f} steps/s", file=sys.stderr, flush=True)
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "device": args.device,
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
