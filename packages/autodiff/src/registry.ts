import { assertRecipeDigest, LetheError, type ModelRecipe } from '@lethe/core';
import type { Model } from './model.js';
import { cnn } from './models/cnn.js';
import { lenet } from './models/lenet.js';
import { logisticRegression } from './models/logistic.js';
import { mlp } from './models/mlp.js';
import { resnet } from './models/resnet.js';

/** Options every model factory understands; factories ignore what they do not use. */
export interface ModelOptions {
  readonly inputShape?: readonly number[];
  readonly classes?: number;
  readonly hidden?: number;
}

export type ModelFactory = (options: ModelOptions) => Model;

const factories = new Map<string, ModelFactory>();

/** Makes a model available by name (to the CLI, to worker threads, to stores' manifests). */
export function registerModel(name: string, factory: ModelFactory): void {
  if (factories.has(name)) {
    throw new LetheError(
      'invalid-argument',
      `A model named "${name}" is already registered; pick another name.`,
    );
  }
  factories.set(name, factory);
}

/** Shapes and sizes must be whole numbers >= 1: a fraction or NaN would give a nonsense d. */
function validateOptions(name: string, options: ModelOptions): void {
  const whole = (what: string, v: unknown, min: number) => {
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= min)) {
      throw new LetheError(
        'invalid-argument',
        `createModel('${name}'): ${what} is ${String(v)}; it must be a whole number >= ${min}.`,
      );
    }
  };
  if (options.inputShape !== undefined) {
    if (!Array.isArray(options.inputShape) || options.inputShape.length === 0) {
      throw new LetheError(
        'invalid-argument',
        `createModel('${name}'): inputShape must be a non-empty array of whole numbers, e.g. [28, 28, 1] or [13].`,
      );
    }
    options.inputShape.forEach((v, i) => whole(`inputShape[${i}]`, v, 1));
  }
  if (options.classes !== undefined) whole('classes', options.classes, 2);
  if (options.hidden !== undefined) whole('hidden', options.hidden, 1);
}

export function createModel(name: string, options: ModelOptions = {}): Model {
  validateOptions(name, options);
  const factory = factories.get(name);
  if (!factory) {
    throw new LetheError(
      'invalid-argument',
      `Unknown model "${name}": registered models are ${[...factories.keys()].join(', ')}; register it first (registerModel) or pick one of those.`,
    );
  }
  return { ...factory(options), spec: { name, options: { ...options } } };
}

/** What another thread or process rebuilds this model from (models made by createModel). */
export function recipeOf(model: Model): ModelRecipe {
  if (model.spec === undefined) {
    throw new LetheError(
      'unsupported',
      `Model ${model.name} was not made by createModel, so worker threads cannot rebuild it: register its factory (registerModel) and create it by name.`,
    );
  }
  return { name: model.spec.name, options: model.spec.options, digest: model.digest };
}

/** The model a recipe describes, refused if its layout digest differs from the recipe's. */
export function rebuildModel(recipe: ModelRecipe): Model {
  const model = createModel(recipe.name, recipe.options as ModelOptions);
  assertRecipeDigest(recipe, model.digest);
  return model;
}

export function listModels(): string[] {
  return [...factories.keys()];
}

const size = (shape?: readonly number[]): number | undefined => shape?.reduce((a, b) => a * b, 1);

registerModel('logistic', (o) =>
  logisticRegression({ inputs: size(o.inputShape), classes: o.classes, inputShape: o.inputShape }),
);
registerModel('mlp', (o) =>
  mlp({
    inputs: size(o.inputShape),
    hidden: o.hidden,
    classes: o.classes,
    inputShape: o.inputShape,
  }),
);
registerModel('cnn', (o) => cnn({ inputShape: o.inputShape, classes: o.classes }));
registerModel('lenet', (o) => lenet({ inputShape: o.inputShape, classes: o.classes }));
registerModel('resnet', (o) => resnet({ inputShape: o.inputShape, classes: o.classes }));
