import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createModel } from '@lethe/autodiff';
import { Rng } from '@lethe/core';
import { type TrainingData, train } from '@lethe/recollect';

export const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

/** A tiny run: logistic regression on Gaussian blobs, 48 samples, 18 steps. */
export function tinyRun() {
  const rng = new Rng(7);
  const n = 48;
  const inputs = 12;
  const classes = 3;
  const means = Array.from({ length: classes }, () =>
    Array.from({ length: inputs }, () => rng.normal() * 1.5),
  );
  const x = new Float32Array(n * inputs);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = rng.nextInt(classes);
    y[i] = c;
    for (let j = 0; j < inputs; j++) x[i * inputs + j] = means[c]![j]! + rng.normal();
  }
  const data: TrainingData = { x, y, n };
  const model = createModel('logistic', { inputShape: [inputs], classes });
  const config = { epochs: 3, batchSize: 8, lr: 0.1, lrDecay: 0.99, clip: 2, l2: 0.1, seed: 3 };
  const { trajectory } = train(model, data, config);
  return { data, model, trajectory };
}

/** A lethe-worker process whose stderr lines are collected (and awaited with `waitFor`). */
export class WorkerProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  private waiters: { match: RegExp; resolve: (line: string) => void }[] = [];

  constructor(url: string, name: string, stepDelayMs: number, extra: readonly string[] = []) {
    this.child = spawn(
      process.execPath,
      [BIN, '--database', url, '--name', name, '--step-delay-ms', String(stepDelayMs), ...extra],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let buffer = '';
    this.child.stderr!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let at = buffer.indexOf('\n');
      while (at >= 0) {
        const line = buffer.slice(0, at);
        buffer = buffer.slice(at + 1);
        this.lines.push(line);
        this.waiters = this.waiters.filter((w) => {
          if (!w.match.test(line)) return true;
          w.resolve(line);
          return false;
        });
        at = buffer.indexOf('\n');
      }
    });
  }

  waitFor(match: RegExp): Promise<string> {
    const seen = this.lines.find((l) => match.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await exited;
  }
}
