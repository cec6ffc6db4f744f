/**
 * The devices allowed on this edge's broker, as last synced from the cloud, and the check of the token
 * a device presents at CONNECT against its stored hash. Checks go through a CredentialCache (keyed by
 * the SHA-256 of the token, never the token): a right token is trusted for a minute, a wrong one is
 * remembered for 5 s in slots of its own (docs/security.md "Authentication cost"), because scrypt
 * costs tens of ms and devices reconnect often. An empty or oversized token is refused before any
 * lookup. A device whose entry changes is forgotten at once.
 */
import { fromUnknown } from '@fogline/shared';
import { CredentialCache, MAX_SECRET_LENGTH, verifyNoSubject, verifySecret } from '@fogline/shared/secrets';
import type { DesiredState } from './desired-state.ts';

export class DeviceRegistry {
  private byId = new Map<string, string>();
  private readonly checks = new CredentialCache<string>((id, token) => this.check(id, token));
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
        this.checks.forget(id);
      }
    }
    // A device new to the list may have a remembered refusal from before it was enrolled.
    for (const id of next.keys()) if (!this.byId.has(id)) this.checks.forget(id);
    this.byId = next;
    this.currentVersion = state.version;
    return revoked;
  }

  /**
   * True when `deviceId` is in the list and `token` matches its hash. Rejects only with UNAVAILABLE,
   * when too many checks are under way (the broker then answers "server unavailable").
   */
  async verify(deviceId: string, token: string): Promise<boolean> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_SECRET_LENGTH) return false;
    return (await this.checks.lookup(deviceId, token)) !== null;
  }

  private async check(deviceId: string, token: string): Promise<string | null> {
    const tokenHash = this.byId.get(deviceId);
    // An unknown id costs what a known one does: the time of the answer does not tell which exist.
    if (tokenHash === undefined) return verifyNoSubject(token).then(() => null);
    let ok: boolean;
    try {
      ok = await verifySecret(token, tokenHash);
    } catch (err) {
      if (fromUnknown(err).code === 'UNAVAILABLE') throw err;
      ok = false; // a malformed stored hash denies access instead of crashing the broker
    }
    // The list may have changed while scrypt ran: only trust the result against the current hash.
    return ok && this.byId.get(deviceId) === tokenHash ? deviceId : null;
  }
}
