// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config.json header values hold ${ENV} references literally
import { describe, expect, it } from 'vitest';
import { isFoglineError } from './errors.ts';
import { OIP_BACKEND_DEFAULTS, parseModelBackend, resolveBackendHeaders } from './model-backend.ts';
import { configFieldFail } from './model-config.ts';

const fail = configFieldFail('m/config.json');
const base = { kind: 'oip', url: 'http://triton:8000/', model: 'resnet' };

function problem(raw: unknown): string {
  try {
    parseModelBackend(raw, fail);
  } catch (err) {
    if (isFoglineError(err) && err.code === 'INVALID_ARG') return err.message;
    throw err;
  }
  throw new Error('backend was accepted');
}

describe('model backend', () => {
  it('reads an OIP backend with its defaults, header names in lower case', () => {
    const backend = parseModelBackend(
      { ...base, version: '3', headers: { Authorization: 'Bearer ${T}' } },
      fail,
    );
    expect(backend).toEqual({
      kind: 'oip',
      url: 'http://triton:8000',
      model: 'resnet',
      version: '3',
      headers: { authorization: 'Bearer ${T}' },
      ...OIP_BACKEND_DEFAULTS,
    });
  });

  it.each([
    [{ ...base, kind: 'grpc' }, 'field "backend.kind" must be one of "oip"'],
    [{ ...base, url: 'triton:8000' }, 'field "backend.url" must be an http:// or https:// URL'],
    [{ ...base, url: 'http://u:secret@triton' }, 'field "backend.url" must not hold credentials'],
    [{ ...base, model: 'a/b' }, 'field "backend.model" must be the remote model name'],
    // `v2/models/../ready` would ask the remote's `v2/ready`: a dot segment is resolved away.
    [{ ...base, model: '..' }, 'field "backend.model" must be the remote model name'],
    [{ ...base, model: '.' }, 'field "backend.model" must be the remote model name'],
    [{ ...base, version: '..' }, 'field "backend.version" must be a version string'],
    [{ ...base, timeout_ms: 0 }, 'field "backend.timeout_ms" must be an integer in 1..600000'],
    [
      { ...base, headers: { 'bad name': 'x' } },
      'field "backend.headers.bad name" is not a valid HTTP header name',
    ],
    [{ ...base, headers: { host: 'x' } }, 'field "backend.headers.host" is set by the cloud itself'],
    [{ ...base, headers: { a: '${1X}' } }, 'field "backend.headers.a" has a ${...} reference'],
    [{ ...base, token: 'x' }, 'field "backend.token" is not a field'],
  ])('refuses %j', (raw, message) => {
    expect(problem(raw)).toContain(message);
  });

  it('resolves ${ENV} references, and names a missing variable but never a value', () => {
    const backend = parseModelBackend({ ...base, headers: { 'x-key': 'k=${A}-${B}' } }, fail);
    expect(resolveBackendHeaders('m', backend, { A: 'one', B: 'two' })).toEqual({ 'x-key': 'k=one-two' });
    expect(() => resolveBackendHeaders('m', backend, { A: 'secret-value' })).toThrow(
      'model "m": backend header "x-key" references ${B}, which is not set in the environment',
    );
    try {
      resolveBackendHeaders('m', backend, { A: 'secret-value' });
    } catch (err) {
      expect(String(err)).not.toContain('secret-value');
    }
  });
});
