/**
 * Native single-precision matrix products (`cblas_sgemm` from OpenBLAS) through Deno FFI.
 *
 * The wasm backend of TensorFlow.js tops out near 20 GFLOP/s (128-bit SIMD, one thread); OpenBLAS
 * reaches 70-100 GFLOP/s on one core of the same machine. {@link openBlas} loads the library once
 * per process and returns a small synchronous wrapper over `cblas_sgemm` that works directly on
 * `Float32Array` buffers (sub-arrays included: their offset is honoured).
 *
 * Requirements: OpenBLAS (Debian/Ubuntu `libopenblas0`, Fedora `openblas`, Homebrew `openblas`),
 * Apple's Accelerate on macOS, or any library exporting `cblas_sgemm` named by the environment
 * variable `ADQN_BLAS_PATH` (see {@link blasLibraryCandidates}); and the Deno permission
 * `--allow-ffi`. When either is
 * missing {@link openBlas} returns `null` and {@link blasError} says why; nothing throws.
 *
 * @module
 */

/** Row-major storage (CBLAS `CblasRowMajor`). */
const ROW_MAJOR = 101;
/** No transpose (CBLAS `CblasNoTrans`). */
const NO_TRANS = 111;
/** Transpose (CBLAS `CblasTrans`). */
const TRANS = 112;

/** Apple's Accelerate framework: exports `cblas_sgemm` (not OpenBLAS's thread controls). */
export const ACCELERATE_PATH =
  "/System/Library/Frameworks/Accelerate.framework/Versions/A/Accelerate";

/**
 * The BLAS libraries tried on an operating system (`Deno.build.os`) and architecture
 * (`Deno.build.arch`), in order, when neither an option nor `ADQN_BLAS_PATH` names one: the
 * dynamic loader's search first (ldconfig cache, `LD_LIBRARY_PATH`, `DYLD_LIBRARY_PATH`), then the
 * install locations of Debian/Ubuntu (`libopenblas0`, multiarch), Fedora/RHEL (`openblas`,
 * /usr/lib64, including its pthread build `libopenblasp`), Homebrew (`brew install openblas`, on
 * Apple silicon, Intel macOS and Linux), and on macOS Apple's Accelerate last.
 *
 * @example
 * ```ts
 * import { blasLibraryCandidates } from "./blas.ts";
 * console.log(blasLibraryCandidates("darwin", "aarch64").at(-1)); // the Accelerate framework
 * ```
 */
export function blasLibraryCandidates(os: string, arch: string): string[] {
  if (os === "darwin") {
    return [
      "libopenblas.dylib",
      "/opt/homebrew/opt/openblas/lib/libopenblas.dylib", // Homebrew, Apple silicon
      "/usr/local/opt/openblas/lib/libopenblas.dylib", // Homebrew, Intel
      ACCELERATE_PATH,
    ];
  }
  if (os === "windows") return ["libopenblas.dll", "openblas.dll"];
  const multiarch = `/usr/lib/${arch}-linux-gnu`;
  return [
    "libopenblas.so.0",
    `${multiarch}/libopenblas.so.0`, // Debian/Ubuntu libopenblas0
    `${multiarch}/openblas-pthread/libopenblas.so.0`, // Debian/Ubuntu, the alternative's target
    "/usr/lib64/libopenblas.so.0", // Fedora/RHEL openblas
    "/usr/lib64/libopenblasp.so.0", // Fedora/RHEL openblas, pthread build
    "/usr/local/lib/libopenblas.so.0", // built from source
    "/home/linuxbrew/.linuxbrew/opt/openblas/lib/libopenblas.so", // Homebrew on Linux
    "libopenblas.so",
  ];
}

/** The candidates of this machine ({@link blasLibraryCandidates} of `Deno.build`). */
export const BLAS_LIBRARY_CANDIDATES: readonly string[] = blasLibraryCandidates(
  globalThis.Deno?.build.os ?? "linux",
  globalThis.Deno?.build.arch ?? "x86_64",
);

const SYMBOLS = {
  cblas_sgemm: {
    parameters: [
      "i32", // order
      "i32", // transA
      "i32", // transB
      "i32", // M
      "i32", // N
      "i32", // K
      "f32", // alpha
      "buffer", // A
      "i32", // lda
      "buffer", // B
      "i32", // ldb
      "f32", // beta
      "buffer", // C
      "i32", // ldc
    ],
    result: "void",
  },
  cblas_sgemv: {
    parameters: [
      "i32", // order
      "i32", // trans
      "i32", // M
      "i32", // N
      "f32", // alpha
      "buffer", // A
      "i32", // lda
      "buffer", // x
      "i32", // incx
      "f32", // beta
      "buffer", // y
      "i32", // incy
    ],
    result: "void",
  },
  openblas_set_num_threads: { parameters: ["i32"], result: "void", optional: true },
  openblas_get_num_threads: { parameters: [], result: "i32", optional: true },
  openblas_get_corename: { parameters: [], result: "pointer", optional: true },
} as const;

type BlasLibrary = Deno.DynamicLibrary<typeof SYMBOLS>;

/** A loaded native BLAS: row-major `sgemm` on `Float32Array`s. */
export interface Blas {
  /** The library name or path that was loaded. */
  readonly path: string;
  /**
   * The kernels OpenBLAS runs (`openblas_get_corename`, e.g. "Haswell"; the environment variable
   * `OPENBLAS_CORETYPE` forces them), "" for a BLAS without OpenBLAS's extensions. Products round
   * differently per kernel, so numbers are the same per backend and kernel.
   */
  readonly kernels: string;
  /**
   * C ← alpha · op(A) · op(B) + beta · C, row-major, where op(A) is m×k and op(B) is k×n.
   *
   * `a` holds A as m rows of stride `lda` (k×m with stride `lda` when `transA`), `b` likewise,
   * `c` m rows of stride `ldc`. Buffer sizes are checked before the native call.
   */
  sgemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    b: Float32Array,
    ldb: number,
    beta: number,
    c: Float32Array,
    ldc: number,
  ): void;
  /**
   * y ← alpha · op(A) · x + beta · y, row-major: A is m rows of stride `lda` and n columns; op(A)
   * is A (x has n values, y m) or, with `transA`, Aᵀ (x has m values, y n). A one-row product
   * x·B is `sgemv(true, ...)` on B: about 5× faster than `sgemm` with m = 1 (1.8 against 9.6 µs
   * for 128×384 on the 2-core reference machine), whose blocking overhead dominates at one row.
   */
  sgemv(
    transA: boolean,
    m: number,
    n: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    x: Float32Array,
    beta: number,
    y: Float32Array,
  ): void;
  /** Threads OpenBLAS uses (null when the library has no `openblas_get_num_threads`). */
  threads(): number | null;
  /** Set the number of OpenBLAS threads (ignored by libraries without `openblas_set_num_threads`). */
  setThreads(n: number): void;
}

/** Options of {@link openBlas}. */
export interface OpenBlasOptions {
  /**
   * Library to load: a file path or a name for the dynamic loader. Default: the environment
   * variable `ADQN_BLAS_PATH`, else the first of {@link BLAS_LIBRARY_CANDIDATES} that loads.
   */
  path?: string;
  /**
   * OpenBLAS threads (default: the environment variable `ADQN_BLAS_THREADS`, else 1; one thread is
   * fastest for this project's small products and leaves the other cores to other work).
   */
  threads?: number;
}

let loaded: { lib: BlasLibrary; blas: Blas } | null = null;
let lastError: string | null = null;

/**
 * Why the last {@link openBlas} call returned `null` (or `null` after a successful call).
 *
 * @example
 * ```ts
 * import { blasError, openBlas } from "./blas.ts";
 * if (openBlas() === null) console.warn(`no native BLAS: ${blasError()}`);
 * ```
 */
export function blasError(): string | null {
  return lastError;
}

/**
 * Load the native BLAS (once per process; later calls return the same object and only apply
 * `threads`). Returns `null`, with the reason in {@link blasError}, when `--allow-ffi` is missing
 * or no library with `cblas_sgemm` can be loaded.
 *
 * A second call naming a different `path` than the loaded library returns `null` with a reason:
 * one process uses one BLAS.
 *
 * @example
 * ```ts
 * import { openBlas } from "./blas.ts";
 * const blas = openBlas();
 * if (blas !== null) {
 *   const a = new Float32Array([1, 2, 3, 4]), b = new Float32Array([5, 6, 7, 8]);
 *   const c = new Float32Array(4);
 *   blas.sgemm(false, false, 2, 2, 2, 1, a, 2, b, 2, 0, c, 2);
 *   console.log(c); // Float32Array [19, 22, 43, 50]
 * }
 * ```
 */
export function openBlas(options: OpenBlasOptions = {}): Blas | null {
  let threads: number;
  try {
    threads = resolveThreads(options.threads);
  } catch (e) {
    lastError = e instanceof Error ? e.message : String(e);
    return null;
  }
  const wanted = options.path ?? readEnv("ADQN_BLAS_PATH");
  if (loaded !== null) {
    if (wanted !== undefined && wanted !== loaded.blas.path) {
      lastError = `openBlas: "${loaded.blas.path}" is already loaded in this process; ` +
        `cannot also load "${wanted}"`;
      return null;
    }
    loaded.blas.setThreads(threads);
    lastError = null;
    return loaded.blas;
  }
  if (typeof Deno?.dlopen !== "function") {
    lastError = "openBlas: Deno.dlopen is not available in this runtime";
    return null;
  }
  let ffi: Deno.PermissionState;
  try {
    ffi = Deno.permissions.querySync({ name: "ffi" }).state;
  } catch (e) {
    ffi = "denied";
    lastError = `openBlas: cannot query the ffi permission: ${(e as Error).message}`;
  }
  if (ffi !== "granted") {
    lastError = "openBlas: the ffi permission is not granted (run deno with --allow-ffi or -A)";
    return null;
  }
  const candidates = wanted !== undefined ? [wanted] : BLAS_LIBRARY_CANDIDATES;
  const failures: string[] = [];
  for (const path of candidates) {
    let lib: BlasLibrary;
    try {
      lib = Deno.dlopen(path, SYMBOLS);
    } catch (e) {
      failures.push(`${path}: ${firstLine(e)}`);
      continue;
    }
    const blas = wrap(lib, path);
    blas.setThreads(threads);
    if (!selfTest(blas)) {
      lib.close();
      failures.push(`${path}: cblas_sgemm or cblas_sgemv gave a wrong result on a 2×2 product`);
      continue;
    }
    loaded = { lib, blas };
    lastError = null;
    return blas;
  }
  lastError = `openBlas: no usable BLAS library (install OpenBLAS: apt-get install libopenblas0 ` +
    `on Debian/Ubuntu, dnf install openblas on Fedora, brew install openblas with Homebrew; ` +
    `or set ADQN_BLAS_PATH to a library exporting cblas_sgemm); tried ${failures.join("; ")}`;
  return null;
}

function wrap(lib: BlasLibrary, path: string): Blas {
  const sym = lib.symbols;
  const gemm = sym.cblas_sgemm;
  const gemv = sym.cblas_sgemv;
  const setN = sym.openblas_set_num_threads;
  const getN = sym.openblas_get_num_threads;
  const core = sym.openblas_get_corename?.() ?? null;
  return {
    path,
    kernels: core === null ? "" : Deno.UnsafePointerView.getCString(core),
    sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
      if (m === 0 || n === 0) return;
      checkOperand("C", c, m, n, ldc);
      if (k === 0) {
        // An empty sum: C = beta·C. Done here because BLAS rejects leading dimensions of 0.
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) c[i * ldc + j] = beta === 0 ? 0 : beta * c[i * ldc + j];
        }
        return;
      }
      checkOperand("A", a, transA ? k : m, transA ? m : k, lda);
      checkOperand("B", b, transB ? n : k, transB ? k : n, ldb);
      gemm(
        ROW_MAJOR,
        transA ? TRANS : NO_TRANS,
        transB ? TRANS : NO_TRANS,
        m,
        n,
        k,
        alpha,
        a,
        lda,
        b,
        ldb,
        beta,
        c,
        ldc,
      );
    },
    sgemv(transA, m, n, alpha, a, lda, x, beta, y) {
      const xLen = transA ? m : n, yLen = transA ? n : m;
      if (yLen === 0) return;
      if (!(y instanceof Float32Array) || y.length < yLen) {
        throw new Error(`Blas.sgemv: y needs a Float32Array of at least ${yLen} values`);
      }
      if (xLen === 0) {
        for (let i = 0; i < yLen; i++) y[i] = beta === 0 ? 0 : beta * y[i];
        return;
      }
      checkOperand("A", a, m, n, lda, "Blas.sgemv");
      if (!(x instanceof Float32Array) || x.length < xLen) {
        throw new Error(`Blas.sgemv: x needs a Float32Array of at least ${xLen} values`);
      }
      gemv(ROW_MAJOR, transA ? TRANS : NO_TRANS, m, n, alpha, a, lda, x, 1, beta, y, 1);
    },
    threads: () => (getN === null ? null : getN()),
    setThreads(t) {
      if (!Number.isInteger(t) || t < 1) {
        throw new Error(`Blas.setThreads: invalid thread count ${t}; expected an integer >= 1`);
      }
      if (setN !== null) setN(t);
    },
  };
}

/** Throw unless `buf` holds `rows` rows of `cols` values at stride `ld` (ld >= cols). */
function checkOperand(
  name: string,
  buf: Float32Array,
  rows: number,
  cols: number,
  ld: number,
  fn = "Blas.sgemm",
) {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new Error(`${fn}: ${name} has invalid dimensions ${rows}×${cols}`);
  }
  if (!Number.isInteger(ld) || ld < Math.max(1, cols)) {
    throw new Error(`${fn}: leading dimension of ${name} is ${ld}; expected >= ${cols}`);
  }
  const need = rows === 0 ? 0 : (rows - 1) * ld + cols;
  if (!(buf instanceof Float32Array) || buf.length < need) {
    throw new Error(
      `${fn}: ${name} needs a Float32Array of at least ${need} values ` +
        `(${rows}×${cols}, stride ${ld}); got ${
          buf instanceof Float32Array ? buf.length : Object.prototype.toString.call(buf)
        }`,
    );
  }
}

/**
 * [[1,2],[3,4]]·[[5,6],[7,8]]ᵀ = [[17,23],[39,53]], then the first row overwritten by sgemv:
 * catches a wrong ABI or a broken library.
 */
function selfTest(blas: Blas): boolean {
  const c = new Float32Array(4);
  try {
    blas.sgemm(
      false,
      true,
      2,
      2,
      2,
      1,
      Float32Array.of(1, 2, 3, 4),
      2,
      Float32Array.of(5, 6, 7, 8),
      2,
      0,
      c,
      2,
    );
    // [[1,2],[3,4]]ᵀ·[1,10] = [31,42]: the one-row product's symbol too.
    blas.sgemv(true, 2, 2, 1, Float32Array.of(1, 2, 3, 4), 2, Float32Array.of(1, 10), 0, c);
  } catch {
    return false;
  }
  return c[0] === 31 && c[1] === 42 && c[2] === 39 && c[3] === 53;
}

function resolveThreads(option: number | undefined): number {
  const env = readEnv("ADQN_BLAS_THREADS");
  const value = option ?? (env !== undefined ? Number(env) : 1);
  if (!Number.isInteger(value) || value < 1) {
    const from = option !== undefined ? "threads option" : "ADQN_BLAS_THREADS";
    throw new Error(`openBlas: invalid ${from} ${option ?? env}; expected an integer >= 1`);
  }
  return value;
}

/** An environment variable, or undefined when unset or when --allow-env is missing. */
function readEnv(name: string): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
      return undefined;
    }
    const v = Deno.env.get(name);
    return v === undefined || v === "" ? undefined : v;
  } catch {
    return undefined;
  }
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}
