/**
 * A small deterministic sample of the hostile-input harness (scripts/fuzz-formats.ts):
 * every mutated or truncated real file must open or fail with a FORMAT_* / SOURCE_*
 * AppError, and tiles of files that open must read or fail the same way.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadSeeds, runCase } from '../../../scripts/fuzz-formats.js';

const CASES = 300;

describe('format readers on hostile input', () => {
  it(`${CASES} mutated/truncated real files end in an open or a typed error`, async (t) => {
    const seeds = await loadSeeds();
    const outcomes = new Map<string, number>();
    const failures: string[] = [];
    for (let i = 0; i < CASES; i++) {
      const res = await runCase(seeds, i, 7);
      outcomes.set(res.outcome, (outcomes.get(res.outcome) ?? 0) + 1);
      if (!res.ok) failures.push(`case ${i} (${res.seed}, ${res.label}): ${res.detail}`);
    }
    t.diagnostic(JSON.stringify(Object.fromEntries(outcomes)));
    assert.deepEqual(failures, []);
    // The sample must exercise both paths, or it proves nothing.
    assert.ok((outcomes.get('FORMAT_CORRUPT') ?? 0) > 0);
    assert.ok((outcomes.get('opened') ?? 0) + (outcomes.get('opened, tile errors') ?? 0) > 0);
  });
});
