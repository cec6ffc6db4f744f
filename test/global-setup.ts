/**
 * One temporary folder per test run, removed when the run ends: TMPDIR points into it for the test
 * workers and every process they start, so whatever a test or a server under test puts in
 * `os.tmpdir()` goes with it, even when a worker is stopped without running its exit handlers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'fogline-test-run-'));
  process.env.TMPDIR = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
