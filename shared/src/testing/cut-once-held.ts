/**
 * For the tests' own file servers that break a download part-way: cut the connection once the
 * client's partial file holds the bytes sent. Cut earlier, the test would also depend on how soon a
 * busy client reads and writes them, and a timer after the write is a guess at that; the bytes a
 * client has received when a connection breaks are kept by `downloadResumable` (its own test cuts
 * at once, the process held busy).
 */
import { statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';

/** Destroys `res`'s socket once `partial` has `bytes` bytes, or after `withinMs` anyway (the test then fails on what it holds). */
export async function cutOnceHeld(
  res: ServerResponse,
  partial: string,
  bytes: number,
  withinMs = 5_000,
): Promise<void> {
  const until = Date.now() + withinMs;
  while (sizeOf(partial) < bytes && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
  res.socket?.destroy();
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0; // none yet, or dropped
  }
}
