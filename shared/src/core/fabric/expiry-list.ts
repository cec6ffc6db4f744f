/**
 * Callbacks due after a number of ms, behind one timer: what `Deadline.race` arms for every request
 * in flight. A timer per request costs a Timeout, its closure and, as every request's remaining budget
 * differs, a timer list of its own in Node; they live as long as the request (~16 ms at 256 in flight
 * on a 2-core edge), long enough to outlive a young-generation GC and be promoted.
 *
 * Entries are kept in due order in a doubly linked list. Requests arrive with the same or similar
 * budgets, so an entry is almost always due after every other one and goes in at the tail in O(1);
 * removing one (its work finished first, the usual case) is O(1) and leaves the timer alone, unless
 * the list is then empty. The timer is armed for the head; when it fires, every entry due by then
 * runs, in due order, and the timer is armed again for the new head. Time is the platform's
 * (`performance.now()`, as for setTimeout), not an injected clock: a due time is "ms from now".
 */

interface Expiry {
  readonly dueAt: number;
  readonly onDue: () => void;
  prev: Expiry | undefined;
  next: Expiry | undefined;
  linked: boolean;
}

export class ExpiryList {
  private head: Expiry | undefined;
  private tail: Expiry | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerDueAt = Number.POSITIVE_INFINITY;
  private count = 0;

  /** Entries waiting. */
  get size(): number {
    return this.count;
  }

  /** Whether the timer is armed (it is exactly while entries wait). */
  get armed(): boolean {
    return this.timer !== undefined;
  }

  /** Runs `onDue` in `ms` (never sooner) unless `remove`d first. */
  add(ms: number, onDue: () => void): Expiry {
    const entry: Expiry = {
      dueAt: performance.now() + ms,
      onDue,
      prev: undefined,
      next: undefined,
      linked: true,
    };
    let before = this.tail;
    while (before !== undefined && before.dueAt > entry.dueAt) before = before.prev;
    entry.prev = before;
    entry.next = before === undefined ? this.head : before.next;
    if (entry.next) entry.next.prev = entry;
    else this.tail = entry;
    if (before) before.next = entry;
    else this.head = entry;
    this.count++;
    if (entry.dueAt < this.timerDueAt) this.arm(entry.dueAt);
    return entry;
  }

  /** Forgets `entry` (a no-op once it ran or was removed). */
  remove(entry: Expiry): void {
    if (!entry.linked) return;
    this.unlink(entry);
    if (this.head === undefined && this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.timerDueAt = Number.POSITIVE_INFINITY;
    }
  }

  private unlink(entry: Expiry): void {
    this.count--;
    entry.linked = false;
    if (entry.prev) entry.prev.next = entry.next;
    else this.head = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else this.tail = entry.prev;
    entry.prev = undefined;
    entry.next = undefined;
  }

  private arm(dueAt: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerDueAt = dueAt;
    this.timer = setTimeout(() => this.fire(), Math.max(0, dueAt - performance.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.timerDueAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    while (this.head !== undefined && this.head.dueAt <= now) {
      const due = this.head;
      this.unlink(due);
      due.onDue();
    }
    if (this.head !== undefined) this.arm(this.head.dueAt);
  }
}
