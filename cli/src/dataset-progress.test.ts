/** Progress over a dataset: a plain line per 25 % when stderr is not a terminal, nothing in between. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { datasetProgress } from './dataset-progress.ts';

function capture(tty: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY: tty, columns: 80 });
  let text = '';
  (stream as unknown as PassThrough).on('data', (d: Buffer) => {
    text += d.toString();
  });
  return { stream, text: () => text };
}

describe('datasetProgress', () => {
  it('without a terminal: one plain line per 25 %, however many updates', () => {
    const out = capture(false);
    const p = datasetProgress('reading imgs', out.stream);
    for (let done = 1; done <= 200; done++) p.onProgress({ done, total: 200 });
    p.stop();
    expect(out.text().trim().split('\n')).toEqual([
      'reading imgs: 25 % (50/200)',
      'reading imgs: 50 % (100/200)',
      'reading imgs: 75 % (150/200)',
      'reading imgs: 100 % (200/200)',
    ]);
  });

  it('a jump past several steps prints one line', () => {
    const out = capture(false);
    const p = datasetProgress('x', out.stream);
    p.onProgress({ done: 9, total: 10 });
    p.onProgress({ done: 10, total: 10 });
    expect(out.text().trim().split('\n')).toEqual(['x: 90 % (9/10)', 'x: 100 % (10/10)']);
  });

  it('on a terminal: a bar that ends with the total', () => {
    const out = capture(true);
    const p = datasetProgress('reading imgs', out.stream);
    for (let done = 1; done <= 4; done++) p.onProgress({ done, total: 4 });
    p.stop();
    expect(out.text()).toMatch(/reading imgs \[.*\] 4\/4/);
  });
});
