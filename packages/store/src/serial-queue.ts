/**
 * Runs async operations one at a time, in call order. A file store's operations read and replace
 * files; letting two interleave could read a segment that the other just deleted.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(operation);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
