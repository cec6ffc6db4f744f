import { describe, expect, it } from 'vitest';
import { ReportedPoster } from './reported-poster.ts';

const settled = () => new Promise((r) => setTimeout(r, 10));

describe('ReportedPoster', () => {
  it('sends the newest state, one post at a time', async () => {
    const bodies: string[] = [];
    let release: (ok: boolean) => void = () => {};
    const poster = new ReportedPoster(
      (body) => {
        bodies.push(body);
        return new Promise((resolve) => {
          release = resolve;
        });
      },
      () => {},
    );
    poster.send({ v: 1 });
    poster.send({ v: 2 });
    poster.send({ v: 3 }); // replaces v 2 while v 1 is in flight
    release(true);
    await settled();
    release(true);
    await settled();
    expect(bodies).toEqual(['{"v":1}', '{"v":3}']);
  });

  it('stops after a 404 (an older cloud) with one warning; a failed post only warns', async () => {
    const warnings: string[] = [];
    let calls = 0;
    const failing = new ReportedPoster(
      async () => {
        calls++;
        throw new Error('connection refused');
      },
      (w) => warnings.push(w),
    );
    failing.send({ v: 1 });
    await settled();
    failing.send({ v: 2 });
    await settled();
    expect(calls).toBe(2);
    const old = new ReportedPoster(
      async () => {
        calls++;
        return false;
      },
      (w) => warnings.push(w),
    );
    old.send({ v: 1 });
    await settled();
    old.send({ v: 2 });
    await settled();
    expect(calls).toBe(3);
    expect(warnings.filter((w) => w.includes('404'))).toHaveLength(1);
    expect(warnings.filter((w) => w.includes('connection refused'))).toHaveLength(2);
  });
});
