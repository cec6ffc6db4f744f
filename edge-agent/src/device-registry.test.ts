import { hashSecret } from '@fogline/shared/secrets';
import { describe, expect, it } from 'vitest';
import { DeviceRegistry } from './device-registry.ts';

describe('DeviceRegistry', () => {
  it('lets in a listed device with its token and nobody else', async () => {
    const registry = new DeviceRegistry();
    registry.replace({ version: 1, devices: [{ id: 'dev-1', tokenHash: await hashSecret('tok-1') }] });
    expect(await registry.verify('dev-1', 'tok-1')).toBe(true);
    expect(await registry.verify('dev-1', 'tok-1')).toBe(true); // cached
    expect(await registry.verify('dev-1', 'wrong')).toBe(false);
    expect(await registry.verify('dev-2', 'tok-1')).toBe(false);
    expect(await registry.verify('dev-1', '')).toBe(false);
  });

  it('names the devices that lost access, including a changed token, and forgets their cached check', async () => {
    const registry = new DeviceRegistry();
    const [h1, h2, h3] = await Promise.all(['a', 'b', 'c'].map((t) => hashSecret(t)));
    registry.replace({
      version: 1,
      devices: [
        { id: 'keep', tokenHash: h1! },
        { id: 'gone', tokenHash: h2! },
        { id: 'rotated', tokenHash: h3! },
      ],
    });
    expect(await registry.verify('rotated', 'c')).toBe(true);
    const newHash = await hashSecret('c2');
    const revoked = registry.replace({
      version: 2,
      devices: [
        { id: 'keep', tokenHash: h1! },
        { id: 'rotated', tokenHash: newHash },
      ],
    });
    expect(revoked.sort()).toEqual(['gone', 'rotated']);
    expect(await registry.verify('rotated', 'c')).toBe(false);
    expect(await registry.verify('rotated', 'c2')).toBe(true);
    expect(registry.version).toBe(2);
  });

  it('remembers a refusal briefly, but not past the enrolment of its device', async () => {
    const registry = new DeviceRegistry();
    registry.replace({ version: 1, devices: [] });
    expect(await registry.verify('late', 'tok-late')).toBe(false); // refused, and remembered
    registry.replace({ version: 2, devices: [{ id: 'late', tokenHash: await hashSecret('tok-late') }] });
    expect(await registry.verify('late', 'tok-late')).toBe(true);
    expect(await registry.verify('late', 'x'.repeat(257))).toBe(false); // oversized: refused unchecked
  });

  it('denies access instead of throwing when a stored hash is malformed', async () => {
    const registry = new DeviceRegistry();
    registry.replace({ version: 1, devices: [{ id: 'dev-1', tokenHash: 'scrypt$broken' }] });
    expect(await registry.verify('dev-1', 'tok')).toBe(false);
  });
});
