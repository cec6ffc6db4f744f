/**
 * The devices allowed on this edge's broker, as last synced from the cloud, and the check of the token
 * a device presents at CONNECT against its stored hash. Successful checks are cached per device (by the
 * SHA-256 of the token, never the token) because scrypt costs tens of ms and devices reconnect often.
 */
import { createHash } from 'node:crypto';
import { verifyNoSubject, verifySecret } from '@fogline/shared/secrets';
import type { DesiredState } from './desired-state.ts';

export class DeviceRegistry {
  private byId = new Map<string, string>();
  /** device id → { SHA-256 of the token that passed, the hash it passed against }. */
  private readonly verified = new Map<string, { digest: string; tokenHash: string }>();
  private currentVersion: number | undefined;

  get version(): number | undefined {
    return this.currentVersion;
  }

  get size(): number {
    return this.byId.size;
  }

  has(deviceId: string): boolean {
    return this.byId.has(deviceId);
  }

  /**
   * Replaces the list. Returns the ids that were allowed before and are not any more, or whose token
   * changed: the broker must disconnect them.
   */
  replace(state: DesiredState): string[] {
    const next = new Map(state.devices.map((d) => [d.id, d.tokenHash] as const));
    const revoked: string[] = [];
    for (const [id, hash] of this.byId) {
      if (next.get(id) !== hash) {
        revoked.push(id);
        this.verified.delete(id);
      }
    }
    this.byId = next;
    this.currentVersion = state.version;
    return revoked;
  }

  /** True when `deviceId` is in the list and `token` matches its hash. Never throws. */
  async verify(deviceId: string, token: string): Promise<boolean> {
    const tokenHash = this.byId.get(deviceId);
    if (typeof token !== 'string' || token.length === 0) return false;
    // An unknown id costs what a known one does: the time of the answer does not tell which exist.
    if (tokenHash === undefined) return verifyNoSubject(token);
    const digest = createHash('sha256').update(token).digest('base64url');
    const hit = this.verified.get(deviceId);
    if (hit && hit.digest === digest && hit.tokenHash === tokenHash) return true;
    let ok: boolean;
    try {
      ok = await verifySecret(token, tokenHash);
    } catch {
      ok = false; // a malformed stored hash denies access instead of crashing the broker
    }
    // The list may have changed while scrypt ran: only trust the result against the current hash.
    if (!ok || this.byId.get(deviceId) !== tokenHash) return false;
    this.verified.set(deviceId, { digest, tokenHash });
    return true;
  }
}
