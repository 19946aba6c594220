import { LetheError } from './errors.js';

/**
 * How to rebuild a model in another thread or process: the registry name, the options given
 * to its factory, and the layout digest the rebuilt model must have.
 */
export interface ModelRecipe {
  readonly name: string;
  readonly options: Readonly<Record<string, unknown>>;
  readonly digest: string;
}

/** Refuses a rebuilt model whose layout differs from the recipe's. */
export function assertRecipeDigest(recipe: ModelRecipe, rebuiltDigest: string): void {
  if (rebuiltDigest !== recipe.digest) {
    throw new LetheError(
      'mismatch',
      `Rebuilt model ${recipe.name} has layout digest ${rebuiltDigest}, expected ${recipe.digest}: the worker runs a different version of the model code, or its registration module was not loaded.`,
    );
  }
}
