/**
 * `deno run -A bench/webgpu_probe.ts [--backend webgpu|cpu|wasm] [--k 1,20,100] [--seconds 3]`:
 * how fast TensorFlow.js trains the Heaven-Hell-3 model on a tensor backend that this library's
 * trainer cannot use, WebGPU above all. The trainer reads tensors synchronously (`dataSync`), which
 * tfjs's WebGPU backend cannot do under Deno, so this probe is written with tfjs ops and
 * asynchronous reads only, to tell whether a GPU path would pay.
 *
 * The workload is `bmm-K` of bench/torch_workload.py, the same network, loss and optimizer: K
 * independent runs with stacked weights [K, ...], each trained on one 100-step episode per gradient
 * step with the ADQN loss (the U and Q heads regress on y = r + γ m U'(h', s', argmax Q'(h'))),
 * one Adam (lr 1e-4, ε 1e-4) over the stacked weights; the target network runs over T + 1 steps.
 * Every gradient step reads its loss back, as a trainer must before it acts. `act-K`: one acting
 * step of K runs (embeddings, one GRU step, the Q head, the greedy action read back).
 *
 * Output: one JSON line per measurement on stdout: mode, K, steps/s and (trained) env steps/s.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { parseArgs } from "node:util";

const A = 4, O = 15, S = 28, E = 64, H = 128, T = 100, GAMMA = 0.99;
const HEAD = [512, 256];

type Weights = Record<string, tf.Variable>;

/** Xavier-normal [K, fanIn, fanOut] weights (gain g), as torch_workload.py initialises them. */
function xavier(k: number, fanIn: number, fanOut: number, gain: number): tf.Tensor {
  return tf.randomNormal([k, fanIn, fanOut], 0, gain * Math.sqrt(2 / (fanIn + fanOut)));
}

function initWeights(k: number): Weights {
  const w: Record<string, tf.Tensor> = {
    actEmb: tf.randomNormal([k, A + 1, E]),
    obsEmb: tf.randomNormal([k, O + 1, E]),
    stateEmb: tf.randomNormal([k, S, E]),
    wi: tf.randomUniform([k, 2 * E, 3 * H], -1 / Math.sqrt(H), 1 / Math.sqrt(H)),
    wh: tf.randomUniform([k, H, 3 * H], -1 / Math.sqrt(H), 1 / Math.sqrt(H)),
    bi: tf.zeros([k, 1, 3 * H]),
    bh: tf.zeros([k, 1, 3 * H]),
  };
  for (const [head, width] of [["q", H], ["u", H + E]] as const) {
    const dims = [width, ...HEAD, A];
    for (let i = 0; i + 1 < dims.length; i++) {
      w[`${head}w${i}`] = xavier(k, dims[i], dims[i + 1], i + 2 < dims.length ? Math.SQRT2 : 1);
      w[`${head}b${i}`] = tf.zeros([k, 1, dims[i + 1]]);
    }
  }
  return Object.fromEntries(Object.entries(w).map(([n, t]) => [n, tf.variable(t, true, n)]));
}

/** Rows `idx` [K, L] of each run's table [K, V, E] → [K, L, E] (a one-hot product: no gather). */
function embed(table: tf.Tensor, idx: tf.Tensor, vocab: number): tf.Tensor {
  return tf.matMul(tf.oneHot(idx, vocab).toFloat(), table);
}

/** The GRU's input-gate pre-activations [K, L, 3H] of the embedded previous actions and observations. */
function inputGates(w: Weights, prevAction: tf.Tensor, obs: tf.Tensor): tf.Tensor {
  const x = tf.concat([embed(w.actEmb, prevAction, A + 1), embed(w.obsEmb, obs, O + 1)], 2);
  return tf.add(tf.matMul(x, w.wi), w.bi);
}

/** One GRU step (PyTorch's gate equations) from input gates `gi` [K, 1, 3H] and state `h` [K, 1, H]. */
function gruCell(w: Weights, gi: tf.Tensor, h: tf.Tensor): tf.Tensor {
  const gh = tf.add(tf.matMul(h, w.wh), w.bh);
  const [ir, iz, inn] = tf.split(gi, 3, 2), [hr, hz, hn] = tf.split(gh, 3, 2);
  const r = tf.sigmoid(tf.add(ir, hr)), z = tf.sigmoid(tf.add(iz, hz));
  const n = tf.tanh(tf.add(inn, tf.mul(r, hn)));
  return tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h));
}

function history(w: Weights, prevAction: tf.Tensor, obs: tf.Tensor): tf.Tensor {
  const k = prevAction.shape[0], len = prevAction.shape[1]!;
  const gi = inputGates(w, prevAction, obs); // [K, L, 3H]
  let h: tf.Tensor = tf.zeros([k, 1, H]);
  const outs: tf.Tensor[] = [];
  for (let t = 0; t < len; t++) {
    h = gruCell(w, tf.slice(gi, [0, t, 0], [k, 1, 3 * H]), h);
    outs.push(h);
  }
  return tf.concat(outs, 1); // [K, L, H]
}

function head(w: Weights, name: "q" | "u", x: tf.Tensor): tf.Tensor {
  for (let i = 0; i <= HEAD.length; i++) {
    x = tf.add(tf.matMul(x, w[`${name}w${i}`]), w[`${name}b${i}`]);
    if (i < HEAD.length) x = tf.relu(x);
  }
  return x;
}

/** One K-run batch of random 100-step episodes, as torch_workload.py's random_batch draws them. */
function randomBatch(k: number) {
  const actions = tf.randomUniformInt([k, T], 0, A);
  const prevAction = tf.concat([tf.fill([k, 1], A, "int32"), actions], 1);
  const obs = tf.concat([tf.fill([k, 1], O, "int32"), tf.randomUniformInt([k, T], 0, O)], 1);
  const state = tf.randomUniformInt([k, T + 1], 0, S);
  const last = tf.concat([tf.zeros([k, T - 1]), tf.ones([k, 1])], 1);
  const sign = tf.sub(tf.mul(tf.randomUniformInt([k, 1], 0, 2).toFloat(), 2), 1);
  return {
    actions,
    prevAction,
    obs,
    state,
    rewards: tf.mul(last, sign),
    continues: tf.sub(1, last),
  };
}

function trainStep(
  w: Weights,
  target: Weights,
  opt: tf.Optimizer,
  b: ReturnType<typeof randomBatch>,
) {
  const k = b.actions.shape[0];
  const y = tf.tidy(() => {
    const th = tf.slice(history(target, b.prevAction, b.obs), [0, 1, 0], [k, T, H]);
    const sNext = embed(target.stateEmb, tf.slice(b.state, [0, 1], [k, T]), S);
    const best = tf.oneHot(tf.argMax(head(target, "q", th), 2), A).toFloat();
    const tu = tf.sum(tf.mul(head(target, "u", tf.concat([th, sNext], 2)), best), 2);
    return tf.add(b.rewards, tf.mul(tf.mul(b.continues, GAMMA), tu));
  });
  const taken = tf.oneHot(b.actions, A).toFloat();
  const cost = opt.minimize(() => {
    const hist = history(
      w,
      tf.slice(b.prevAction, [0, 0], [k, T]),
      tf.slice(b.obs, [0, 0], [k, T]),
    );
    const s = embed(w.stateEmb, tf.slice(b.state, [0, 0], [k, T]), S);
    const q = tf.sum(tf.mul(head(w, "q", hist), taken), 2);
    const u = tf.sum(tf.mul(head(w, "u", tf.concat([hist, s], 2)), taken), 2);
    // Per-run mean over steps, summed over runs: each run's gradient is its own loss's.
    const lq = tf.mean(tf.square(tf.sub(q, y)), 1), lu = tf.mean(tf.square(tf.sub(u, y)), 1);
    return tf.sum(tf.div(tf.add(lq, lu), 2)) as tf.Scalar;
  }, true)!;
  y.dispose();
  taken.dispose();
  return cost;
}

/** Steps per second of `step` (awaited), after `warm` untimed steps, for at least `seconds`. */
async function timeIt(step: () => Promise<void>, seconds: number, warm = 2) {
  for (let i = 0; i < warm; i++) await step();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < seconds * 1000) {
    await step();
    n++;
  }
  return { perS: n / ((performance.now() - t0) / 1000), iterations: n };
}

async function measureTrain(k: number, seconds: number) {
  const w = initWeights(k);
  const target = Object.fromEntries(
    Object.entries(w).map(([n, v]) => [n, tf.variable(v.clone(), false)]),
  ) as Weights;
  const opt = tf.train.adam(1e-4, 0.9, 0.999, 1e-4);
  const b = randomBatch(k);
  const r = await timeIt(async () => {
    const cost = trainStep(w, target, opt, b);
    await cost.data();
    cost.dispose();
  }, seconds);
  tf.dispose([...Object.values(w), ...Object.values(target), ...Object.values(b)]);
  opt.dispose();
  return {
    mode: `bmm-${k}`,
    k,
    stepsPerS: r.perS,
    envStepsPerS: r.perS * k * T,
    iterations: r.iterations,
  };
}

async function measureAct(k: number, seconds: number) {
  const w = initWeights(k);
  let h: tf.Tensor = tf.zeros([k, 1, H]);
  const prev = tf.fill([k, 1], A, "int32"), obs = tf.fill([k, 1], O, "int32");
  const r = await timeIt(
    async () => {
      const [next, action] = tf.tidy(() => {
        const hNext = gruCell(w, inputGates(w, prev, obs), h);
        return [hNext, tf.argMax(head(w, "q", hNext), 2)];
      });
      await action.data();
      action.dispose();
      h.dispose();
      h = next;
    },
    seconds,
    5,
  );
  tf.dispose([...Object.values(w), h, prev, obs]);
  return {
    mode: `act-${k}`,
    k,
    stepsPerS: r.perS,
    envStepsPerS: r.perS * k,
    iterations: r.iterations,
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      backend: { type: "string", default: "webgpu" },
      k: { type: "string", default: "1,20,100" },
      act: { type: "string", default: "1,20,100" },
      seconds: { type: "string", default: "3" },
    },
  });
  const ks = values.k.split(",").filter(Boolean).map(Number);
  const acts = values.act.split(",").filter(Boolean).map(Number);
  const seconds = Number(values.seconds);
  if ([...ks, ...acts].some((k) => !Number.isInteger(k) || k < 1) || !(seconds > 0)) {
    console.error(
      `--k and --act take positive integers (got ${values.k}, ${values.act}), --seconds a positive number`,
    );
    Deno.exit(2);
  }
  if (values.backend === "webgpu") {
    const adapter = await navigator.gpu?.requestAdapter();
    const i = adapter?.info;
    console.error(
      `WebGPU adapter: ${
        i ? [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(" / ") : "none"
      }${
        (i as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter
          ? " (software fallback)"
          : ""
      }`,
    );
    await import("@tensorflow/tfjs-backend-webgpu");
  }
  if (!(await tf.setBackend(values.backend))) {
    console.error(`backend ${values.backend} did not start`);
    Deno.exit(1);
  }
  await tf.ready();
  tf.enableProdMode();
  console.error(`backend: ${tf.getBackend()}`);
  for (const k of ks) {
    console.log(JSON.stringify({ backend: tf.getBackend(), ...(await measureTrain(k, seconds)) }));
  }
  for (const k of acts) {
    console.log(JSON.stringify({ backend: tf.getBackend(), ...(await measureAct(k, seconds)) }));
  }
}
