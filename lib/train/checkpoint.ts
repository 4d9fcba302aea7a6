/**
 * Checkpoints of a training run: everything needed to continue it exactly as if it had never
 * stopped (agent tensors, replay buffer, random stream states, counters, the return window).
 *
 * File layout (all integers little-endian):
 *
 * | bytes | content |
 * |---|---|
 * | 0-7 | magic `ADQNCKPT` |
 * | 8-11 | u32 format version ({@link CHECKPOINT_FORMAT_VERSION}) |
 * | 12-15 | u32 header length H (a multiple of 4) |
 * | 16-19 | u32 CRC-32 of everything after byte 23 (header and payload) |
 * | 20-23 | u32 reserved (0) |
 * | 24-(24+H) | header: UTF-8 JSON, padded with spaces |
 * | then | payload: raw Float32 agent tensors, then the episode buffer image (lib/train/buffer.ts) |
 *
 * The header holds the config, its hash, counters, random stream states and the payload's table of
 * contents (name, shape, byte offset). Non-finite numbers are written as `{"$f64": "NaN"}`.
 * Files are written atomically: to a temporary file in the same directory, fsync'd, then renamed.
 *
 * @module
 */
import { crc32 } from "node:zlib";
import { basename, dirname } from "node:path";
import { processAlive } from "../results/process.ts";
import type { RngState } from "../rng.ts";
import type { AgentSnapshot } from "./agent.ts";
import { concatBytes, EpisodeBuffer, readFloat32, writeTyped } from "./buffer.ts";
import { canonicalJson, configHash, type TrainConfig } from "./config.ts";
import type { EpisodeOutcome } from "./loop_state.ts";

/** The version of the checkpoint file format written by this module. */
export const CHECKPOINT_FORMAT_VERSION = 1;

const MAGIC = new TextEncoder().encode("ADQNCKPT");
const PREFIX = 24;

/** The training loop's counters and running statistics (plain data). */
export interface LoopState {
  /** Environment steps so far (prepopulation included). */
  envSteps: number;
  /** Completed episodes. */
  episodes: number;
  /** Sum of the lengths of every episode trained on. */
  trainedSteps: number;
  /** Gradient steps taken. */
  gradientSteps: number;
  /** Target-network copies made. */
  targetUpdates: number;
  /** Copy the targets once `envSteps` reaches this. */
  nextTargetUpdate: number;
  /** Emit a metric point once `envSteps` reaches this. */
  nextLog: number;
  /** Undiscounted returns of the last `returnWindow` episodes, oldest first. */
  returns: number[];
  /**
   * How the last `returnWindow` episodes ended, oldest first (absent in checkpoints written before
   * it was recorded: the window then starts empty on resume).
   */
  outcomes?: EpisodeOutcome[];
  /** Lengths of the last `returnWindow` episodes, oldest first (absent like `outcomes`). */
  lengths?: number[];
  /** Evaluate greedily at the first metric point with `envSteps` at or past this (evaluation on). */
  nextEval?: number;
  /** Return of the last episode (NaN before the first). */
  lastReturn: number;
  /** ε used for the last episode. */
  epsilon: number;
  /** Sum of the Q losses since the last metric point. */
  lossQSum: number;
  /** Sum of the U losses since the last metric point. */
  lossUSum: number;
  /** Gradient steps since the last metric point. */
  lossCount: number;
  /** envStep of the last metric point (-1 if none). */
  lastMetricStep: number;
  /** Wall-clock seconds spent training so far, across resumes. */
  wallSeconds: number;
  /** The run reached `totalSteps`. */
  finished: boolean;
}

/** Everything a checkpoint holds. */
export interface TrainCheckpoint {
  /** The run's configuration. */
  config: TrainConfig;
  /** The loop's counters. */
  state: LoopState;
  /** Saved states of the loop's random streams, by name. */
  rngs: Record<string, RngState>;
  /** The agent's tensors and scalars. */
  agent: AgentSnapshot;
  /** The replay buffer. */
  buffer: EpisodeBuffer;
}

interface TensorEntry {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

interface Header {
  formatVersion: number;
  savedAt: string;
  configHash: string;
  config: TrainConfig;
  state: LoopState;
  rngs: Record<string, RngState>;
  agent: { scalars: Record<string, number>; tensors: TensorEntry[] };
  buffer: { offset: number; byteLength: number };
  payloadBytes: number;
}

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === "number" && !Number.isFinite(value)) return { $f64: String(value) };
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === "$f64") {
      return Number((value as { $f64: string }).$f64);
    }
  }
  return value;
}

/** Encode a checkpoint as byte chunks (concatenated, they form the file). */
export function encodeCheckpoint(ckpt: TrainCheckpoint): Uint8Array[] {
  const tensors: TensorEntry[] = [];
  const payload: Uint8Array[] = [];
  let offset = 0;
  for (const name of Object.keys(ckpt.agent.tensors).sort()) {
    const t = ckpt.agent.tensors[name];
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (!(t.data instanceof Float32Array) || t.data.length !== n) {
      throw new Error(
        `agent tensor "${name}": expected a Float32Array of ${n} values for shape [${t.shape}]`,
      );
    }
    const bytes = new Uint8Array(4 * n);
    writeTyped(bytes, 0, t.data);
    payload.push(bytes);
    tensors.push({ name, shape: [...t.shape], offset, length: n });
    offset += bytes.byteLength;
  }
  const bufferChunks = ckpt.buffer.serialiseChunks();
  let bufferBytes = 0;
  for (const c of bufferChunks) bufferBytes += c.byteLength;
  const header: Header = {
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    savedAt: new Date().toISOString(),
    configHash: configHash(ckpt.config),
    config: ckpt.config,
    state: ckpt.state,
    rngs: ckpt.rngs,
    agent: { scalars: ckpt.agent.scalars, tensors },
    buffer: { offset, byteLength: bufferBytes },
    payloadBytes: offset + bufferBytes,
  };
  let json = JSON.stringify(header, replacer);
  const raw = new TextEncoder().encode(json);
  json += " ".repeat((4 - (raw.byteLength % 4)) % 4);
  const headerBytes = new TextEncoder().encode(json);
  const body = [headerBytes, ...payload, ...bufferChunks];
  let crc = 0;
  for (const c of body) crc = crc32(c, crc);
  const prefix = new Uint8Array(PREFIX);
  prefix.set(MAGIC, 0);
  const view = new DataView(prefix.buffer);
  view.setUint32(8, CHECKPOINT_FORMAT_VERSION, true);
  view.setUint32(12, headerBytes.byteLength, true);
  view.setUint32(16, crc >>> 0, true);
  return [prefix, ...body];
}

/** What a user can do about a damaged checkpoint (part of every corrupt-checkpoint error). */
export const CORRUPT_CHECKPOINT_ADVICE: string =
  "To start this run over from scratch, rerun with --restart-corrupt (the damaged file is kept " +
  "aside as <checkpoint>.corrupt-<time>), or move the file away yourself";

/** Decode a checkpoint file's bytes; `source` names it in errors. Throws on any corruption. */
export function decodeCheckpoint(bytes: Uint8Array, source = "checkpoint"): TrainCheckpoint {
  const bad = (why: string): never => {
    throw new Error(
      `corrupt or unreadable checkpoint ${source}: ${why}. ${CORRUPT_CHECKPOINT_ADVICE}`,
    );
  };
  if (bytes.byteLength < PREFIX) bad(`only ${bytes.byteLength} bytes`);
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) bad("not a checkpoint file (bad magic bytes)");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== CHECKPOINT_FORMAT_VERSION) {
    throw new Error(
      `checkpoint ${source} has format version ${version}; this code reads version ` +
        `${CHECKPOINT_FORMAT_VERSION} only`,
    );
  }
  const H = view.getUint32(12, true);
  if (PREFIX + H > bytes.byteLength) bad(`truncated header (${H} bytes announced)`);
  const body = bytes.subarray(PREFIX);
  if ((crc32(body, 0) >>> 0) !== view.getUint32(16, true)) {
    bad("checksum mismatch (the file is truncated or damaged)");
  }
  let header: Header;
  try {
    header = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(body.subarray(0, H)),
      reviver,
    );
  } catch (e) {
    return bad(`bad header (${(e as Error).message})`);
  }
  const payload = body.subarray(H);
  if (header.payloadBytes !== payload.byteLength) {
    bad(`payload has ${payload.byteLength} bytes; the header announces ${header.payloadBytes}`);
  }
  if (header.configHash !== configHash(header.config)) bad("config hash does not match its config");
  const tensors: AgentSnapshot["tensors"] = {};
  for (const t of header.agent.tensors) {
    if (t.offset < 0 || t.offset + 4 * t.length > payload.byteLength) {
      bad(`tensor "${t.name}" lies outside the payload`);
    }
    tensors[t.name] = { shape: t.shape, data: readFloat32(payload, t.offset, t.length) };
  }
  const { offset, byteLength } = header.buffer;
  if (offset < 0 || offset + byteLength > payload.byteLength) {
    bad("buffer lies outside the payload");
  }
  const buffer = EpisodeBuffer.deserialise(payload.subarray(offset, offset + byteLength));
  return {
    config: header.config,
    state: header.state,
    rngs: header.rngs,
    agent: { tensors, scalars: header.agent.scalars },
    buffer,
  };
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let p = 0;
  while (p < data.byteLength) p += await file.write(data.subarray(p));
}

let tmpCounter = 0;

/**
 * Write a checkpoint atomically: into a temporary file next to `path`, fsync'd, then renamed over
 * `path` (a reader sees the old file or the new one, never a partial one).
 */
export async function writeCheckpoint(path: string, ckpt: TrainCheckpoint): Promise<void> {
  removeStaleCheckpointTemps(path);
  const chunks = encodeCheckpoint(ckpt);
  const tmp = `${path}.tmp-${Deno.pid}-${tmpCounter++}`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    // Coalesce small chunks (one per episode) into blocks of about 8 MiB.
    let block: Uint8Array[] = [];
    let size = 0;
    for (const c of chunks) {
      block.push(c);
      size += c.byteLength;
      if (size >= 8 << 20) {
        await writeAll(file, concatBytes(block));
        block = [];
        size = 0;
      }
    }
    if (size > 0) await writeAll(file, concatBytes(block));
    await file.sync();
  } catch (e) {
    file.close();
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  file.close();
  try {
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  try { // Make the rename itself durable (best effort: not every platform can fsync a directory).
    const dir = await Deno.open(dirname(path), { read: true });
    try {
      await dir.sync();
    } finally {
      dir.close();
    }
  } catch {
    // ignored
  }
}

/** Read and decode a checkpoint file (throws a clear error if it is damaged). */
export async function readCheckpoint(path: string): Promise<TrainCheckpoint> {
  removeStaleCheckpointTemps(path);
  return decodeCheckpoint(await Deno.readFile(path), path);
}

/** What follows `<path>.tmp-` in a temporary's name: `<pid>-<n>`. */
const TMP_SUFFIX_RE = /^(\d+)-\d+$/;

/**
 * Remove the temporaries `<path>.tmp-<pid>-<n>` that a writer killed mid-write left behind: those
 * of processes that no longer run (or are zombies). Live writers' files are left alone. Returns
 * the paths removed.
 */
export function removeStaleCheckpointTemps(path: string): string[] {
  const dir = dirname(path), prefix = `${basename(path)}.tmp-`;
  const removed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return removed; // no directory yet: nothing to clean
  }
  for (const e of entries) {
    const m = e.isFile && e.name.startsWith(prefix)
      ? TMP_SUFFIX_RE.exec(e.name.slice(prefix.length))
      : null;
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid === Deno.pid || processAlive(pid, "")) continue;
    const full = `${dir}/${e.name}`;
    try {
      Deno.removeSync(full);
      removed.push(full);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  return removed;
}

/** Whether `path` holds a checkpoint that decodes (reads the whole file). */
export function checkpointReadable(path: string): boolean {
  try {
    decodeCheckpoint(Deno.readFileSync(path), path);
    return true;
  } catch (e) {
    if (e instanceof Error && /corrupt or unreadable|format version/.test(e.message)) return false;
    throw e;
  }
}

/** Rename a damaged checkpoint to `<path>.corrupt-<ISO time>` (kept for inspection); the new path. */
export function setAsideCorruptCheckpoint(path: string, now: Date = new Date()): string {
  const aside = `${path}.corrupt-${now.toISOString().replace(/[:.]/g, "-")}`;
  Deno.renameSync(path, aside);
  return aside;
}

/**
 * Throw a clear error unless a checkpoint belongs to `config`: same config hash (every field but
 * the seed, listing the fields that differ) and same seed.
 */
export function checkResumable(
  ckpt: TrainCheckpoint,
  config: TrainConfig,
  source = "checkpoint",
): void {
  const want = configHash(config), have = configHash(ckpt.config);
  if (want !== have) {
    const diffs: string[] = [];
    const keys = new Set([...Object.keys(config), ...Object.keys(ckpt.config)]);
    for (const k of [...keys].sort()) {
      if (k === "seed") continue;
      const a = canonicalJson((ckpt.config as unknown as Record<string, unknown>)[k] ?? null);
      const b = canonicalJson((config as unknown as Record<string, unknown>)[k] ?? null);
      if (a !== b) diffs.push(`${k}: ${a} in the checkpoint, ${b} now`);
    }
    throw new Error(
      `refusing to resume from ${source}: it was written for a different configuration ` +
        `(hash ${have.slice(0, 12)}…, this run ${want.slice(0, 12)}…; ${diffs.join("; ")}). ` +
        `Use another checkpoint path or delete the file.`,
    );
  }
  // Numbers and their decimal strings seed identical streams (lib/rng.ts), so compare as strings.
  if (String(ckpt.config.seed) !== String(config.seed)) {
    throw new Error(
      `refusing to resume from ${source}: it was written for seed ${
        JSON.stringify(ckpt.config.seed)
      }, this run has seed ${JSON.stringify(config.seed)}`,
    );
  }
}
