import { LetheError } from '@lethe/core';
import { type AttackClassifier, type AttackOptions, trainAttack } from './attack.js';
import { type FeatureKind, unlearningFeatures } from './features.js';
import { type AttackMetrics, attackMetrics } from './roc.js';
import { sharedRows } from './shared-rows.js';
import { requireBinaryLabels, requireSameLength } from './validate.js';

/**
 * Samples queried on an (original, unlearned) model pair: label 1 = the sample was in the
 * original training set and has been forgotten, 0 = it was never trained on.
 */
export interface UnlearningPairs {
  /** Original model's posteriors, [n, classes] row by row. */
  readonly original: ArrayLike<number>;
  /** Unlearned (possibly noised) model's posteriors on the same samples. */
  readonly unlearned: ArrayLike<number>;
  readonly labels: ArrayLike<number>;
}

export interface UnlearningAttackOptions extends Omit<AttackOptions, 'classifier'> {
  readonly classes: number;
  readonly feature: FeatureKind;
  readonly classifier: AttackClassifier;
}

export interface UnlearningAttackResult extends AttackMetrics {
  readonly feature: FeatureKind;
  readonly classifier: AttackClassifier;
  /** Attack scores of the target pairs (higher = forgotten). */
  readonly scores: Float64Array;
  /** AUC of the attack on its own training (shadow) pairs: how well it fits, not how well it attacks. */
  readonly trainAuc: number;
}

/**
 * MIA-U (Chen et al. 2021): trains the attack on shadow pairs and scores held-out target pairs.
 * Scoring on the training pairs (as the authors' script does) measures memorisation by the
 * attack, so the same pairs are refused (docs/method.md#the-unlearning-attack).
 */
export function unlearningAttack(
  shadow: UnlearningPairs,
  target: UnlearningPairs,
  options: UnlearningAttackOptions,
): UnlearningAttackResult {
  const where = 'unlearningAttack';
  const { classes, feature } = options;
  const features = (p: UnlearningPairs, name: string) => {
    const m = unlearningFeatures(p.original, p.unlearned, classes, feature);
    requireSameLength(
      where,
      { name: `${name} posteriors (rows)`, length: m.rows },
      { name: `${name} labels`, length: p.labels.length },
    );
    requireBinaryLabels(where, `${name} labels`, p.labels);
    return m;
  };
  const train = features(shadow, 'shadow');
  const test = features(target, 'target');
  // By content, not by object: a copy of the shadow pairs is still the attack's training set.
  const shared = sharedRows(shadow, target, classes);
  if (shared.length > 0) {
    const all = shared.length === test.rows;
    throw new LetheError(
      'invalid-argument',
      `${where}: ${all ? 'the target pairs are the shadow pairs' : `${shared.length} of the ${test.rows} target pairs are shadow pairs (target rows ${shared.slice(0, 5).join(', ')}${shared.length > 5 ? ', ...' : ''})`}; scoring the attack on its training samples overstates it. Pass pairs from models and samples the attack was not trained on.`,
    );
  }
  const model = trainAttack(train, shadow.labels, options);
  const scores = model.score(test);
  return {
    ...attackMetrics(scores, target.labels),
    feature,
    classifier: options.classifier,
    scores,
    trainAuc: attackMetrics(model.score(train), shadow.labels).auc,
  };
}
