import * as tf from "@tensorflow/tfjs";
import assert from "assert";
import { initBackend } from "../../lib/nn/backend.ts";
import {
  adqnLoss,
  adqnStateLoss,
  adqnStateVrLoss,
  adqnVrLoss,
  dqnLoss,
  greedyActions,
} from "../../lib/losses/losses.ts";

await initBackend("wasm");

// A 3-step example with 2 actions, γ = 0.5, the last step not bootstrapping (m = [1, 1, 0]).
const Q = [[1, 2], [0.5, -1], [3, 0]];
const ACTIONS = [1, 0, 0]; // Q(h_t, a_t) = [2, 0.5, 3]
const REWARDS = [0, 1, 2];
const CONTINUES = [1, 1, 0];
const TQ_NEXT = [[0, 1], [2, 2], [5, -5]]; // a* = [1, 0 (tie: first index), 0]; max = [1, 2, 5]
const TU_NEXT = [[10, 20], [30, 40], [50, 60]]; // Ū(next, a*) = [20, 30, 50]
const U = [[1, 3], [2, 2], [0, 1]]; // U(·, a_t) = [3, 2, 0]
const TU = [[1, 1], [0, 2], [3, 3]];

// Targets by hand:
//   ADQN: y = r + γ m Ū(next, a*) = [0 + 0.5·20, 1 + 0.5·30, 2 + 0] = [10, 16, 2]
//   DQN:  y = r + γ m max Q̄(next) = [0 + 0.5·1, 1 + 0.5·2, 2] = [0.5, 2, 2]
const ADQN_LU = ((3 - 10) ** 2 + (2 - 16) ** 2 + (0 - 2) ** 2) / 3; // 249/3 = 83
const ADQN_LQ = ((2 - 10) ** 2 + (0.5 - 16) ** 2 + (3 - 2) ** 2) / 3; // 305.25/3 = 101.75
const VR_LQ = (0 + 1 + 0.25 + 9 + 0 + 9) / 6; // mean over steps × actions of (Q - Ū(h_t, s_t))²
const DQN_LQ = ((2 - 0.5) ** 2 + (0.5 - 2) ** 2 + (3 - 2) ** 2) / 3; // 5.5/3

function inputs(mask?: number[]) {
  return {
    q: tf.tensor2d(Q),
    u: tf.tensor2d(U),
    targetQNext: tf.tensor2d(TQ_NEXT),
    targetUNext: tf.tensor2d(TU_NEXT),
    targetU: tf.tensor2d(TU),
    actions: tf.tensor1d(ACTIONS, "int32"),
    rewards: tf.tensor1d(REWARDS),
    continues: tf.tensor1d(CONTINUES),
    mask: mask ? tf.tensor1d(mask) : undefined,
    gamma: 0.5,
  };
}

function values(l: { loss: tf.Scalar; lossQ: tf.Scalar; lossU: tf.Scalar }) {
  return { loss: l.loss.dataSync()[0], lossQ: l.lossQ.dataSync()[0], lossU: l.lossU.dataSync()[0] };
}

function close(got: number, want: number, what: string) {
  // Values up to ~100 in float32: 1e-4 relative.
  assert.ok(
    Math.abs(got - want) <= 1e-4 * Math.max(1, Math.abs(want)),
    `${what}: ${got} vs ${want}`,
  );
}

Deno.test("`dqnLoss()` equals the hand-computed DQN loss", () => {
  tf.tidy(() => {
    const v = values(dqnLoss(inputs()));
    close(v.lossQ, DQN_LQ, "lossQ");
    close(v.loss, DQN_LQ, "loss");
    assert.equal(v.lossU, 0);
    // Masking out the last step averages over the first two only.
    close(values(dqnLoss(inputs([1, 1, 0]))).lossQ, (2.25 + 2.25) / 2, "masked");
  });
});

Deno.test("`adqnLoss()` and `adqnStateLoss()` equal the hand-computed ADQN losses", () => {
  tf.tidy(() => {
    for (const f of [adqnLoss, adqnStateLoss]) {
      const v = values(f(inputs()));
      close(v.lossU, ADQN_LU, "lossU");
      close(v.lossQ, ADQN_LQ, "lossQ");
      close(v.loss, (ADQN_LU + ADQN_LQ) / 2, "loss");
    }
  });
});

Deno.test("`adqnVrLoss()` and `adqnStateVrLoss()` equal the hand-computed ADQN-VR losses", () => {
  tf.tidy(() => {
    for (const f of [adqnVrLoss, adqnStateVrLoss]) {
      const v = values(f(inputs()));
      close(v.lossU, ADQN_LU, "lossU");
      close(v.lossQ, VR_LQ, "lossQ");
      close(v.loss, (ADQN_LU + VR_LQ) / 2, "loss");
    }
    // Mask [1, 0, 1]: U over steps 0 and 2, Q over their 4 action entries.
    const v = values(adqnVrLoss(inputs([1, 0, 1])));
    close(v.lossU, (49 + 4) / 2, "masked lossU");
    close(v.lossQ, (0 + 1 + 0 + 9) / 4, "masked lossQ");
  });
});

Deno.test("losses differentiate the online values only, by hand", () => {
  tf.tidy(() => {
    const x = inputs();
    // ADQN total = (L_U + L_Q)/2: d/dQ(h_t, a_t) = (Q - y)/N, zero for other actions.
    const [gq, gu, gtq, gtu] = tf.grads((
      q: tf.Tensor,
      u: tf.Tensor,
      tq: tf.Tensor,
      tu: tf.Tensor,
    ) =>
      adqnLoss({
        ...x,
        q: q as tf.Tensor2D,
        u: u as tf.Tensor2D,
        targetQNext: tq as tf.Tensor2D,
        targetUNext: tu as tf.Tensor2D,
      }).loss
    )([x.q, x.u, x.targetQNext, x.targetUNext]);
    const want = (vals: number[], ys: number[]) => {
      const out = [0, 0, 0, 0, 0, 0];
      ACTIONS.forEach((a, t) => (out[t * 2 + a] = (vals[t] - ys[t]) / 3));
      return out;
    };
    const y = [10, 16, 2];
    Array.from(gq.dataSync()).forEach((g, i) => close(g, want([2, 0.5, 3], y)[i], `dQ[${i}]`));
    Array.from(gu.dataSync()).forEach((g, i) => close(g, want([3, 2, 0], y)[i], `dU[${i}]`));
    for (const g of [gtq, gtu]) {
      assert.ok(g.dataSync().every((v) => v === 0), "targets get no gradient");
    }
    // VR: d L_Q / dQ(h_t, a) = 2 (Q - Ū(h_t, s_t, a)) / (N·|A|) / 2 for the total; Ū gets nothing.
    const [gq2, gtu2] = tf.grads((q: tf.Tensor, tu: tf.Tensor) =>
      adqnVrLoss({ ...x, q: q as tf.Tensor2D, targetU: tu as tf.Tensor2D }).loss
    )([x.q, x.targetU]);
    const flatQ = Q.flat(), flatTU = TU.flat();
    Array.from(gq2.dataSync()).forEach((g, i) =>
      close(g, (flatQ[i] - flatTU[i]) / 6, `VR dQ[${i}]`)
    );
    assert.ok(gtu2.dataSync().every((v) => v === 0));
  });
});

Deno.test("`greedyActions()` breaks ties by the first index on wasm and cpu", async () => {
  for (const backend of ["wasm", "cpu"] as const) {
    await initBackend(backend);
    tf.tidy(() => {
      const a = greedyActions(tf.tensor2d([[1, 1, 0], [0, 2, 2], [3, 3, 3], [-1, 0, -1]]));
      assert.deepEqual(Array.from(a.dataSync()), [0, 1, 0, 1], backend);
    });
  }
  await initBackend("wasm");
});

Deno.test("losses reject inconsistent inputs", () => {
  tf.tidy(() => {
    assert.throws(
      () => dqnLoss({ ...inputs(), targetQNext: tf.zeros([2, 2]) }),
      /targetQNext \[2,2\]/,
    );
    assert.throws(() => dqnLoss({ ...inputs(), actions: tf.tensor1d([0, 1, 0]) }), /int32/);
    assert.throws(
      () => adqnVrLoss({ ...inputs(), targetU: undefined as unknown as tf.Tensor2D }),
      /targetU missing/,
    );
    assert.throws(() => dqnLoss({ ...inputs(), gamma: 2 }), /gamma 2/);
  });
});
