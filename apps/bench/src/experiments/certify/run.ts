import {
  addGridGaussianNoise,
  auditCertificate,
  calibrateGrid,
  certifiedRelease,
  PrivacyAccountant,
  paperStepCounts,
  type SensitivityModel,
  seededNoiseSource,
  sensitivityValue,
} from '@lethe/certify';
import { trajectoryRho, trajectorySoftmaxRho } from '@lethe/certify/trajectory';
import { deriveSeed, Rng } from '@lethe/core';
import { l2Distance } from '@lethe/evaluate';
import { recollect, retrain, runDigests, storeIdentity, train, Unlearner } from '@lethe/recollect';
import { createMemoryStore } from '@lethe/store';
import { accuracyOn, backendRecord } from '../../measure.js';
import { progressLine } from '../../progress.js';
import { versions } from '../../results.js';
import { type ExperimentFlags, forgetAndRemain, setUp } from '../../setup.js';
import { mean } from '../../stats.js';
import { type AuditResult, auditRelease } from './audit.js';
import { CAPACITY_BUDGET, capacityTable } from './capacity.js';
import { type PerRequestResult, perRequestBound } from './per-request.js';

export interface CertifyFlags extends ExperimentFlags {
  readonly forget: number;
  readonly delta: number;
  readonly epsilons: readonly number[];
  /** Noise draws per epsilon (accuracy and distance are averaged over them). */
  readonly draws: number;
  readonly rhoSteps: number;
  /** Releases per world for the empirical audit of each certified row (0: no audit). */
  readonly auditTrials: number;
  readonly workers?: number | undefined;
  /** Deletion sets in the removal bound's adversarial check (logistic only). */
  readonly boundSets: number;
}

/** The bound behind a row, in the names result.json's accuracyAtEpsilon uses. */
export type BoundName = 'paper' | 'paper-rho1' | 'per-request-1' | 'per-request-2';

export const DEFAULT_EPSILONS = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100];

export interface CertifyRow {
  readonly sensitivityModel: string;
  readonly bound: BoundName | null;
  readonly sensitivity: number;
  readonly epsilon: number;
  readonly sigma: number;
  readonly testAccuracy: number;
  readonly forgetAccuracy: number;
  readonly distanceToRetrain: number;
  /** Empirical lower bounds on epsilon (95%) for certified rows; null where not audited. */
  readonly audit: AuditResult | null;
}

/**
 * Forgets M samples, then measures grid releases (snapped weights plus exact discrete Gaussian
 * noise) for each epsilon and sensitivity model: with rho = 1 each draw is a certified release
 * of its own, through certifiedRelease; with the measured rho (a lower bound) the same mechanism
 * runs without a certificate. Issues one certificate at epsilon 1 with rho = 1, the authors'
 * assumption, bound to the run and the forgotten ids, and audits it.
 */
export async function runCertify(flags: CertifyFlags) {
  const exp = await setUp(flags);
  const { model, config, trainingData } = exp;
  const { forget, remain } = forgetAndRemain(trainingData.n, flags.forget, flags.seed);
  process.stderr.write(
    `certify: ${model.name} on ${flags.dataset}, n = ${trainingData.n}, forget ${forget.length}\n`,
  );
  const { weights, trajectory } = train(model, trainingData, config);
  const store = createMemoryStore(storeIdentity(model, trajectory));
  const progress = progressLine('recollect');
  await recollect({
    model,
    data: trainingData,
    trajectory,
    store,
    ids: forget,
    workers: flags.workers,
    onProgress: (p) => progress(p.fraction),
  });
  const unlearner = await Unlearner.open(model, trajectory, { kind: 'store', store });
  await unlearner.forgetBatch(forget);
  const unlearned = unlearner.weights;
  await store.close();
  const retrained = retrain(model, trainingData, trajectory, forget);
  const perRequest: PerRequestResult = perRequestBound({
    model,
    data: trainingData,
    trajectory,
    forget,
    unlearned,
    retrained,
    adversarialSets: flags.boundSets,
    seed: flags.seed,
  });

  const rhoProgress = progressLine('rho (power iteration)');
  const rho = trajectoryRho({
    model,
    data: trainingData,
    trajectory,
    steps: flags.rhoSteps,
    onStep: (i, total) => rhoProgress(i / total),
  });
  // For softmax regression rho also has a certified upper bound: each step's Hessian at its
  // recorded weights, bounded from above with a floating-point proof (trajectorySoftmaxRho);
  // other models have none here.
  const upperProgress = progressLine('rho (certified, every step)');
  const rhoUpper =
    model.name === 'logistic'
      ? trajectorySoftmaxRho({
          model,
          data: trainingData,
          trajectory,
          onStep: (i, total) => upperProgress(i / total),
        })
      : null;
  const { T, B } = paperStepCounts({
    n: trainingData.n,
    epochs: config.epochs,
    batchSize: config.batchSize,
  });
  const base = {
    kind: 'paper' as const,
    eta: config.lr,
    q: config.lrDecay,
    C: config.clip,
    T,
    B,
    batchSize: config.batchSize,
    m: forget.length,
  };
  // rho = 1 is the authors' assumption, which a certificate may carry as such. The measured rho
  // comes from power iteration, a lower bound on the spectral norm, so it certifies nothing:
  // its rows show what noise that bound would ask for, released without a certificate.
  // The certified upper bound may be certified with as such ('measured upper bound').
  const models: {
    label: string;
    model: SensitivityModel;
    certifies: boolean;
    bound: BoundName | null;
    weights: Float32Array;
  }[] = [
    {
      label: "paper bound, rho = 1 (authors' code)",
      model: { ...base, rho: 1 },
      certifies: true,
      bound: 'paper-rho1',
      weights: unlearned,
    },
    {
      label: `paper bound, measured rho = ${rho.value.toFixed(6)} (a lower bound: no certificate)`,
      model: { ...base, rho: rho.value },
      certifies: false,
      bound: null,
      weights: unlearned,
    },
    ...(rhoUpper === null
      ? []
      : [
          {
            label: `paper bound, certified rho <= ${rhoUpper.value.toFixed(6)} (every step's Hessian: an upper bound)`,
            model: { ...base, rho: rhoUpper.value },
            certifies: true,
            bound: 'paper' as const,
            weights: unlearned,
          },
        ]),
    // The per-request bound: this deletion set's distance to exact retraining, bounded along the
    // run (softmax regression only), for the first-order weights and the second-order ones.
    ...(perRequest.proven && perRequest.certified
      ? [
          {
            label: 'per-request bound, first order',
            model: {
              kind: 'user' as const,
              value: perRequest.firstOrder.bound,
              description:
                'removal bound along the recorded run (docs/derivations/removal-bound.md), first-order weights',
            },
            certifies: true,
            bound: 'per-request-1' as const,
            weights: unlearned,
          },
          {
            label: 'per-request bound, second order',
            model: {
              kind: 'user' as const,
              value: perRequest.secondOrder.bound,
              description:
                'removal bound along the recorded run (docs/derivations/removal-bound.md), second-order weights',
            },
            certifies: true,
            bound: 'per-request-2' as const,
            weights: perRequest.secondOrderWeights,
          },
        ]
      : []),
  ];
  const noise = seededNoiseSource(flags.seed);
  const run = runDigests(trajectory);
  // A certified release of the unlearned weights, bound to this run and the forgotten ids; a rho
  // other than 1 reaching here is the certified upper bound.
  const certify = (
    sensitivity: SensitivityModel,
    epsilon: number,
    accountant: PrivacyAccountant,
    weights: Float32Array = unlearned,
  ) =>
    certifiedRelease({
      weights,
      sensitivity,
      epsilon,
      delta: flags.delta,
      accountant,
      requestIds: forget.map(String),
      noise,
      backend: exp.backend.name,
      versions: versions(),
      run,
      deletedIds: forget,
      ...(sensitivity.kind === 'paper' && sensitivity.rho !== 1
        ? { provenance: { rho: 'measured upper bound' as const } }
        : {}),
    });
  const release = (
    sensitivity: SensitivityModel,
    epsilon: number,
    certifies: boolean,
    weights: Float32Array,
    accountant = new PrivacyAccountant(),
  ): { weights: Float32Array; sigma: number } => {
    if (!certifies) {
      const query = { epsilon, delta: flags.delta, sensitivity: sensitivityValue(sensitivity) };
      const grid = calibrateGrid({ ...query, weights });
      return { weights: addGridGaussianNoise(weights, grid, noise), sigma: grid.sigma };
    }
    return certify(sensitivity, epsilon, accountant, weights);
  };
  const rows: CertifyRow[] = [];
  const auditProgress = progressLine('audit');
  let audited = 0;
  const toAudit =
    flags.auditTrials > 0
      ? models.filter((m) => m.certifies && sensitivityValue(m.model) < 1e30).length *
        flags.epsilons.length
      : 0;
  // The audit's own stream ('AUDT'), so that auditing leaves the releases' draws unchanged.
  const auditRng = new Rng(deriveSeed(flags.seed, 0x41554454));
  const auditEpsilon = (
    sensitivity: number,
    epsilon: number,
    weights: Float32Array,
  ): AuditResult => {
    const grid = calibrateGrid({ epsilon, delta: flags.delta, sensitivity, weights });
    const result = auditRelease({
      model,
      unlearned: weights,
      retrained,
      grid,
      rng: auditRng,
      train: exp.train,
      forget,
      delta: flags.delta,
      trials: flags.auditTrials,
    });
    auditProgress(++audited / toAudit);
    return result;
  };
  for (const { label, model: sm, certifies, bound, weights: released } of models) {
    const sensitivity = sensitivityValue(sm);
    for (const epsilon of flags.epsilons) {
      // A bound whose noise float32 cannot carry (infinite, or beyond ~1e37) certifies nothing:
      // the row records it without a release.
      const draws =
        sensitivity < 1e30
          ? Array.from({ length: flags.draws }, () => release(sm, epsilon, certifies, released))
          : [];
      const measure = (f: (w: Float32Array) => number) =>
        draws.length > 0 ? mean(draws.map((d) => f(d.weights))) : Number.NaN;
      rows.push({
        sensitivityModel: label,
        bound,
        sensitivity,
        epsilon,
        sigma: draws[0]?.sigma ?? Number.POSITIVE_INFINITY,
        testAccuracy: measure((w) => accuracyOn(model, w, exp.test)),
        forgetAccuracy: measure((w) => accuracyOn(model, w, exp.train, forget)),
        distanceToRetrain: measure((w) => l2Distance(w, retrained)),
        audit:
          certifies && draws.length > 0 && flags.auditTrials > 0
            ? auditEpsilon(sensitivity, epsilon, released)
            : null,
      });
    }
  }

  // One certified release at epsilon 1 (rho = 1, the authors' assumption), bound to this run and
  // the forgotten ids; the verifier's verdict and what it had to take on trust.
  const accountant = new PrivacyAccountant();
  const issued = certify(models[0]!.model, 1, accountant);
  const { secondOrderWeights: _weights, ...perRequestRecord } = perRequest.proven
    ? perRequest
    : { secondOrderWeights: null, ...perRequest };
  const atOne = (name: BoundName) => rows.find((row) => row.bound === name && row.epsilon === 1);
  const audit = auditCertificate(issued.certificate, {
    weights: issued.weights,
    accountantState: accountant.toJSON(),
    run,
    deletedIds: forget,
    salt: issued.salt!,
    allowSeededNoise: true,
  });
  const problems = audit.problems;

  return {
    config: {
      model: model.name,
      dataset: flags.dataset,
      n: trainingData.n,
      forget: forget.length,
      delta: flags.delta,
      draws: flags.draws,
      ...config,
    },
    backend: exp.backend.name,
    backendDetail: backendRecord(exp.backend),
    seed: flags.seed,
    noise: {
      source: noise.kind,
      algorithm: noise.algorithm,
      mechanism: issued.certificate.noise.mechanism,
      grid: issued.certificate.noise.grid,
    },
    rho,
    rhoUpperBound:
      rhoUpper === null
        ? null
        : { value: rhoUpper.value, step: rhoUpper.step, steps: rhoUpper.perStep.length },
    stepCounts: { T, B },
    reference: {
      testAccuracy: {
        original: accuracyOn(model, weights, exp.test),
        unlearned: accuracyOn(model, unlearned, exp.test),
        retrain: accuracyOn(model, retrained, exp.test),
      },
      remainAccuracy: accuracyOn(model, unlearned, exp.train, remain),
      distance: {
        unlearnedToRetrain: l2Distance(unlearned, retrained),
        originalToRetrain: l2Distance(weights, retrained),
      },
    },
    rows,
    perRequestBound: perRequestRecord,
    accuracyAtEpsilon: rows
      .filter((row) => row.bound !== null)
      .map((row) => ({ epsilon: row.epsilon, bound: row.bound!, testAccuracy: row.testAccuracy })),
    unnoisedTestAccuracy: {
      firstOrder: accuracyOn(model, unlearned, exp.test),
      secondOrder: perRequest.proven
        ? accuracyOn(model, perRequest.secondOrderWeights, exp.test)
        : null,
    },
    audit: {
      // The empirical lower bound on epsilon at a certified epsilon of 1, for the tightest
      // certified bound audited (per-request second order where it exists).
      epsilonLower: (() => {
        const row = atOne('per-request-2') ?? atOne('paper') ?? atOne('paper-rho1');
        return row?.audit
          ? {
              bound: row.bound,
              certifiedEpsilon: 1,
              value: Math.max(row.audit.lossAttack, row.audit.projectionAttack),
            }
          : null;
      })(),
    },
    capacity: { budget: CAPACITY_BUDGET, rows: capacityTable() },
    certificate: issued.certificate,
    certificateProblems: problems,
    certificateAudit: { checked: audit.checked, trusted: audit.trusted },
  };
}

export type CertifyRecord = Awaited<ReturnType<typeof runCertify>>;
