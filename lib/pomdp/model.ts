/**
 * A tabular POMDP: finite states, actions and observations, with dense transition, observation and
 * reward tables. Used by the Cassandra `.pomdp` parser, the Heaven-Hell generator, the tabular
 * environment and the exact solvers.
 *
 * Episodic models (gym-pomdps' `reset` keyword): `T: a : s reset` marks the pair (s, a) as ending
 * the episode; its reward still counts, and no next state or observation follows.
 *
 * @module
 */

/** A finite POMDP with dense tables (row-major Float64Arrays). */
export interface TabularPOMDP {
  /** State names (length |S|). */
  states: string[];
  /** Action names (length |A|). */
  actions: string[];
  /** Observation names (length |O|). */
  observations: string[];
  /** Discount factor from the model file (solvers may override). */
  discount: number;
  /** Whether `R` holds rewards or costs (`values: cost` files are negated at parse time). */
  values: "reward";
  /** Initial belief b0(s), length |S|. */
  start: Float64Array;
  /** T[(a*|S| + s)*|S| + s'] = Pr(s' | s, a). Rows of reset pairs are all zero. */
  T: Float64Array;
  /** O[(a*|S| + s')*|O| + o] = Pr(o | a, s'). */
  O: Float64Array;
  /** R[((a*|S| + s)*|S| + s')*|O| + o]: reward of the full transition. */
  R: Float64Array;
  /** reset[a*|S| + s] = 1 where taking a in s ends the episode (episodic models). */
  reset: Uint8Array;
}

/** Sizes of a tabular POMDP. */
export function sizes(m: TabularPOMDP): { S: number; A: number; O: number } {
  return { S: m.states.length, A: m.actions.length, O: m.observations.length };
}

/**
 * Expected immediate reward R(s, a) = Σ_{s',o} T(s'|s,a) O(o|a,s') R(s,a,s',o).
 * For a reset pair (no successor) the reward is R(s, a, s'=s, o=0): the reward of the ending action
 * cannot depend on a successor that does not exist.
 */
export function expectedReward(m: TabularPOMDP, s: number, a: number): number {
  const { S, O } = sizes(m);
  if (m.reset[a * S + s]) return m.R[((a * S + s) * S + s) * O];
  let r = 0;
  for (let s2 = 0; s2 < S; s2++) {
    const t = m.T[(a * S + s) * S + s2];
    if (t === 0) continue;
    for (let o = 0; o < O; o++) {
      const p = m.O[(a * S + s2) * O + o];
      if (p !== 0) r += t * p * m.R[((a * S + s) * S + s2) * O + o];
    }
  }
  return r;
}

/** Allocate an all-zero model of the given sizes (for builders). */
export function emptyModel(
  states: string[],
  actions: string[],
  observations: string[],
  discount = 0.95,
): TabularPOMDP {
  const S = states.length, A = actions.length, O = observations.length;
  return {
    states,
    actions,
    observations,
    discount,
    values: "reward",
    start: new Float64Array(S),
    T: new Float64Array(A * S * S),
    O: new Float64Array(A * S * O),
    R: new Float64Array(A * S * S * O),
    reset: new Uint8Array(A * S),
  };
}
