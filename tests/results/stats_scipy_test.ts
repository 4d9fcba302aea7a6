/**
 * Cross-check of lib/results/stats.ts against an independent implementation: Debian's
 * python3-scipy (scipy.stats.trim_mean, mannwhitneyu, bootstrap with the percentile method).
 * Skipped, with a message saying how to install it, when /usr/bin/python3 has no scipy.
 */
import assert from "assert";
import {
  iqm,
  probabilityOfImprovement,
  probabilityOfImprovementCi,
  stratifiedBootstrapCi,
} from "../../lib/results/stats.ts";
import { makeRng } from "../../lib/rng.ts";

const PYTHON = "/usr/bin/python3"; // Debian's: python3 on PATH may be another (pyenv) install

function hasScipy(): boolean {
  try {
    return new Deno.Command(PYTHON, { args: ["-c", "import scipy.stats"], stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const SCIPY = hasScipy();
if (!SCIPY) {
  console.warn(
    `SKIPPED stats_scipy_test: ${PYTHON} has no scipy (apt-get install -y python3-scipy)`,
  );
}

const SCRIPT = `
import json, sys
import numpy as np
from scipy import stats
d = json.load(sys.stdin)
x, y = np.array(d["x"]), np.array(d["y"])
u = stats.mannwhitneyu(x, y, alternative="two-sided").statistic
tm = lambda s, axis=-1: stats.trim_mean(s, 0.25, axis=axis)
rng = np.random.default_rng(1)
ci_iqm = stats.bootstrap((x,), tm, n_resamples=20000, method="percentile", random_state=rng).confidence_interval
def poi(a, b, axis=-1):
  a = np.expand_dims(a, -1); b = np.expand_dims(b, -2)
  return ((a > b) + 0.5 * (a == b)).mean(axis=(-1, -2))
ci_poi = stats.bootstrap((x, y), poi, n_resamples=20000, method="percentile", paired=False, random_state=rng).confidence_interval
print(json.dumps({"iqm": float(tm(x)), "poi": float(u) / (len(x) * len(y)),
  "iqm_ci": [float(ci_iqm.low), float(ci_iqm.high)], "poi_ci": [float(ci_poi.low), float(ci_poi.high)]}))
`;

async function scipy(x: number[], y: number[]) {
  const child = new Deno.Command(PYTHON, { args: ["-c", SCRIPT], stdin: "piped", stdout: "piped" })
    .spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(JSON.stringify({ x, y })));
  await w.close();
  const out = await child.output();
  assert.ok(out.success, "the scipy script failed");
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test({
  name: "stats match scipy: trim_mean, Mann-Whitney U/(nm), bootstrap percentile CIs",
  ignore: !SCIPY,
  fn: async () => {
    const rng = makeRng("scipy-cross-check");
    // Final returns of 10 and 8 runs, with ties (several runs at exactly 0 and 1).
    const x = Array.from({ length: 10 }, (_, i) => i < 3 ? 1 : Math.round(rng() * 100) / 100);
    const y = Array.from({ length: 8 }, (_, i) => i < 2 ? 0 : i < 4 ? 1 : rng() * 0.8);
    const ref = await scipy(x, y);
    assert.ok(Math.abs(iqm([x]) - ref.iqm) < 1e-12, `iqm ${iqm([x])} vs scipy ${ref.iqm}`);
    const p = probabilityOfImprovement([x], [y]);
    assert.ok(Math.abs(p - ref.poi) < 1e-12, `P(X>Y) ${p} vs scipy ${ref.poi}`);
    // Different random streams: bounds agree up to Monte-Carlo error (20000 resamples each).
    const opts = { seed: 5, resamples: 20000 };
    const ci = stratifiedBootstrapCi([x], iqm, opts);
    const pci = probabilityOfImprovementCi([x], [y], opts);
    const close = (a: number, b: number, what: string) =>
      assert.ok(Math.abs(a - b) < 0.02, `${what}: ours ${a}, scipy ${b}`);
    close(ci.lo, ref.iqm_ci[0], "IQM CI low");
    close(ci.hi, ref.iqm_ci[1], "IQM CI high");
    close(pci.lo, ref.poi_ci[0], "P(X>Y) CI low");
    close(pci.hi, ref.poi_ci[1], "P(X>Y) CI high");
  },
});
