// `pnpm serve` with no flags: the bundled MNIST logistic model, trained and its approximators
// computed into ./lethe-data on the first start, reused on the next.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ADMIN, CLI, tempDir } from './helpers.js';

function serve(
  cwd: string,
): Promise<{ url: string; stderr: () => string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [CLI, '--port', '0'], {
    cwd,
    env: { ...process.env, LETHE_ADMIN_TOKEN: ADMIN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (b) => {
    err += b;
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (b) => {
      out += b;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line !== undefined) {
        resolve({
          url: JSON.parse(line).listening,
          stderr: () => err,
          stop: async () => {
            child.kill('SIGTERM');
            await exited;
          },
        });
      }
    });
    exited.then(() => reject(new Error(`server exited before listening: ${err}`)));
  });
}

describe('the default: bundled MNIST logistic model', () => {
  // The first start computes 1000 MNIST approximators (about 30 s alone, minutes on a loaded
  // machine), hence the timeout above the shared 120 s.
  it('computes the approximators on the first start, reuses them on the next, and forgets', {
    timeout: 300_000,
  }, async () => {
    const { dir, remove } = await tempDir();
    try {
      const first = await serve(dir);
      const health = (await (await fetch(`${first.url}/health`)).json()) as { model: string };
      expect(health.model).toBe('mnist-logistic');
      expect(first.stderr()).toMatch(/computing 1000 approximators \(first start\)/);
      await first.stop();

      const second = await serve(dir);
      try {
        expect(second.stderr()).not.toMatch(/computing/);
        const res = await fetch(`${second.url}/v1/deletions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ subjectKeys: ['mnist-train-17'], idempotencyKey: 'one' }),
        });
        expect(res.status).toBe(202);
        const { id } = (await res.json()) as { id: string };
        let state = '';
        for (let i = 0; i < 200 && state !== 'done'; i++) {
          await new Promise((r) => setTimeout(r, 50));
          const status = await fetch(`${second.url}/v1/deletions/${id}`, {
            headers: { authorization: `Bearer ${ADMIN}` },
          });
          state = ((await status.json()) as { request: { state: string } }).request.state;
        }
        expect(state).toBe('done');
        const w = (await (
          await fetch(`${second.url}/v1/weights`, { headers: { authorization: `Bearer ${ADMIN}` } })
        ).json()) as { d: number; release: number };
        expect(w.d).toBe(7850);
        expect(w.release).toBe(1);
      } finally {
        await second.stop();
      }
    } finally {
      await remove();
    }
  });
});
