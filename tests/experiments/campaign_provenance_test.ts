/**
 * The campaign's runs must all train with the same numbers (issue 16): every code version recorded
 * in the committed snapshot (data/fig1-paper/results.sqlite) must carry the same numerics
 * fingerprints for the campaign's backend (tests/train/fingerprints.json, `wasm-blas/Haswell`) as
 * this checkout. A change that moves the fingerprints while the campaign is under way fails here,
 * naming the versions, instead of silently mixing numbers. Needs git and the history of those
 * commits; without them the test says so and is ignored.
 */
import assert from "assert";
import { ResultsDb } from "../../lib/results/db.ts";
import { CAMPAIGN_BACKEND, CAMPAIGN_BLAS_KERNELS } from "../../lib/experiments/campaign.ts";
import { ALGO_IDS } from "../../lib/train/agent.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const SNAPSHOT = `${ROOT}data/fig1-paper/results.sqlite`;
const FINGERPRINTS = "tests/train/fingerprints.json";
const KEY = `${CAMPAIGN_BACKEND}/${CAMPAIGN_BLAS_KERNELS}`;

function git(...args: string[]): { ok: boolean; out: string } {
  try {
    const r = new Deno.Command("git", {
      args: ["-C", ROOT, ...args],
      stdout: "piped",
      stderr: "null",
    })
      .outputSync();
    return { ok: r.success, out: new TextDecoder().decode(r.stdout) };
  } catch {
    return { ok: false, out: "" }; // no git on this machine
  }
}

const inRepo = git("rev-parse", "--is-shallow-repository");
const why = !inRepo.ok
  ? "not a git checkout (or no git)"
  : inRepo.out.trim() === "true"
  ? "a shallow clone lacks the campaign's commits"
  : "";
if (why) console.log(`campaign provenance test ignored: ${why}`);

/** The campaign backend's fingerprints in the fingerprint table `text`. */
function campaignPrints(text: string): Record<string, string> {
  return (JSON.parse(text) as Record<string, Record<string, string>>)[KEY] ?? {};
}

Deno.test({
  name: "every code version in the committed campaign snapshot has this checkout's fingerprints",
  ignore: why !== "",
  fn() {
    const db = ResultsDb.open(SNAPSHOT, { readOnly: true });
    const versions = [
      ...new Set(db.listRuns().map((r) => r.codeVersion).filter((v): v is string => !!v)),
    ];
    db.close();
    assert.ok(versions.length > 0, "the snapshot records code versions");
    const here = campaignPrints(Deno.readTextFileSync(`${ROOT}${FINGERPRINTS}`));
    for (const algo of ALGO_IDS) assert.ok(here[algo], `${FINGERPRINTS} has ${KEY} ${algo}`);
    const differ: string[] = [];
    for (const v of versions) {
      const then = git("show", `${v}:${FINGERPRINTS}`);
      assert.ok(
        then.ok,
        `commit ${v} (recorded by campaign runs) is not in this repository's history`,
      );
      const prints = campaignPrints(then.out);
      for (const [name, hash] of Object.entries(here)) {
        // Cases added later (absent then) say nothing about then; every algorithm must be there.
        if (prints[name] === undefined && !(ALGO_IDS as readonly string[]).includes(name)) continue;
        if (prints[name] !== hash) differ.push(`${v.slice(0, 7)} ${name}`);
      }
    }
    assert.deepEqual(
      differ,
      [],
      `campaign runs were trained by code whose ${KEY} fingerprints differ from this checkout's`,
    );
  },
});
