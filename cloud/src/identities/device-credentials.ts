/**
 * Verified credentials of devices with no edge, for the cloud broker's CONNECT (the cloud plays their
 * edge): one `store.devices.verify` (a scrypt) per new (device id, token), then answered from memory
 * until the device is revoked or re-enrolled (`forget`) or the entry expires. A device that belongs to
 * an edge is refused here: its broker is its edge's.
 */

import { CredentialCache, type CredentialCacheOptions } from '@fogline/shared/secrets';
import type { DeviceRepository } from '../store/index.ts';

export type DeviceCredentials = CredentialCache<string>;

export function deviceCredentials(
  devices: Pick<DeviceRepository, 'verify'>,
  options?: CredentialCacheOptions,
): DeviceCredentials {
  return new CredentialCache(async (id, token) => {
    const record = await devices.verify(id, token);
    return record !== null && record.edgeId === null ? id : null;
  }, options);
}
