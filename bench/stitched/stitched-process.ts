/**
 * The stitched baseline's subscriber (subscriber.ts) as a forked child beside the plain broker, kept
 * open across the bench's rounds; CPU per request counts the subscriber and the broker's process.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { childExecArgv } from '../lib/child.ts';
import { processCpuMicros } from '../lib/process-counters.ts';
import type { StitchedCounters, StitchedOptions } from './subscriber.ts';

const SUBSCRIBER = fileURLToPath(new URL('./subscriber.ts', import.meta.url));

/** The child's next message; an error if it ends first. */
function next<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    const exited = (code: number | null) => reject(new Error(`stitched subscriber exited ${code}`));
    child.once('exit', exited).once('message', (message) => {
      child.off('exit', exited);
      resolve(message as T);
    });
  });
}

/** The pid in a broker's pid file (Mosquitto: `pid_file`). */
export function brokerPid(pidFile: string): number {
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`${pidFile}: no pid`);
  return pid;
}

export async function startStitched(options: StitchedOptions & { brokerPid: number }) {
  const child = fork(SUBSCRIBER, [JSON.stringify(options)], { execArgv: childExecArgv() });
  await next<'ready'>(child);
  const read = async () => {
    const done = next<StitchedCounters>(child);
    child.send('counters');
    const subscriber = await done;
    return { ...subscriber, brokerCpuMicros: processCpuMicros(options.brokerPid) };
  };
  return {
    /** Starts counting; the returned function gives the CPU spent since, subscriber and broker apart. */
    async startCounters() {
      const from = await read();
      return async () => {
        const to = await read();
        return {
          subscriberCpuMicros: to.cpuMicros - from.cpuMicros,
          brokerCpuMicros: to.brokerCpuMicros - from.brokerCpuMicros,
          requests: to.requests - from.requests,
          batches: to.batches - from.batches,
        };
      };
    },
    async stop() {
      const exited = once(child, 'exit');
      child.disconnect();
      await exited;
    },
  };
}
