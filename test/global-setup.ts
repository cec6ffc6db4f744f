/**
 * Once per test run, before any test file:
 * - one temporary folder, removed when the run ends: TMPDIR points into it for the test workers and
 *   every process they start, so whatever a test or a server under test puts in `os.tmpdir()` goes
 *   with it, even when a worker is stopped without running its exit handlers;
 * - the Chromium the browser test drives, found or installed (test/chromium.ts) and handed to the
 *   test files as `inject('chromium')`;
 * - the web pages the cloud serves, built when missing or stale (test/web-build.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { findChromium } from './chromium.ts';
import { ensureWebBuilt } from './web-build.ts';

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'fogline-test-run-'));
  process.env.TMPDIR = dir;
  project.provide('chromium', findChromium());
  ensureWebBuilt();
  return () => rmSync(dir, { recursive: true, force: true });
}
