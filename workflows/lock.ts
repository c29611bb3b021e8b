// A lock for workflow code: at most one sync or cleanup runs at a time, whoever starts it (the main loop or
// a refresh update). Built on condition(), so waiting for it costs no history event.
//
// tryAcquire() takes a free lock without yielding: a handler that finds it free starts its activity in the
// same step as before this lock existed, which keeps the commands of recorded histories in their order.
import { condition } from '@temporalio/workflow';

export class Lock {
  private locked = false;

  get held(): boolean {
    return this.locked;
  }

  /** Takes the lock if it is free; never waits. */
  tryAcquire(): boolean {
    if (this.locked) return false;
    this.locked = true;
    return true;
  }

  /** Waits for the lock, unless `giveUp` turns true first: then false, without the lock. */
  async acquire(giveUp: () => boolean = () => false): Promise<boolean> {
    for (;;) {
      if (giveUp()) return false;
      if (this.tryAcquire()) return true;
      await condition(() => !this.locked || giveUp());
    }
  }

  /** Resolves when the lock is free or `orWhen` turns true (without taking it). */
  released(orWhen: () => boolean = () => false): Promise<void> {
    return condition(() => !this.locked || orWhen());
  }

  release(): void {
    this.locked = false;
  }
}
