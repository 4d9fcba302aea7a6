/**
 * Finite history trees of a {@link TabularPOMDP}: every reachable history h = (o0, a0, o1, ..., at)
 * with fewer than `horizon` actions, the belief b(s|h) of each (Bayes' rule), R(h, a), Pr(o|h, a)
 * and the child reached by each (a, o) of positive probability. These are the tables on which the
 * paper's tabular algorithms (Q(h,a), U(h,s,a); sections 3.3-4.3) run exactly.
 *
 * Conventions:
 * - o0 is the reset observation: it carries no information, so the root's belief is the start
 *   distribution b0. Depth = number of actions taken; decision nodes have depth 0..H-1.
 * - Finite horizon: histories with H actions are leaves worth 0 (values beyond the horizon are
 *   truncated to 0). They are counted ({@link HistoryTree.truncatedHistories}) but not stored; an
 *   edge into one has `edgeChild = -1`.
 * - Episodic models: taking a in s where `reset(s,a)` ends the episode. "Ended" is an absorbing,
 *   zero-reward outcome with no successor, so Σ_o Pr(o|h,a) + Pr(end|h,a) = 1, where Pr(o|h,a)
 *   means Pr(episode continues and o is observed | h, a); the child's belief is conditioned on the
 *   episode having continued. Every value stays exact: Q(h,a) = R(h,a) + γ Σ_o Pr(o|h,a) V(hao).
 * - Merging (`merge: "belief"`, the default): histories of equal depth and equal belief are merged
 *   into one node (a layered DAG). This is exact: every quantity of the theory (Q*, Q^π and U^π for
 *   policies that are functions of the node, greedy policies g(Q), the AQL updates with their
 *   Pr(s|h) factor) depends on a history only through its depth and belief, and the child of a
 *   merged node is the same for all its histories. Beliefs are compared after rounding to
 *   `beliefDigits` decimals. `merge: "none"` builds the literal tree (one node per history): it
 *   is exponential in H (Heaven-Hell-4 at H = 19 has about 10^11 histories) and is used to check
 *   the merged DAG on small problems. {@link HistoryTree.historyCount} counts the histories that
 *   each node stands for.
 * - Storage is flat typed arrays: nodes in breadth-first (depth) order; per-node sparse beliefs
 *   (`beliefStart`, `beliefState`, `beliefProb`); per-(node, action) edge lists (`edgeStart`,
 *   `edgeObs`, `edgeProb`, `edgeChild`); and per-(entry, action) history-state transitions for U
 *   (`uStart`, `uNextEntry`, `uNextNode`, `uProb`). An "entry" is a (node, state) pair with
 *   b(s|h) > 0: U tables have `numEntries * |A|` values, indexed `entry * |A| + a`. U(h,s,a) for
 *   states outside the belief's support is never needed (B_π U maps support to support).
 *
 * @example Heaven-Hell-3 at the horizon of its optimal episode
 * ```ts
 * import { heavenHellModel } from "./heaven_hell.ts";
 * import { buildHistoryTree } from "./history_tree.ts";
 * const tree = buildHistoryTree(heavenHellModel(3), { horizon: 15 });
 * console.log(tree.numNodes, tree.totalHistories); // 297 nodes standing for 394,742,143 histories
 * ```
 * @module
 */
import { stateActionRewards } from "./belief.ts";
import { sizes, type TabularPOMDP } from "./model.ts";
import { Grow } from "./tables.ts";

/** How histories are stored: one node per history, or merged by (depth, belief). */
export type MergeMode = "none" | "belief";

/** Options of {@link buildHistoryTree}. */
export interface HistoryTreeOptions {
  /** Number of actions H; histories with H actions are leaves worth 0 (H ≥ 1). */
  horizon: number;
  /** `"belief"` (default): merge histories of equal depth and belief; `"none"`: a literal tree. */
  merge?: MergeMode;
  /** Discount γ of the solvers (default: the model's). */
  discount?: number;
  /** Refuse to build more decision nodes than this (default 2,000,000). */
  maxNodes?: number;
  /** Decimals to which beliefs are rounded when comparing them for merging (default 12). */
  beliefDigits?: number;
}

/** A finite history tree (or merged DAG) in flat typed arrays; see the module docs. */
export interface HistoryTree {
  /** The model the tree was built from. */
  readonly model: TabularPOMDP;
  /** Number of actions H (decision nodes have depth 0..H-1). */
  readonly horizon: number;
  /** Discount γ used by the solvers. */
  readonly discount: number;
  /** Merge mode used to build it. */
  readonly merge: MergeMode;
  /** |S|. */
  readonly numStates: number;
  /** |A|. */
  readonly numActions: number;
  /** |O|. */
  readonly numObservations: number;
  /** Number of decision nodes N (the root is node 0). */
  readonly numNodes: number;
  /** Number of (node, state) entries with positive belief: rows of a U table. */
  readonly numEntries: number;
  /** Depth (actions taken) of each node. */
  readonly depth: Uint16Array;
  /** Nodes of depth d are `layerStart[d] .. layerStart[d+1]-1` (length H + 1). */
  readonly layerStart: Int32Array;
  /** Parent of each node along its first history (-1 for the root). */
  readonly parent: Int32Array;
  /** Action from the parent along the first history (-1 for the root). */
  readonly parentAction: Int32Array;
  /** Observation from the parent along the first history (-1 for the root). */
  readonly parentObservation: Int32Array;
  /** Number of distinct histories each node stands for (1 in a literal tree). */
  readonly historyCount: Float64Array;
  /** Entries of node n are `beliefStart[n] .. beliefStart[n+1]-1` (length N + 1). */
  readonly beliefStart: Int32Array;
  /** State of each entry (increasing within a node). */
  readonly beliefState: Int32Array;
  /** b(s|h) of each entry. */
  readonly beliefProb: Float64Array;
  /** Node of each entry. */
  readonly entryNode: Int32Array;
  /** R(h,a) = Σ_s b(s|h) R(s,a), at `n * |A| + a`. */
  readonly reward: Float64Array;
  /** Pr(episode ends | h, a), at `n * |A| + a`. */
  readonly endProb: Float64Array;
  /** Edges of (n, a) are `edgeStart[n*|A|+a] .. edgeStart[n*|A|+a+1]-1`. */
  readonly edgeStart: Int32Array;
  /** Observation of each edge (increasing within an (n, a)). */
  readonly edgeObs: Int32Array;
  /** Pr(o|h,a) (joint with continuing) of each edge; always > 0. */
  readonly edgeProb: Float64Array;
  /** Child node of each edge, or -1 when it lies at depth H (beyond the horizon, worth 0). */
  readonly edgeChild: Int32Array;
  /** R(s,a) at `s * |A| + a`. */
  readonly stateReward: Float64Array;
  /** Transitions of U row (entry e, action a) are `uStart[e*|A|+a] .. uStart[e*|A|+a+1]-1`. */
  readonly uStart: Int32Array;
  /** Successor entry (child node, s') of each U transition. */
  readonly uNextEntry: Int32Array;
  /** Successor node of each U transition. */
  readonly uNextNode: Int32Array;
  /** T(s'|s,a) O(o|a,s') of each U transition (ended and beyond-horizon mass omitted). */
  readonly uProb: Float64Array;
  /** Number of reachable histories with fewer than H actions (Σ historyCount). */
  readonly totalHistories: number;
  /** Number of reachable histories with exactly H actions (leaves, not stored). */
  readonly truncatedHistories: number;
}

/**
 * Enumerate the reachable histories of `model` up to `options.horizon` actions.
 *
 * @example
 * ```ts
 * import { emptyDenseModel, fromDense } from "./model.ts";
 * import { buildHistoryTree } from "./history_tree.ts";
 * const d = emptyDenseModel(["s"], ["a", "b"], ["o"]);
 * d.start[0] = 1; d.T.fill(1); d.O.fill(1);
 * const m = fromDense(d);
 * const tree = buildHistoryTree(m, { horizon: 3, merge: "none" });
 * console.log(tree.numNodes); // 1 + 2 + 4 = 7
 * ```
 */
export function buildHistoryTree(model: TabularPOMDP, options: HistoryTreeOptions): HistoryTree {
  const { S, A, O } = sizes(model);
  const H = options.horizon;
  if (!Number.isInteger(H) || H < 1 || H > 65535) {
    throw new Error(`buildHistoryTree: invalid horizon ${H}; expected an integer in 1..65535`);
  }
  const merge = options.merge ?? "belief";
  if (merge !== "none" && merge !== "belief") {
    throw new Error(`buildHistoryTree: invalid merge "${merge}"; expected "none" or "belief"`);
  }
  const discount = options.discount ?? model.discount;
  if (!(discount >= 0 && discount <= 1)) {
    throw new Error(`buildHistoryTree: invalid discount ${discount}; expected a number in [0, 1]`);
  }
  const maxNodes = options.maxNodes ?? 2_000_000;
  const digits = options.beliefDigits ?? 12;
  const scale = 10 ** digits;
  const sp = {
    tStart: model.T.ptr,
    tNext: model.T.index,
    tProb: model.T.value,
    oStart: model.O.ptr,
    oObs: model.O.index,
    oProb: model.O.value,
  };
  const stateReward = stateActionRewards(model);

  // Growable node/entry/edge/transition storage.
  const depth = new Grow(Uint16Array);
  const parent = new Grow(Int32Array);
  const parentAction = new Grow(Int32Array);
  const parentObservation = new Grow(Int32Array);
  const historyCount = new Grow(Float64Array);
  const beliefStart = new Grow(Int32Array);
  const beliefState = new Grow(Int32Array);
  const beliefProb = new Grow(Float64Array);
  const reward = new Grow(Float64Array);
  const endProb = new Grow(Float64Array);
  const edgeStart = new Grow(Int32Array);
  const edgeObs = new Grow(Int32Array);
  const edgeProb = new Grow(Float64Array);
  const edgeChild = new Grow(Int32Array);
  const uStart = new Grow(Int32Array);
  const uNextEntry = new Grow(Int32Array);
  const uNextNode = new Grow(Int32Array);
  const uProb = new Grow(Float64Array);

  let numNodes = 0;
  const addNode = (
    d: number,
    par: number,
    a: number,
    o: number,
    states: ArrayLike<number>,
    probs: ArrayLike<number>,
    count: number,
  ): number => {
    if (numNodes >= maxNodes) {
      throw new Error(
        `buildHistoryTree: more than maxNodes = ${maxNodes} decision nodes at depth ${d} of ` +
          `horizon ${H} (merge "${merge}"); use merge: "belief" (exact), a smaller horizon, or ` +
          `a larger maxNodes`,
      );
    }
    depth.push(d);
    parent.push(par);
    parentAction.push(a);
    parentObservation.push(o);
    historyCount.push(count);
    beliefStart.push(beliefState.length);
    for (let k = 0; k < states.length; k++) {
      beliefState.push(states[k]);
      beliefProb.push(probs[k]);
    }
    return numNodes++;
  };

  const rootStates: number[] = [], rootProbs: number[] = [];
  for (let s = 0; s < S; s++) {
    if (model.start[s] > 0) {
      rootStates.push(s);
      rootProbs.push(model.start[s]);
    }
  }
  if (rootStates.length === 0) throw new Error("buildHistoryTree: the start distribution is empty");
  addNode(0, -1, -1, -1, rootStates, rootProbs, 1);

  const layerStart = new Int32Array(H + 1);
  const work = new Float64Array(O * S); // joint Pr(s', o, continued | h, a)
  const touched = new Uint8Array(O);
  const obsChild = new Int32Array(A * O); // child of (a, o) for the node being expanded
  const childStates: number[] = [], childProbs: number[] = [];
  let truncatedHistories = 0;
  let totalHistories = 0;
  let layerMap = new Map<string, number>();

  for (let n = 0; n < numNodes; n++) {
    const d = depth.data[n];
    if (n === 0 || d !== depth.data[n - 1]) {
      layerStart[d] = n;
      layerMap = new Map(); // children of this layer are keyed afresh
    }
    const count = historyCount.data[n];
    totalHistories += count;
    const b0 = beliefStart.data[n];
    const b1 = n + 1 < numNodes ? beliefStart.data[n + 1] : beliefState.length;
    obsChild.fill(-1);
    for (let a = 0; a < A; a++) {
      edgeStart.push(edgeObs.length);
      let r = 0, end = 0;
      for (let k = b0; k < b1; k++) {
        const s = beliefState.data[k], b = beliefProb.data[k];
        r += b * stateReward[s * A + a];
        if (model.reset[a * S + s]) {
          end += b;
          continue;
        }
        for (let t = sp.tStart[a * S + s]; t < sp.tStart[a * S + s + 1]; t++) {
          const s2 = sp.tNext[t], bt = b * sp.tProb[t];
          for (let q = sp.oStart[a * S + s2]; q < sp.oStart[a * S + s2 + 1]; q++) {
            const o = sp.oObs[q];
            work[o * S + s2] += bt * sp.oProb[q];
            touched[o] = 1;
          }
        }
      }
      reward.push(r);
      endProb.push(end);
      for (let o = 0; o < O; o++) {
        if (!touched[o]) continue;
        touched[o] = 0;
        let p = 0;
        for (let s2 = 0; s2 < S; s2++) p += work[o * S + s2];
        childStates.length = 0;
        childProbs.length = 0;
        for (let s2 = 0; s2 < S; s2++) {
          const w = work[o * S + s2];
          if (w > 0) {
            childStates.push(s2);
            childProbs.push(w / p);
          }
          work[o * S + s2] = 0;
        }
        if (!(p > 0)) continue;
        let c = -1;
        if (d + 1 >= H) {
          truncatedHistories += count;
        } else if (merge === "belief") {
          let key = "";
          for (let k = 0; k < childStates.length; k++) {
            key += `${childStates[k]}:${Math.round(childProbs[k] * scale)},`;
          }
          const found = layerMap.get(key);
          if (found !== undefined) {
            c = found;
            historyCount.data[c] += count;
          } else {
            c = addNode(d + 1, n, a, o, childStates, childProbs, count);
            layerMap.set(key, c);
          }
        } else {
          c = addNode(d + 1, n, a, o, childStates, childProbs, count);
        }
        edgeObs.push(o);
        edgeProb.push(p);
        edgeChild.push(c);
        obsChild[a * O + o] = c;
      }
    }
    // History-state transitions of U: (n, s, a) -> (child(n, a, o), s') with T(s'|s,a) O(o|a,s').
    for (let k = b0; k < b1; k++) {
      const s = beliefState.data[k];
      for (let a = 0; a < A; a++) {
        uStart.push(uNextEntry.length);
        if (model.reset[a * S + s] || d + 1 >= H) continue;
        for (let t = sp.tStart[a * S + s]; t < sp.tStart[a * S + s + 1]; t++) {
          const s2 = sp.tNext[t];
          for (let q = sp.oStart[a * S + s2]; q < sp.oStart[a * S + s2 + 1]; q++) {
            const c = obsChild[a * O + sp.oObs[q]];
            const e = findEntry(
              beliefStart.data,
              beliefState.data,
              beliefState.length,
              c,
              s2,
              numNodes,
            );
            if (c < 0 || e < 0) {
              throw new Error(
                `buildHistoryTree: internal error: no entry for state ${s2} in child ${c}`,
              );
            }
            uNextEntry.push(e);
            uNextNode.push(c);
            uProb.push(sp.tProb[t] * sp.oProb[q]);
          }
        }
      }
    }
  }
  // Layers that were never reached (every episode ended earlier) start at numNodes.
  const lastDepth = depth.data[numNodes - 1];
  for (let d = lastDepth + 1; d <= H; d++) layerStart[d] = numNodes;
  edgeStart.push(edgeObs.length);
  beliefStart.push(beliefState.length);
  uStart.push(uNextEntry.length);

  const numEntries = beliefState.length;
  const entryNode = new Int32Array(numEntries);
  const bs = beliefStart.toArray();
  for (let n = 0; n < numNodes; n++) entryNode.fill(n, bs[n], bs[n + 1]);
  return {
    model,
    horizon: H,
    discount,
    merge,
    numStates: S,
    numActions: A,
    numObservations: O,
    numNodes,
    numEntries,
    depth: depth.toArray(),
    layerStart,
    parent: parent.toArray(),
    parentAction: parentAction.toArray(),
    parentObservation: parentObservation.toArray(),
    historyCount: historyCount.toArray(),
    beliefStart: bs,
    beliefState: beliefState.toArray(),
    beliefProb: beliefProb.toArray(),
    entryNode,
    reward: reward.toArray(),
    endProb: endProb.toArray(),
    edgeStart: edgeStart.toArray(),
    edgeObs: edgeObs.toArray(),
    edgeProb: edgeProb.toArray(),
    edgeChild: edgeChild.toArray(),
    stateReward,
    uStart: uStart.toArray(),
    uNextEntry: uNextEntry.toArray(),
    uNextNode: uNextNode.toArray(),
    uProb: uProb.toArray(),
    totalHistories,
    truncatedHistories,
  };
}

/** The child of `node` after (action, observation): a node index, or -1 (impossible or at depth H). */
export function findChild(
  tree: HistoryTree,
  node: number,
  action: number,
  observation: number,
): number {
  const i = tree.edgeStart[node * tree.numActions + action];
  const j = tree.edgeStart[node * tree.numActions + action + 1];
  for (let e = i; e < j; e++) if (tree.edgeObs[e] === observation) return tree.edgeChild[e];
  return -1;
}

/** The entry (row of a U table) of (node, state), or -1 when b(state|node) = 0. */
export function entryOf(tree: HistoryTree, node: number, state: number): number {
  for (let k = tree.beliefStart[node]; k < tree.beliefStart[node + 1]; k++) {
    if (tree.beliefState[k] === state) return k;
  }
  return -1;
}

/** The belief of a node as a dense vector over states. */
export function nodeBelief(tree: HistoryTree, node: number): Float64Array {
  checkNode(tree, node);
  const b = new Float64Array(tree.numStates);
  for (let k = tree.beliefStart[node]; k < tree.beliefStart[node + 1]; k++) {
    b[tree.beliefState[k]] = tree.beliefProb[k];
  }
  return b;
}

/** The (first) history of a node: its actions a0..a_{t-1} and observations o1..o_t. */
export function historyOf(
  tree: HistoryTree,
  node: number,
): { actions: number[]; observations: number[] } {
  checkNode(tree, node);
  const actions: number[] = [], observations: number[] = [];
  for (let n = node; tree.parent[n] >= 0; n = tree.parent[n]) {
    actions.push(tree.parentAction[n]);
    observations.push(tree.parentObservation[n]);
  }
  return { actions: actions.reverse(), observations: observations.reverse() };
}

/** The node reached by following a history (actions a0.., observations o1..), or -1. */
export function nodeOf(tree: HistoryTree, actions: number[], observations: number[]): number {
  if (actions.length !== observations.length) {
    throw new Error(
      `nodeOf: ${actions.length} actions but ${observations.length} observations; expected equal lengths`,
    );
  }
  let n = 0;
  for (let t = 0; t < actions.length && n >= 0; t++) {
    n = findChild(tree, n, actions[t], observations[t]);
  }
  return n;
}

/** Sizes of a tree: nodes, entries, edges, U transitions, histories and bytes of its arrays. */
export function treeStats(tree: HistoryTree): {
  nodes: number;
  entries: number;
  edges: number;
  uTransitions: number;
  histories: number;
  truncatedHistories: number;
  bytes: number;
} {
  let bytes = 0;
  for (const v of Object.values(tree)) {
    if (ArrayBuffer.isView(v)) bytes += v.byteLength; // the model's own tables are not views here
  }
  return {
    nodes: tree.numNodes,
    entries: tree.numEntries,
    edges: tree.edgeObs.length,
    uTransitions: tree.uProb.length,
    histories: tree.totalHistories,
    truncatedHistories: tree.truncatedHistories,
    bytes,
  };
}

function checkNode(tree: HistoryTree, node: number): void {
  if (!Number.isInteger(node) || node < 0 || node >= tree.numNodes) {
    throw new Error(`invalid node ${node}; expected an integer in 0..${tree.numNodes - 1}`);
  }
}

function findEntry(
  start: Int32Array,
  states: Int32Array,
  entries: number,
  node: number,
  state: number,
  numNodes: number,
): number {
  if (node < 0) return -1;
  const end = node + 1 < numNodes ? start[node + 1] : entries;
  for (let k = start[node]; k < end; k++) if (states[k] === state) return k;
  return -1;
}
