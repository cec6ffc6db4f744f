/** The SHA-256 of a file on disk, read as a stream: model files are checked, resumed and keyed by it. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Lower-case hex; rejects with the read error (no such file, ...). */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
