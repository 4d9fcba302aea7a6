/**
 * The contract between the training loop (`lib/train`) and a learning agent (`lib/models` +
 * `lib/losses`): plain data in and out, so the loop never touches tensors. It lives here, beside
 * its implementation (./batched_agent.ts), so that lib/models imports nothing from lib/train.
 *
 * @module
 */

/** The five DQN-family algorithms of the paper (section 4.4). */
export const ALGO_IDS = ["dqn", "adqn", "adqn-vr", "adqn-state", "adqn-state-vr"] as const;

/** One of {@link ALGO_IDS}. */
export type AlgoId = typeof ALGO_IDS[number];

/** Throw a clear error unless `id` names an algorithm. */
export function checkAlgoId(id: string): AlgoId {
  if (!(ALGO_IDS as readonly string[]).includes(id)) {
    throw new Error(`unknown algorithm "${id}"; expected one of ${ALGO_IDS.join(", ")}`);
  }
  return id as AlgoId;
}

/**
 * One stored episode, steps t = 0..length-1: o_t and s_t are what the agent had *before* acting
 * a_t, and r_t the reward that followed. Features are the environment's encodings, row-major.
 */
export interface Episode {
  /** Number of stored steps T (at least 1). */
  length: number;
  /** Encoded observations o_0..o_{T-1}: T × obsSize. */
  obs: Float32Array;
  /** Encoded latent states s_0..s_{T-1}: T × stateSize. */
  states: Float32Array;
  /** Actions a_0..a_{T-1}. */
  actions: Int32Array;
  /** Rewards r_0..r_{T-1} (undiscounted, as the environment paid them). */
  rewards: Float32Array;
  /** The episode ended by reaching a terminal outcome. */
  terminated: boolean;
  /** The episode was cut by the time limit. */
  truncated: boolean;
  /** Encoded observation after the last step (only read when bootstrapping at truncation). */
  finalObs: Float32Array;
  /** Encoded state after the last step (only read when bootstrapping at truncation). */
  finalState: Float32Array;
}

/** Losses of one gradient step (the mean squared errors of algorithms.md §2). */
export interface TrainStepLosses {
  /** The optimised total: (L_U + L_Q) / 2, or L_Q alone for DQN. */
  loss: number;
  /** The Q loss. */
  lossQ: number;
  /** The U loss (0 for DQN). */
  lossU: number;
}

/** Options of one gradient step. */
export interface TrainStepOptions {
  /** Discount γ of the targets. */
  gamma: number;
  /** Bootstrap from the final observation when an episode was truncated (default false: mask 0). */
  bootstrapOnTruncation?: boolean;
}

/** A named snapshot of every tensor an agent owns (weights, target weights, optimizer moments). */
export interface AgentSnapshot {
  /** Tensors by name, with their shapes. */
  tensors: Record<string, { shape: number[]; data: Float32Array }>;
  /** Small counters such as the optimizer's step count. */
  scalars: Record<string, number>;
}

/** A recurrent Q-learning agent as the training loop sees it. */
export interface Agent {
  /** The algorithm this agent implements. */
  readonly algo: AlgoId;
  /** Width of the recurrent state carried while acting. */
  readonly hiddenSize: number;
  /** The recurrent state at the start of an episode (zeros). */
  initialHidden(): Float32Array;
  /**
   * One acting step: feed (a_{t-1}, o_t) with a_{-1} = -1 at the first step, get Q(h_t, ·) and the
   * next recurrent state. Pure: the given `hidden` is not modified.
   */
  act(
    hidden: Float32Array,
    prevAction: number,
    obs: Float32Array,
  ): { q: Float32Array; hidden: Float32Array };
  /** One Adam step on the mean loss over the given whole episodes. */
  trainStep(episodes: Episode[], options: TrainStepOptions): TrainStepLosses;
  /** Hard-copy every online weight into the target networks. */
  updateTargets(): void;
  /** Copy out every tensor (for checkpoints). */
  snapshot(): AgentSnapshot;
  /** Restore from {@link Agent.snapshot}'s output; shapes must match. */
  restore(snapshot: AgentSnapshot): void;
  /** Free every tensor. */
  dispose(): void;
}
