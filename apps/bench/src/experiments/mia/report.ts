import { FEATURE_KINDS, type FeatureKind, type Roc } from '@lethe/evaluate';
import type { ExperimentOutput, Plot } from '../../experiment.js';
import { chart, type Series } from '../../svg.js';
import { markdownTable } from '../../table.js';
import { CLASSIFIERS, type MiaFlags } from './options.js';
import type { MiaMeasurement } from './run.js';

/** Keeps enough points of a long ROC to draw it on log axes (every point is a circle). */
function thinRoc(curve: Roc): [number, number][] {
  const out: [number, number][] = [];
  let lastF = -1;
  let lastT = -1;
  for (let i = 0; i < curve.fpr.length; i++) {
    const f = curve.fpr[i]!;
    const t = curve.tpr[i]!;
    const last = i === curve.fpr.length - 1;
    if (last || f > lastF * 1.05 + 1e-12 || Math.abs(t - lastT) > 0.01) {
      out.push([f, t]);
      lastF = f;
      lastT = t;
    }
  }
  return out;
}

const fmtEps = (e: number) => (Number.isFinite(e) ? e : 'none');

function plots(flags: MiaFlags, { result, lira, miaU }: MiaMeasurement): Plot[] {
  const out: Plot[] = [
    {
      file: 'lira-roc.svg',
      svg: chart(
        lira.map((r) => ({ name: r.name.replace(' variance', ''), points: thinRoc(r.roc) })),
        {
          title: `LiRA ROC (${flags.shadows} shadows), log-log`,
          xLabel: 'false-positive rate',
          yLabel: 'true-positive rate',
          logX: true,
          logY: true,
          diagonal: true,
        },
      ),
    },
  ];
  // The strongest attack without noise, at every noise level.
  const best = miaU[0]!.attacks.reduce((a, b) => (b.auc > a.auc ? b : a));
  const strongest = (l: (typeof miaU)[number]) =>
    l.attacks.find((a) => a.feature === best.feature && a.classifier === best.classifier)!;
  out.push({
    file: 'mia-u-roc.svg',
    svg: chart(
      miaU.map((l) => ({
        name: `sigma ${l.sigma === 0 ? 0 : l.sigma.toPrecision(2)}`,
        points: thinRoc(strongest(l).roc),
      })),
      {
        title: `MIA-U ROC (${best.feature}, ${best.classifier}) by noise level`,
        xLabel: 'false-positive rate',
        yLabel: 'true-positive rate',
        diagonal: true,
      },
    ),
  });
  const noisy = miaU.filter((l) => l.sigma > 0);
  if (noisy.length === 0) return out;
  for (const classifier of CLASSIFIERS) {
    const series: Series[] = FEATURE_KINDS.map((feature: FeatureKind) => ({
      name: feature,
      points: noisy.map((l) => {
        const a = l.attacks.find((x) => x.feature === feature && x.classifier === classifier)!;
        return [l.sigma, a.auc] as const;
      }),
    }));
    out.push({
      file: `mia-u-auc-${classifier}.svg`,
      svg: chart(series, {
        title: `MIA-U AUC vs sigma (${classifier} attack; sigma 0 in result.md)`,
        xLabel: 'sigma',
        yLabel: 'attack AUC',
        logX: true,
      }),
    });
  }
  out.push({
    file: 'accuracy-vs-sigma.svg',
    svg: chart(
      [{ name: 'test accuracy', points: noisy.map((l) => [l.sigma, l.testAccuracy] as const) }],
      {
        title: `Test accuracy of the released model (no noise: ${result.accuracy.unlearned.toFixed(3)})`,
        xLabel: 'sigma',
        yLabel: 'test accuracy',
        logX: true,
      },
    ),
  });
  return out;
}

export function miaOutput(flags: MiaFlags, measurement: MiaMeasurement): ExperimentOutput {
  const { result, lira, miaU } = measurement;
  const { config: c, aucNullStd } = result;
  const liraTable = markdownTable(
    ['LiRA variant', 'AUC', 'TPR @ 1% FPR', 'TPR @ 0.1% FPR'],
    lira.map((r) => [r.name, r.auc, r.tprAt1pctFpr, r.tprAt01pctFpr]),
  );
  const accuracyTable = markdownTable(
    ['sigma', 'epsilon', 'test acc', 'forget acc'],
    miaU.map((l) => [l.sigma, fmtEps(l.epsilon), l.testAccuracy, l.forgetAccuracy]),
  );
  const aucTable = markdownTable(
    ['sigma', 'epsilon', ...FEATURE_KINDS.flatMap((f) => CLASSIFIERS.map((k) => `${f} ${k}`))],
    miaU.map((l) => [l.sigma, fmtEps(l.epsilon), ...l.attacks.map((a) => a.auc)]),
  );
  const everyAttack = markdownTable(
    [
      'sigma',
      'feature',
      'classifier',
      'AUC',
      'TPR @ 1% FPR',
      'TPR @ 0.1% FPR',
      'AUC on shadow pairs',
    ],
    miaU.flatMap((l) =>
      l.attacks.map((a) => [
        l.sigma,
        a.feature,
        a.classifier,
        a.auc,
        a.tprAt1pctFpr,
        a.tprAt01pctFpr,
        a.trainAuc,
      ]),
    ),
  );
  const s = result.sensitivity;
  const header =
    `target: train accuracy ${result.accuracy.targetTrain}, test accuracy ${result.accuracy.target} ` +
    `(unlearned, no noise: ${result.accuracy.unlearned}); sensitivity (paper bound, ` +
    `${s.rhoMeasurement ? `measured rho = ${s.rhoMeasurement.value}` : 'rho = 1'}, m = ${c.forget}) ${s.value}, delta ${c.delta}`;
  const liraNote = `${flags.shadows} shadows, ${c.poolSize} pool samples, half members; a chance-level AUC has standard deviation ${aucNullStd.lira.toFixed(4)}`;
  const miaUNote = `${c.attackPairs.target} held-out target pairs, ${c.attackPairs.shadow} shadow pairs; a chance-level AUC has standard deviation ${aucNullStd.miaU.toFixed(4)}`;
  return {
    result,
    markdown:
      `# mia: ${c.model} on ${c.dataset}\n\n${header}\n\n## MIA-L (LiRA)\n\n${liraNote}.\n\n${liraTable}\n\n` +
      `## MIA-U: released model accuracy\n\n${accuracyTable}\n\n## MIA-U: attack AUC\n\n${miaUNote}.\n\n${aucTable}\n\n` +
      `## MIA-U: every attack\n\n${everyAttack}\n`,
    summary:
      `${header}\n\nMIA-L (LiRA, ${liraNote}):\n\n${liraTable}\n` +
      `\nMIA-U: accuracy of the released (unlearned + noise) target:\n\n${accuracyTable}\n` +
      `\nMIA-U attack AUC (${miaUNote}):\n\n${aucTable}`,
    plots: plots(flags, measurement),
  };
}
