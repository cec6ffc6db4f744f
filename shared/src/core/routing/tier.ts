/** The tiers of the cascade (docs/design.md "Routing"): a request climbs device → edge → cloud. */
export const TIERS = Object.freeze(['device', 'edge', 'cloud'] as const);
export type Tier = (typeof TIERS)[number];

export function isTier(value: unknown): value is Tier {
  return typeof value === 'string' && (TIERS as readonly string[]).includes(value);
}
