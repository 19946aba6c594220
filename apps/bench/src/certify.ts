import {
  addGaussianNoise,
  analyticGaussianSigma,
  createCertificate,
  type PaperSensitivityModel,
  PrivacyAccountant,
  paperStepCounts,
  seededNoiseSource,
  sensitivityValue,
  verifyCertificate,
} from '@lethe/certify';
import { trajectoryRho } from '@lethe/certify/trajectory';
import { recollect, retrain, storeIdentity, train, Unlearner } from '@lethe/recollect';
import { createMemoryStore } from '@lethe/store';
import { accuracy, backendRecord, l2Distance, versions } from './common.js';
import { markdownTable, mean, progressLine, writeAtomic } from './report.js';
import { chooseForgetSet, type ExperimentFlags, setUp } from './setup.js';
import { chart } from './svg.js';

export interface CertifyFlags extends ExperimentFlags {
  readonly forget: number;
  readonly delta: number;
  readonly epsilons: readonly number[];
  /** Noise draws per epsilon (accuracy and distance are averaged over them). */
  readonly draws: number;
  readonly rhoSteps: number;
  readonly workers?: number;
  readonly out?: string;
}

export const DEFAULT_EPSILONS = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100];

/**
 * `pnpm bench certify`: the accuracy cost of certification. Forget M samples, then release
 * w + N(0, sigma^2 I) with sigma from the analytic Gaussian mechanism at each epsilon, for the
 * paper's sensitivity bound with rho = 1 (what the authors' code uses) and with rho measured on
 * the trajectory by power iteration.
 */
export async function runCertify(flags: CertifyFlags) {
  const exp = await setUp(flags);
  const { model, config, trainingData } = exp;
  const forget = chooseForgetSet(trainingData.n, flags.forget, flags.seed);
  const remain = Array.from({ length: trainingData.n }, (_, i) => i).filter(
    (i) => !forget.includes(i),
  );
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
  const unlearner = Unlearner.open(model, trajectory, { kind: 'store', store });
  await unlearner.forgetBatch(forget);
  const unlearned = unlearner.weights;
  const retrained = retrain(model, trainingData, trajectory, forget);

  const rhoProgress = progressLine('rho (power iteration)');
  const rho = trajectoryRho({
    model,
    data: trainingData,
    trajectory,
    steps: flags.rhoSteps,
    onStep: (i, total) => rhoProgress(i / total),
  });
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
  const models: { label: string; model: PaperSensitivityModel }[] = [
    { label: "paper bound, rho = 1 (authors' code)", model: { ...base, rho: 1 } },
    {
      label: `paper bound, measured rho = ${rho.value.toFixed(6)}`,
      model: { ...base, rho: rho.value },
    },
  ];
  const noise = seededNoiseSource(flags.seed);
  const rows: {
    sensitivityModel: string;
    sensitivity: number;
    epsilon: number;
    sigma: number;
    testAccuracy: number;
    forgetAccuracy: number;
    distanceToRetrain: number;
  }[] = [];
  for (const { label, model: sm } of models) {
    const sensitivity = sensitivityValue(sm);
    for (const epsilon of flags.epsilons) {
      const sigma = Number.isFinite(sensitivity)
        ? analyticGaussianSigma({ epsilon, delta: flags.delta, sensitivity })
        : Number.POSITIVE_INFINITY;
      const draws = Array.from({ length: flags.draws }, () =>
        Number.isFinite(sigma) ? addGaussianNoise(unlearned, sigma, noise) : null,
      );
      const measure = (f: (w: Float32Array) => number) =>
        draws[0] ? mean(draws.map((w) => f(w!))) : Number.NaN;
      rows.push({
        sensitivityModel: label,
        sensitivity,
        epsilon,
        sigma,
        testAccuracy: measure((w) => accuracy(model, w, exp.test)),
        forgetAccuracy: measure((w) => accuracy(model, w, exp.train, forget)),
        distanceToRetrain: measure((w) => l2Distance(w, retrained)),
      });
    }
  }

  // One certified release, its certificate, and the verifier's verdict.
  const measured = models[1]!.model;
  const sensitivity = sensitivityValue(measured);
  const accountant = new PrivacyAccountant();
  const epsilon = 1;
  const sigma = analyticGaussianSigma({ epsilon, delta: flags.delta, sensitivity });
  const released = addGaussianNoise(unlearned, sigma, noise);
  const release = accountant.record({
    mode: 'batch',
    requestIds: forget.map(String),
    sigma,
    sensitivity,
    epsilon,
    delta: flags.delta,
  });
  const certificate = createCertificate({
    accountant,
    release,
    sensitivityModel: measured,
    weights: released,
    noise,
    backend: exp.backend.name,
    versions: versions(),
    approximationOrder: 1,
  });
  const problems = verifyCertificate(certificate, released, accountant.toJSON(), {
    allowSeededNoise: true,
  });

  const result = {
    experiment: 'certify',
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
    versions: versions(),
    seed: flags.seed,
    noise: { source: noise.kind, algorithm: noise.algorithm },
    rho,
    stepCounts: { T, B },
    reference: {
      testAccuracy: {
        original: accuracy(model, weights, exp.test),
        unlearned: accuracy(model, unlearned, exp.test),
        retrain: accuracy(model, retrained, exp.test),
      },
      remainAccuracy: accuracy(model, unlearned, exp.train, remain),
      distance: {
        unlearnedToRetrain: l2Distance(unlearned, retrained),
        originalToRetrain: l2Distance(weights, retrained),
      },
    },
    rows,
    certificate,
    certificateProblems: problems,
  };
  const table = markdownTable(
    [
      'sensitivity model',
      'Delta',
      'epsilon',
      'sigma',
      'test acc',
      'forget acc',
      'distance to retrain',
    ],
    rows.map((r) => [
      r.sensitivityModel,
      r.sensitivity,
      r.epsilon,
      r.sigma,
      r.testAccuracy,
      r.forgetAccuracy,
      r.distanceToRetrain,
    ]),
  );
  process.stdout.write(
    `\nrho = ${rho.value} over ${rho.perStep.length} steps (converged: ${rho.converged}); T = ${T}, B = ${B}\n` +
      `unlearned (no noise) test accuracy ${result.reference.testAccuracy.unlearned}, retrain ${result.reference.testAccuracy.retrain}\n\n${table}\n` +
      `\ncertificate for epsilon = 1 (measured rho): ${problems.length === 0 ? 'verifies' : `problems: ${problems.join('; ')}`}\n`,
  );
  if (flags.out) {
    writeAtomic(flags.out, 'result.json', `${JSON.stringify(result, null, 2)}\n`);
    writeAtomic(
      flags.out,
      'result.md',
      `# certify: ${model.name} on ${flags.dataset}\n\n${table}\n`,
    );
    writeAtomic(flags.out, 'certificate.json', `${JSON.stringify(certificate, null, 2)}\n`);
    const series = models.map(({ label }) => ({
      name: label.length > 28 ? `${label.slice(0, 26)}..` : label,
      points: rows
        .filter((r) => r.sensitivityModel === label && Number.isFinite(r.testAccuracy))
        .map((r) => [r.epsilon, r.testAccuracy] as const),
    }));
    series.push({
      name: 'unlearned, no noise',
      points: flags.epsilons.map((e) => [e, result.reference.testAccuracy.unlearned] as const),
    });
    writeAtomic(
      flags.out,
      'accuracy-vs-epsilon.svg',
      chart(
        series.filter((s) => s.points.length > 0),
        {
          title: `Test accuracy of the certified release (delta = ${flags.delta})`,
          xLabel: 'epsilon',
          yLabel: 'test accuracy',
          logX: true,
        },
      ),
    );
    process.stderr.write(
      `certify: wrote ${flags.out}/result.json, result.md, certificate.json, accuracy-vs-epsilon.svg\n`,
    );
  }
  await store.close();
  return result;
}
