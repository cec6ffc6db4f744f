import { describe, expect, it } from 'vitest';
import { ceilingNote, cpuBudget } from './cpu-budget.ts';

const base = { cores: 2, rawSamplesPerSec: 20_000, rawThreads: 1, loadMicros: 20, targetRatio: 0.7 };

describe('cpuBudget', () => {
  it('splits a request into model, floor, load and own work, and the room the target leaves', () => {
    const b = cpuBudget({ ...base, floorMicros: 30, serverMicros: 110 });
    expect(b.modelMicros).toBe(50); // 1 thread × 10⁶ ÷ 20 000/s
    expect(b.ownMicros).toBe(30); // 110 − 50 − 30
    expect(b.targetMicros).toBe(142.9); // 2 × 10⁶ ÷ (0.7 × 20 000)
    expect(b.roomMicros).toBe(42.9);
  });

  it('bounds the ceiling by the cores when they are the limit', () => {
    const b = cpuBudget({ ...base, floorMicros: 130, serverMicros: 200 });
    expect(b.ceilingReqPerSec).toBe(10_000); // 2 × 10⁶ ÷ (50 + 130 + 20)
    expect(b.ceilingRatio).toBe(0.5);
    expect(b.ceilingBoundBy).toBe('cpu');
    expect(ceilingNote(b)).toBe('');
  });

  it('never puts the ceiling above raw: there the model is the limit, and the report says so', () => {
    const b = cpuBudget({ ...base, floorMicros: 10, serverMicros: 70 });
    expect(b.ceilingReqPerSec).toBe(20_000);
    expect(b.ceilingRatio).toBe(1);
    expect(b.ceilingBoundBy).toBe('model');
    expect(ceilingNote(b)).toMatch(/model's own speed/);
  });
});
