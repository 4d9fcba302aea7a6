// Issue 16, item 3: once stage 0 is complete, the settings it selected are a named preset in
// lib/experiments/presets.ts. This test ties the two to the committed snapshot: while stage 0 is
// incomplete there is no such preset (and the test says how far stage 0 is); once it is complete,
// the preset must exist and equal what the snapshot's selection gives, so a snapshot that completes
// stage 0 fails CI until the preset is written.
import assert from "assert";
import { ResultsDb } from "../../lib/results/db.ts";
import { PRESETS } from "../../lib/experiments/presets.ts";
import {
  PLANNED_STAGE0,
  selected,
  selectedPreset,
  selectionTable,
  stage0Rows,
} from "../../lib/experiments/campaign_stages.ts";

const SNAPSHOT = new URL("../../data/fig1-paper/results.sqlite", import.meta.url).pathname;
const ID = "paper-selected";

Deno.test("the stage-1 preset exists exactly when the committed stage 0 is complete, and matches it", () => {
  const db = ResultsDb.open(SNAPSHOT, { readOnly: true });
  let rows;
  try {
    rows = stage0Rows(db);
  } finally {
    db.close();
  }
  const presets = PRESETS as Readonly<Record<string, unknown>>;
  if (rows.length < PLANNED_STAGE0) {
    console.log(
      `stage 0 in the committed snapshot: ${rows.length}/${PLANNED_STAGE0} runs finished; ` +
        `the "${ID}" preset comes once it is complete`,
    );
    assert.equal(presets[ID], undefined, `"${ID}" exists before stage 0 has selected it`);
    return;
  }
  assert.ok(presets[ID], `stage 0 is complete: add the "${ID}" preset to presets.ts`);
  assert.deepEqual(presets[ID], selectedPreset(selected(selectionTable(rows)), ID));
});
