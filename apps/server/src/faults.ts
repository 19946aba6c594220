// Fault injection for the crash tests: LETHE_SERVER_FAULT=<stage> kills the process with SIGKILL
// when it reaches that stage (optionally LETHE_SERVER_FAULT_AFTER=k: at the (k+1)th time), so
// that a test can stop it at each point between accepting a request and recording its release.

/** The stages, in the order a request passes them. */
export const FAULT_STAGES = [
  // the request is in the ledger, its response not yet sent
  'after-accept',
  // the application (ids and the computed release) is recorded as pending; the store not yet
  'after-intent',
  // the store committed the erasure, ledger entry and weights; the service not yet told
  'after-store-commit',
  // the application is recorded as committed; its requests not yet marked done
  'after-application-committed',
  // the application and its requests are recorded as done
  'after-release',
] as const;
export type FaultStage = (typeof FAULT_STAGES)[number];

const stage = process.env.LETHE_SERVER_FAULT;
let skip = Number(process.env.LETHE_SERVER_FAULT_AFTER ?? 0);

/** Dies here when the environment asks for it; otherwise does nothing. */
export function faultPoint(at: FaultStage): void {
  if (stage !== at) return;
  if (skip-- > 0) return;
  process.kill(process.pid, 'SIGKILL');
}
