/**
 * The faults suite's books: every request a device made, how it ended and when, against the
 * invariant "exactly one answer or one explicit error before deadline + slack, no duplicates"; and
 * a wire-level device (MQTT.js, no SDK) that counts replies per request id, where a duplicate would show.
 */
import { encodeFabricRequest, readFabricReply, topics } from '@fogline/shared';
import mqtt, { type MqttClient } from 'mqtt';

export interface LedgerCounts {
  requests: number;
  /** Outcome ("edge", "cloud", "device degraded", "error <code>") → count. */
  outcomes: Record<string, number>;
  /** Settled after deadline + slack. */
  late: number;
  /** Never settled by the end of the run. */
  unsettled: number;
  /** Settled more than once (a promise cannot: kept for the wire device's count). */
  duplicates: number;
  maxMs: number;
}

export class RequestLedger {
  #pending = 0;
  readonly counts: LedgerCounts = {
    requests: 0,
    outcomes: {},
    late: 0,
    unsettled: 0,
    duplicates: 0,
    maxMs: 0,
  };

  constructor(
    readonly deadlineMs: number,
    readonly slackMs: number,
  ) {}

  /** Runs one request; `run` resolves with its outcome's name or rejects with an explicit error. */
  async track(run: () => Promise<string>): Promise<string> {
    this.counts.requests++;
    this.#pending++;
    const started = performance.now();
    let outcome: string;
    try {
      outcome = await run();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      outcome = `error ${typeof code === 'string' ? code : (err as Error).message}`;
    }
    this.#pending--;
    const ms = performance.now() - started;
    this.counts.maxMs = Math.max(this.counts.maxMs, Math.round(ms));
    if (ms > this.deadlineMs + this.slackMs) this.counts.late++;
    this.counts.outcomes[outcome] = (this.counts.outcomes[outcome] ?? 0) + 1;
    return outcome;
  }

  /** Closes the books: what is still pending is unsettled. */
  close(): LedgerCounts {
    this.counts.unsettled = this.#pending;
    return this.counts;
  }
}

/** A device speaking the fabric protocol with MQTT.js only: counts the replies to each of its request ids. */
export interface WireDevice {
  readonly client: MqttClient;
  /** Publishes one request (when connected); its id. */
  send(input: Float32Array, deadlineMs: number): string | undefined;
  /** Request ids answered more than once. */
  duplicates(): string[];
  readonly sent: number;
  readonly replies: number;
  close(): Promise<void>;
}

export async function connectWireDevice(
  url: string,
  id: string,
  token: string,
  edgeId: string,
): Promise<WireDevice> {
  const client = await mqtt.connectAsync(url, {
    protocolVersion: 4,
    clientId: id,
    username: id,
    password: token,
    reconnectPeriod: 200,
    connectTimeout: 5000,
  });
  const seen = new Map<string, number>();
  let sent = 0;
  let replies = 0;
  client.on('message', (_topic, payload) => {
    const reply = readFabricReply(payload);
    if (!reply) return;
    replies++;
    seen.set(reply.id, (seen.get(reply.id) ?? 0) + 1);
  });
  client.on('connect', () => void client.subscribeAsync(topics.reply(id), { qos: 1 }).catch(() => {}));
  await client.subscribeAsync(topics.reply(id), { qos: 1 });
  return {
    client,
    send(input, deadlineMs) {
      if (!client.connected) return undefined;
      const requestId = `${id}-${sent++}`;
      const payload = encodeFabricRequest({
        id: requestId,
        replyTo: topics.reply(id),
        deadlineMs,
        deviceScore: 0,
        input: { name: 'image', datatype: 'FP32', shape: [1, 1, 28, 28], data: input },
      });
      client.publish(topics.infer(edgeId), Buffer.from(payload), { qos: 1 });
      return requestId;
    },
    duplicates: () => [...seen].filter(([, n]) => n > 1).map(([requestId]) => requestId),
    get sent() {
      return sent;
    },
    get replies() {
      return replies;
    },
    close: () => client.endAsync(true),
  };
}
