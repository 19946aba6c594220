// The deletion service: accepts requests into the ledger, applies them exactly once through the
// approximator store, and publishes each application as one certified release.
//
// Exactly once, across crashes: a request is durable once accepted (one INSERT). An application
// is prepared in memory (the summed vectors, the noised and certified release), recorded as
// 'pending' with its release and the requests it covers, then committed to the store in one
// transaction (erasure of the vectors, the ledger entry 'application-<id>' with the release's
// privacy cost, the new head weights), then marked 'committed', and then its requests 'done', a
// few rows per statement. On start, a pending application whose entry is in the store's ledger is
// finished; one whose entry is not never happened: its release, never published, is dropped and
// its requests, still 'accepted', are applied again. The store refuses an id forgotten before, so
// no vector can be added twice; the accountant is rebuilt from the store's ledger, so no privacy
// is spent unrecorded.
//
// Why a few rows per statement: on PGlite every statement runs on this thread, and an UPDATE of a
// window's 256 request rows holds it for 7 to 20 ms, during which no request is acknowledged.
import { createHash, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import {
  accountantFromLedger,
  type Certificate,
  type PaperSensitivityModel,
  PrivacyBudget,
  paperStepCounts,
  withDeletions,
} from '@lethe/certify';
import { isLetheError, LetheError, weightsSha256 } from '@lethe/core';
import { recollect, runDigests, storeIdentity, Unlearner } from '@lethe/recollect';
import type { ApproximatorStore, LedgerRelease } from '@lethe/store';
import type { ErasureMode } from '@lethe/store-postgres';
import { addToken, type Caller, newToken } from './auth.js';
import { type Db, openPglite, openServer } from './db.js';
import { faultPoint } from './faults.js';
import { migrate, SERVICE_SCHEMA as S } from './migrations.js';
import type { ServedModel } from './model.js';
import { type CertifyResult, openStoreInWorker, type WorkerStore } from './store-proxy.js';

/** After every request, or per window of N requests or T seconds, whichever comes first. */
export type ReleasePolicy =
  | { readonly kind: 'online' }
  | { readonly kind: 'window'; readonly requests: number; readonly seconds: number };

export interface ServiceOptions {
  readonly model: ServedModel;
  /** Where PGlite keeps the databases (service/ and store/); needed unless databaseUrl is set. */
  readonly dataDir?: string;
  /** A Postgres server (postgres://...) instead of PGlite. */
  readonly databaseUrl?: string;
  readonly policy?: ReleasePolicy;
  /** Privacy of each release. Default epsilon 1, delta 1e-5. */
  readonly release?: { readonly epsilon: number; readonly delta: number };
  /** Total budget over all releases. Default epsilon 20, delta 1e-3. */
  readonly budget?: { readonly epsilon: number; readonly delta: number };
  /** The store's erasure after each commit (see @lethe/store-postgres). Default 'rewrite'. */
  readonly erasure?: ErasureMode;
  /**
   * Seconds from a deletion's commit to the store's scrub that clears its vectors' bytes from
   * the data files (VACUUM FULL, on PGlite also the WAL), once for all the deletions committed
   * meanwhile. Default 5; 0 scrubs inside each commit. The vectors are unreadable through SQL
   * from the commit on either way; a rewrite costs the whole table whatever it removes, and on a
   * Postgres server it runs beside the acknowledgements at their priority.
   */
  readonly scrubDelaySeconds?: number;
  /** Ensures a token with this value and the admin scope (otherwise one is made on first start). */
  readonly adminToken?: string;
  /** Progress lines (stderr by default). */
  readonly log?: (line: string) => void;
  /**
   * Linux: the nice value of the store's thread (0 to 19), which draws each release's noise
   * and runs each commit's erasure. Default 10: while both want a core, the thread that
   * acknowledges requests gets about nine tenths of it.
   */
  readonly storeNiceness?: number;
}

export type RequestState = 'accepted' | 'applying' | 'done' | 'held';

export interface RequestView {
  readonly id: string;
  readonly state: RequestState;
  readonly acceptedAt: string;
  readonly doneAt: string | null;
  readonly release: number | null;
}

export interface ReleaseView {
  readonly id: number;
  readonly ledgerRequest: number;
  readonly requests: number;
  readonly samples: number;
  readonly weightsSha256: string;
  readonly epsilon: number;
  readonly delta: number;
  readonly sigma: number;
  readonly committedAt: string;
  readonly certificate: Certificate;
}

export interface SubmitInput {
  readonly sampleIds?: readonly number[];
  readonly subjectKeys?: readonly string[];
  readonly idempotencyKey: string;
}

/** Timings of the vector work of one application (read the rows, add them, commit and erase). */
export interface ApplicationTiming {
  readonly requests: number;
  readonly samples: number;
  readonly prepareMs: number;
  readonly releaseMs: number;
  readonly commitMs: number;
}

const APPLICATION_PREFIX = 'application-';

/** Request rows per statement when an application marks them done (see the top of the file). */
const ROWS_PER_STATEMENT = 32;

interface PendingRow {
  id: number;
  request_seqs: string[];
  sample_ids: number[];
}

export class DeletionService {
  held: string | undefined;
  lastError: string | undefined;
  readonly timings: ApplicationTiming[] = [];
  private stopping = false;
  private pumping: Promise<void> | undefined;
  private again = false;
  /** Requests accepted here since the applier last looked (a hint; the ledger is the truth). */
  private arrived = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<() => void>();
  /** The requests of the application being applied: 'applying' to a reader, 'accepted' in the table. */
  private applying = new Set<string>();

  private constructor(
    readonly served: ServedModel,
    readonly db: Db,
    readonly store: WorkerStore,
    private unlearner: Unlearner,
    private budget: PrivacyBudget,
    readonly policy: ReleasePolicy,
    readonly releaseParams: { readonly epsilon: number; readonly delta: number },
    readonly adminToken: string | undefined,
    private readonly closeExtra: () => Promise<void>,
    private readonly log: (line: string) => void,
  ) {}

  static async open(options: ServiceOptions): Promise<DeletionService> {
    const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const served = options.model;
    const identity = storeIdentity(served.model, served.trajectory);
    let db: Db;
    let store: WorkerStore | undefined;
    let closeExtra = async () => {};
    const erasure = options.erasure ?? 'rewrite';
    const scrubDelaySeconds = options.scrubDelaySeconds ?? 5;
    if (
      !(Number.isFinite(scrubDelaySeconds) && scrubDelaySeconds >= 0 && scrubDelaySeconds <= 86_400)
    ) {
      throw new LetheError(
        'invalid-argument',
        `lethe-server: scrubDelaySeconds (--scrub-delay) must be a number of seconds in [0, 86400], got ${scrubDelaySeconds}.`,
      );
    }
    // The store runs in a worker thread (see store-worker.ts), on its own PGlite data directory
    // or its own connection to the server, in schema lethe_store.
    // Rows are cached in memory up to 1 GiB (see openStoreInWorker).
    const cacheRows = served.data.n * served.model.d * 4 <= 2 ** 30;
    const openStore = (create: boolean) =>
      openStoreInWorker(
        {
          target:
            options.databaseUrl === undefined
              ? { dataDir: join(options.dataDir!, 'store') }
              : { url: options.databaseUrl },
          identity,
          niceness: options.storeNiceness ?? 10,
          options: {
            create,
            erasure,
            scrubDelayMs: Math.round(scrubDelaySeconds * 1000),
            verify: false,
            ...(options.databaseUrl === undefined ? {} : { schema: 'lethe_store' }),
          },
        },
        { cacheRows },
      );
    if (options.databaseUrl !== undefined) {
      db = (await openServer(options.databaseUrl)).db;
    } else {
      if (options.dataDir === undefined) {
        throw new LetheError(
          'invalid-argument',
          'lethe-server: give a data directory (--data-dir) or a Postgres URL (--database-url).',
        );
      }
      db = await openPglite(join(options.dataDir, 'service'));
    }
    try {
      await migrate(db);
      const [complete] = await db.query<{ value: string }>(
        `SELECT value FROM ${S}.meta WHERE key = 'approximators'`,
      );
      if (complete?.value === identity.trajectoryDigest) {
        store = await openStore(false);
      } else {
        // First start (or a start interrupted while computing): compute every approximator.
        // writeRows upserts, so a second attempt overwrites the first one's rows.
        store = await openStore(true);
        log(`lethe-server: computing ${served.data.n} approximators (first start) ...`);
        let shown = -1;
        await recollect({
          model: served.model,
          data: served.data,
          trajectory: served.trajectory,
          store,
          onProgress: (p) => {
            const pct = Math.floor(p.fraction * 10) * 10;
            if (pct !== shown) {
              shown = pct;
              log(`lethe-server: approximators ${pct}% (${p.elapsedSeconds.toFixed(1)} s)`);
            }
          },
        });
        await db.query(
          `INSERT INTO ${S}.meta (key, value) VALUES ('approximators', $1)
           ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
          [identity.trajectoryDigest],
        );
      }
      const [subjects] = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${S}.subjects`);
      if (Number(subjects!.n) === 0) {
        const ids = Array.from({ length: served.data.n }, (_, i) => i);
        await db.query(
          `INSERT INTO ${S}.subjects (key, sample_id) SELECT * FROM unnest($1::text[], $2::integer[])`,
          [ids.map((i) => served.subjectKey(i)), ids],
        );
      }
      let adminToken = options.adminToken;
      if (adminToken !== undefined) {
        await addToken(db, adminToken, 'admin', ['admin', 'submit', 'read-own', 'read-weights']);
      } else {
        const [any] = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${S}.tokens`);
        if (Number(any!.n) === 0) {
          adminToken = newToken();
          await addToken(db, adminToken, 'admin', ['admin', 'submit', 'read-own', 'read-weights']);
          log(`lethe-server: first start: admin token (shown once, keep it): ${adminToken}`);
        }
      }
      await recover(db, store);
      const unlearner = await Unlearner.open(served.model, served.trajectory, {
        kind: 'store',
        store,
      });
      const budget = await budgetFromLedger(store, options.budget);
      const service = new DeletionService(
        served,
        db,
        store,
        unlearner,
        budget,
        options.policy ?? { kind: 'online' },
        options.release ?? { epsilon: 1, delta: 1e-5 },
        adminToken,
        closeExtra,
        log,
      );
      closeExtra = async () => {};
      service.start();
      return service;
    } catch (error) {
      await store?.close().catch(() => undefined);
      await db.close().catch(() => undefined);
      throw error;
    }
  }

  /** The sensitivity bound of the run (the paper's, rho = 1 as its authors assume) for m deletions. */
  sensitivity(m: number): PaperSensitivityModel {
    const { config, data } = this.served;
    const { T, B } = paperStepCounts({
      n: data.n,
      epochs: config.epochs,
      batchSize: config.batchSize,
    });
    return withDeletions(
      {
        kind: 'paper',
        eta: config.lr,
        q: config.lrDecay,
        C: config.clip,
        rho: 1,
        T,
        B,
        batchSize: config.batchSize,
        m: 0,
      },
      m,
    ) as PaperSensitivityModel;
  }

  /** Accepts a request durably (or returns the earlier one with the same idempotency key). */
  async submit(
    caller: Caller,
    input: SubmitInput,
  ): Promise<{ request: RequestView; replayed: boolean }> {
    // Whether a key was ever in the training set is membership information: only an admin is
    // told; anyone else gets the same answer as for a known key (the request is done, forgetting
    // nothing, with the next release).
    const reveal = caller.scopes.has('admin');
    const sampleIds = input.sampleIds ?? [];
    const subjectKeys = input.subjectKeys ?? [];
    for (const id of sampleIds) {
      if (id >= this.served.data.n) {
        // The training set's size is public; which ids in it were used is not asked here.
        throw new LetheError(
          'unknown-id',
          `sample id ${id} is out of range: the model was trained on ids 0..${this.served.data.n - 1}.`,
        );
      }
    }
    const body = createHash('sha256')
      .update(JSON.stringify({ sampleIds, subjectKeys }))
      .digest('hex');
    const found =
      subjectKeys.length === 0
        ? []
        : await this.db.query<{ key: string; sample_id: number }>(
            `SELECT key, sample_id FROM ${S}.subjects WHERE key = ANY($1::text[])`,
            [subjectKeys],
          );
    const known = new Map(found.map((r) => [r.key, r.sample_id]));
    const unknown = subjectKeys.filter((k) => !known.has(k));
    if (reveal && unknown.length > 0) {
      throw new LetheError(
        'unknown-id',
        `unknown subject key(s) ${unknown
          .slice(0, 5)
          .map((k) => JSON.stringify(k))
          .join(', ')}: no sample of the training set has them; nothing was accepted.`,
      );
    }
    const ids = [...new Set([...sampleIds, ...known.values()])].sort((a, b) => a - b);
    const id = randomUUID();
    const rows = await this.db.query<RequestRow & { body_sha256: string; inserted: boolean }>(
      `WITH ins AS (
         INSERT INTO ${S}.requests (id, token_id, idempotency_key, body_sha256, subject_keys, sample_ids, unknown, state)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'accepted')
         ON CONFLICT (token_id, idempotency_key) DO NOTHING
         RETURNING *, true AS inserted)
       SELECT * FROM ins
       UNION ALL
       SELECT *, false AS inserted FROM ${S}.requests WHERE token_id = $2 AND idempotency_key = $3
       LIMIT 1`,
      [id, caller.tokenId, input.idempotencyKey, body, subjectKeys, ids, unknown.length],
    );
    const row = rows[0]!;
    if (!row.inserted && row.body_sha256 !== body) {
      throw new LetheError(
        'duplicate-request',
        `idempotency key ${JSON.stringify(input.idempotencyKey)} was used for a different request (${row.id}); use a new key for a new request.`,
      );
    }
    faultPoint('after-accept');
    if (row.inserted) this.arrive();
    return { request: this.view(row), replayed: !row.inserted };
  }

  /** A request by id, if `caller` may see it (its own, or any with admin). */
  async request(caller: Caller, id: string): Promise<RequestView | undefined> {
    const [row] = await this.db.query<RequestRow>(
      `SELECT * FROM ${S}.requests WHERE id = $1 AND ($2 OR token_id = $3)`,
      [id, caller.scopes.has('admin'), caller.tokenId],
    );
    return row === undefined ? undefined : this.view(row);
  }

  async releases(limit = 20): Promise<ReleaseView[]> {
    const rows = await this.db.query<ApplicationRow>(
      `SELECT id, ledger_request, cardinality(request_seqs) AS requests, cardinality(sample_ids) AS samples,
              weights_sha256, epsilon, delta, sigma, committed_at, certificate
         FROM ${S}.applications WHERE state = 'committed' ORDER BY id DESC LIMIT $1`,
      [limit],
    );
    return rows.map(releaseView);
  }

  async release(id: number): Promise<ReleaseView | undefined> {
    const [row] = await this.db.query<ApplicationRow>(
      `SELECT id, ledger_request, cardinality(request_seqs) AS requests, cardinality(sample_ids) AS samples,
              weights_sha256, epsilon, delta, sigma, committed_at, certificate
         FROM ${S}.applications WHERE state = 'committed' AND id = $1`,
      [id],
    );
    return row === undefined ? undefined : releaseView(row);
  }

  /** The latest released (noised) weights, or the model's original weights before any release. */
  async weights(): Promise<{ weights: Float32Array; sha256: string; release: number | null }> {
    const [row] = await this.db.query<{ id: number; weights: Uint8Array }>(
      `SELECT id, weights FROM ${S}.applications WHERE state = 'committed' ORDER BY id DESC LIMIT 1`,
    );
    if (row === undefined) {
      const w = this.served.original;
      return { weights: w, sha256: weightsSha256(w), release: null };
    }
    const bytes = Uint8Array.from(row.weights);
    const weights = new Float32Array(bytes.buffer, 0, bytes.byteLength / 4);
    return { weights, sha256: weightsSha256(weights), release: row.id };
  }

  async counts(): Promise<Record<RequestState, number>> {
    const rows = await this.db.query<{ state: string; n: string }>(
      `SELECT state, count(*) AS n FROM ${S}.requests GROUP BY state`,
    );
    const out: Record<RequestState, number> = { accepted: 0, applying: 0, done: 0, held: 0 };
    for (const r of rows) out[r.state as RequestState] = Number(r.n);
    out.applying = Math.min(this.applying.size, out.accepted);
    out.accepted -= out.applying;
    if (this.held !== undefined) {
      out.held = out.accepted;
      out.accepted = 0;
    }
    return out;
  }

  /** What is left of the budget, by the composition that fits best. */
  budgetState(): {
    limit: { epsilon: number; delta: number };
    spent: { epsilon: number; delta: number };
    releases: number;
    retrainDue: boolean;
    reason: string | null;
  } {
    const spent = this.budget.spent();
    return {
      limit: { ...this.budget.limit },
      spent: { epsilon: spent.spent.epsilon, delta: spent.spent.delta },
      releases: this.budget.accountant.releases.length,
      retrainDue: this.held !== undefined,
      reason: this.held ?? null,
    };
  }

  /** Resolves once no accepted request is waiting (or the service holds them). */
  async idle(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [row] = await this.db.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${S}.requests WHERE state <> 'done'`,
      );
      if (Number(row!.n) === 0 || this.held !== undefined) return;
      if (Date.now() > deadline) throw new LetheError('io', 'lethe-server: requests still waiting');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  onApplied(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.stopping = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.pumping;
    await this.store.close();
    await this.db.close();
    await this.closeExtra();
  }

  private start(): void {
    const seconds = this.policy.kind === 'window' ? this.policy.seconds : 1;
    this.timer = setInterval(() => this.kick(true), Math.max(50, seconds * 1000));
    this.timer.unref();
    this.kick(true);
  }

  /**
   * A request was accepted. Online, the applier starts at once; per window, only once a window
   * of requests may be waiting (the timer covers the time limit), since looking for work costs
   * a query of the waiting requests, on PGlite on this thread, which per request would take as
   * much time as accepting it.
   */
  private arrive(): void {
    this.arrived++;
    if (this.policy.kind === 'window' && this.arrived < this.policy.requests) return;
    this.kick();
  }

  /** Starts the applier unless it runs; it runs again when something arrived meanwhile. */
  private kick(timer = false): void {
    if (this.stopping) return;
    if (this.pumping !== undefined) {
      this.again = true;
      return;
    }
    this.pumping = (async () => {
      let force = timer;
      do {
        this.again = false;
        try {
          while (!this.stopping && (await this.applyNext(force))) force = false;
        } catch (error) {
          this.lastError = (error as Error).message;
          this.log(`lethe-server: applying failed: ${this.lastError}`);
          await this.reopen().catch((e) => this.log(`lethe-server: reopen failed: ${e}`));
        }
        force = false;
      } while (this.again && !this.stopping);
      this.pumping = undefined;
    })();
  }

  /** Applies the next batch of accepted requests; false when there was nothing to do. */
  private async applyNext(force: boolean): Promise<boolean> {
    if (this.held !== undefined) return false;
    this.arrived = 0;
    const waiting = await this.db.query<{ seq: string; sample_ids: number[]; accepted_at: Date }>(
      `SELECT seq, sample_ids, accepted_at FROM ${S}.requests WHERE state = 'accepted' ORDER BY seq LIMIT $1`,
      [this.policy.kind === 'window' ? this.policy.requests : 1000],
    );
    if (waiting.length === 0) return false;
    const forgotten = await this.forgottenIds();
    const batch: string[] = [];
    const ids = new Set<number>();
    const cap = this.policy.kind === 'window' ? this.policy.requests : waiting.length;
    for (const r of waiting) {
      if (batch.length >= cap) break;
      const fresh = r.sample_ids.filter((i) => !forgotten.has(i) && !ids.has(i));
      if (this.policy.kind === 'online' && fresh.length > 0 && ids.size > 0) break;
      batch.push(r.seq);
      for (const i of fresh) ids.add(i);
    }
    if (this.policy.kind === 'window') {
      const oldest = new Date(waiting[0]!.accepted_at).getTime();
      const due =
        waiting.length >= this.policy.requests ||
        Date.now() - oldest >= this.policy.seconds * 1000 ||
        force;
      if (!due) return false;
    }
    if (ids.size === 0) {
      // Nothing new to forget (unknown keys, ids already forgotten): done with the latest release.
      const [latest] = await this.db.query<{ id: number | null }>(
        `SELECT max(id) AS id FROM ${S}.applications WHERE state = 'committed'`,
      );
      await markDone(this.db, batch, latest!.id);
      return true;
    }
    await this.apply(
      batch,
      [...ids].sort((a, b) => a - b),
      forgotten.size,
    );
    return true;
  }

  private async forgottenIds(): Promise<Set<number>> {
    const entries = await this.store.deletions();
    const out = new Set<number>();
    for (const e of entries) for (const i of e.ids) out.add(i);
    return out;
  }

  private async apply(seqs: string[], ids: number[], forgottenBefore: number): Promise<void> {
    try {
      await this.applyOnce(seqs, ids, forgottenBefore);
    } finally {
      this.applying = new Set();
    }
  }

  private async applyOnce(seqs: string[], ids: number[], forgottenBefore: number): Promise<void> {
    const t0 = performance.now();
    const pending = await this.unlearner.prepareForget(ids);
    const t1 = performance.now();
    const [next] = await this.db.query<{ id: number }>(
      `SELECT nextval('${S}.applications_id_seq')::integer AS id`,
    );
    const appId = next!.id;
    const requestId = `${APPLICATION_PREFIX}${appId}`;
    const deletedIds = [...(await this.forgottenIds()), ...ids];
    let released: CertifyResult;
    try {
      released = await this.store.certify({
        weights: pending.weights,
        sensitivity: this.sensitivity(forgottenBefore + ids.length),
        epsilon: this.releaseParams.epsilon,
        delta: this.releaseParams.delta,
        limit: this.budget.limit,
        requestIds: [requestId],
        mode: ids.length === 1 ? 'online' : 'batch',
        backend: this.served.backend.name,
        run: runDigests(this.served.trajectory),
        deletedIds,
      });
    } catch (error) {
      if (isLetheError(error, 'budget-exceeded')) {
        this.held = `The privacy budget cannot certify the next release (${error.message}). Requests are held: retrain on the remaining data, or repair, and start a new service on the new run.`;
        this.log(`lethe-server: ${this.held}`);
        return;
      }
      throw error;
    }
    const t2 = performance.now();
    // The weights go as hex text, decoded by Postgres: PGlite's own encoding of a bytea
    // parameter is a loop in JavaScript, on PGlite this thread, twice as slow for 31 KB.
    const hex = Buffer.from(
      released.weights.buffer,
      released.weights.byteOffset,
      released.weights.byteLength,
    ).toString('hex');
    const ledgerLength = (await this.store.deletions()).length;
    // The intent: the application, its release and the requests it covers, in one row.
    await this.db.query(
      `INSERT INTO ${S}.applications (id, state, request_seqs, sample_ids, ledger_request, weights, weights_sha256, certificate, epsilon, delta, sigma)
       VALUES ($1, 'pending', $2, $3, $4, decode($5, 'hex'), $6, $7, $8, $9, $10)`,
      [
        appId,
        seqs,
        ids,
        ledgerLength,
        hex,
        weightsSha256(released.weights),
        JSON.stringify(released.certificate),
        this.releaseParams.epsilon,
        this.releaseParams.delta,
        released.sigma,
      ],
    );
    this.applying = new Set(seqs.map(String));
    faultPoint('after-intent');
    const t3 = performance.now();
    const record = released.record;
    const cost: LedgerRelease = {
      mode: record.mode,
      requestIds: record.requestIds,
      sigma: record.sigma,
      sensitivity: record.sensitivity,
      epsilon: record.epsilon,
      delta: record.delta,
    };
    try {
      await pending.commit({ requestId, release: cost });
    } catch (error) {
      // Refused before anything changed, or unknown: the ledger decides (as at a restart).
      if (!isLetheError(error) || error.code === 'io') throw error;
      await recover(this.db, this.store);
      this.budget = await budgetFromLedger(this.store, this.budget.limit);
      throw error;
    }
    faultPoint('after-store-commit');
    const t4 = performance.now();
    await finish(this.db, appId);
    faultPoint('after-release');
    this.budget = await budgetFromLedger(this.store, this.budget.limit);
    this.timings.push({
      requests: seqs.length,
      samples: ids.length,
      prepareMs: t1 - t0,
      releaseMs: t2 - t1,
      commitMs: t4 - t3,
    });
    if (this.timings.length > 10_000) this.timings.splice(0, 5_000);
    for (const l of this.listeners) l();
  }

  /** After a failure whose outcome is unknown: reconcile with the store and start afresh. */
  private async reopen(): Promise<void> {
    await recover(this.db, this.store);
    this.unlearner = await Unlearner.open(this.served.model, this.served.trajectory, {
      kind: 'store',
      store: this.store,
    });
    this.budget = await budgetFromLedger(this.store, this.budget.limit);
  }

  /** 'accepted' in the table is 'applying' while its application runs, 'held' while held. */
  private stateOf(row: RequestRow): RequestState {
    if (row.state !== 'accepted') return row.state as RequestState;
    if (this.applying.has(String(row.seq))) return 'applying';
    return this.held !== undefined ? 'held' : 'accepted';
  }

  private view(row: RequestRow): RequestView {
    return {
      id: row.id,
      state: this.stateOf(row),
      acceptedAt: new Date(row.accepted_at).toISOString(),
      doneAt: row.done_at === null ? null : new Date(row.done_at).toISOString(),
      release: row.state === 'done' ? (row.application ?? null) : null,
    };
  }
}

interface RequestRow {
  seq: string;
  id: string;
  state: string;
  application: number | null;
  accepted_at: Date;
  done_at: Date | null;
}

interface ApplicationRow {
  id: number;
  ledger_request: number;
  requests: number;
  samples: number;
  weights_sha256: string;
  epsilon: number;
  delta: number;
  sigma: number;
  committed_at: Date;
  certificate: Certificate | string;
}

function releaseView(r: ApplicationRow): ReleaseView {
  return {
    id: r.id,
    ledgerRequest: r.ledger_request,
    requests: Number(r.requests),
    samples: Number(r.samples),
    weightsSha256: r.weights_sha256,
    epsilon: r.epsilon,
    delta: r.delta,
    sigma: r.sigma,
    committedAt: new Date(r.committed_at).toISOString(),
    certificate: typeof r.certificate === 'string' ? JSON.parse(r.certificate) : r.certificate,
  };
}

async function budgetFromLedger(
  store: ApproximatorStore,
  limit: { epsilon: number; delta: number } = { epsilon: 20, delta: 1e-3 },
): Promise<PrivacyBudget> {
  return new PrivacyBudget(limit, { accountant: accountantFromLedger(await store.deletions()) });
}

/**
 * Marks an application committed, then its requests done a few at a time. A crash in between
 * leaves requests of the latest committed application 'accepted'; `recover` finishes them.
 */
async function finish(db: Db, appId: number): Promise<void> {
  const [app] = await db.query<{ request_seqs: string[] }>(
    `UPDATE ${S}.applications SET state = 'committed', committed_at = now() WHERE id = $1
     RETURNING request_seqs`,
    [appId],
  );
  faultPoint('after-application-committed');
  await markDone(db, app!.request_seqs, appId);
}

/** Marks `seqs` done by `application`, ROWS_PER_STATEMENT at a time, letting the loop run between. */
async function markDone(
  db: Db,
  seqs: readonly string[],
  application: number | null,
): Promise<void> {
  for (let i = 0; i < seqs.length; i += ROWS_PER_STATEMENT) {
    if (i > 0) await new Promise((resolve) => setImmediate(resolve));
    await db.query(
      `UPDATE ${S}.requests SET state = 'done', done_at = now(), application = $1
        WHERE seq = ANY($2::bigint[]) AND state <> 'done'`,
      [application, seqs.slice(i, i + ROWS_PER_STATEMENT)],
    );
  }
}

/**
 * Reconciles the service's tables with the store's ledger, the record of what was applied:
 * a pending application in the ledger is finished, one not in it is dropped (its requests were
 * left 'accepted'), and the requests of the latest committed application are all marked done
 * (the applier finishes one application before it starts the next, so only the latest can have
 * been cut short).
 */
export async function recover(db: Db, store: ApproximatorStore): Promise<void> {
  const inLedger = new Set((await store.deletions()).map((e) => e.requestId));
  const pending = await db.query<PendingRow>(
    `SELECT id, request_seqs, sample_ids FROM ${S}.applications WHERE state = 'pending' ORDER BY id`,
  );
  for (const app of pending) {
    if (inLedger.has(`${APPLICATION_PREFIX}${app.id}`)) {
      await finish(db, app.id);
    } else {
      await db.query(`DELETE FROM ${S}.applications WHERE id = $1`, [app.id]);
    }
  }
  const [latest] = await db.query<{ id: number; request_seqs: string[] }>(
    `SELECT id, request_seqs FROM ${S}.applications WHERE state = 'committed' ORDER BY id DESC LIMIT 1`,
  );
  if (latest !== undefined) await markDone(db, latest.request_seqs, latest.id);
  // Requests left 'applying' by an earlier version of this service, which marked them so.
  await db.query(
    `UPDATE ${S}.requests r SET state = 'accepted', application = NULL
      WHERE state = 'applying' AND NOT EXISTS (
        SELECT 1 FROM ${S}.applications a WHERE a.id = r.application AND a.state = 'committed')`,
  );
  await db.query(
    `UPDATE ${S}.requests r SET state = 'done', done_at = a.committed_at
       FROM ${S}.applications a
      WHERE r.state = 'applying' AND a.id = r.application AND a.state = 'committed'`,
  );
}
