/**
 * The edge's reported state over HTTP, for an edge with no cloud broker (`POST {cloud}/v2/fogline/
 * edges/{edgeId}/reported`, the same JSON as `edge/{id}/reported`; docs/edge-agent.md "Deployments").
 * One post at a time; a state that arrives meanwhile replaces any still waiting (only the newest
 * matters). A cloud that answers 404 does not know the route (an older cloud): nothing more is sent,
 * with one warning. A failed post is not retried: the next state goes out when it comes.
 */
export class ReportedPoster {
  #waiting: string | undefined;
  #sending = false;
  #unsupported = false;

  constructor(
    private readonly post: (body: string) => Promise<boolean>,
    private readonly warn: (message: string) => void,
  ) {}

  send(state: unknown): void {
    if (this.#unsupported) return;
    this.#waiting = JSON.stringify(state);
    if (!this.#sending) void this.#pump();
  }

  async #pump(): Promise<void> {
    this.#sending = true;
    try {
      while (this.#waiting !== undefined && !this.#unsupported) {
        const body = this.#waiting;
        this.#waiting = undefined;
        try {
          if (!(await this.post(body))) {
            this.#unsupported = true;
            this.warn('the cloud does not take reported states over HTTP (404: an older cloud); none sent');
          }
        } catch (err) {
          this.warn(`could not send the reported state: ${(err as Error).message}`);
        }
      }
    } finally {
      this.#sending = false;
    }
  }
}
