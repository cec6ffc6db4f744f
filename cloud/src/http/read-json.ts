import { FoglineError } from '@fogline/shared';
import type { Context } from 'hono';
import { readBody } from './read-body.ts';
import { contextView } from './request-view.ts';

/** Parses a small JSON request body; an empty body is `{}`. */
export async function readJson(c: Context, maxBytes: number): Promise<Record<string, unknown>> {
  const body = await readBody(contextView(c), maxBytes);
  if (body.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(body));
  } catch (cause) {
    throw new FoglineError('INVALID_ARG', 'request body is not valid JSON', { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FoglineError('INVALID_ARG', 'request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}
