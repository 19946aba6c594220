/** The error `f` throws (fails when it does not throw). */
export function thrown(f: () => unknown): Error & { code?: string };
