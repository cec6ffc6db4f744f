import { FoglineError } from '@fogline/shared';

/** OIP: `versions/{v}` is a version string; fogline's versions are positive integers. */
export function parseVersion(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9]\d{0,8}$/.test(value)) {
    throw new FoglineError('NOT_FOUND', `no model version ${JSON.stringify(value.slice(0, 20))}`);
  }
  return Number(value);
}
