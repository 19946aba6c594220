// Results are shared and committed, so they must not carry the paths of the machine they ran
// on (a user's home, a checkout's location): absolute paths in any string become relative to
// the repository, or `<abs>/<last segment>` outside it.
import { homedir } from 'node:os';
import { basename, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root (dist/ or src/ of apps/bench, three levels up). */
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

// An absolute path of at least two segments, not part of a URL, a fraction or a word, nor an
// HTTP route after its method ("POST /v1/deletions").
const ABSOLUTE_PATH =
  /(?<![\w./\\-])(?<!(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) )(?:\/[\w.@+~-]+){2,}\/?/g;

/** A path as recorded: relative to the repository root, else `<abs>/<basename>`. */
export function portablePath(path: string, root: string = REPO_ROOT): string {
  const rel = relative(root, path);
  if (rel === '') return '.';
  if (!rel.startsWith('..') && !rel.startsWith(sep)) return rel;
  if (path.startsWith(homedir())) return `~/${basename(path)}`;
  return `<abs>/${basename(path)}`;
}

/** The text with every absolute path made portable. */
export function portableText(text: string, root: string = REPO_ROOT): string {
  return text.replace(ABSOLUTE_PATH, (path) => portablePath(path, root));
}

/** A JSON-like value with every string made portable (keys too). */
export function portableValue<T>(value: T, root: string = REPO_ROOT): T {
  if (typeof value === 'string') return portableText(value, root) as T;
  if (Array.isArray(value)) return value.map((v) => portableValue(v, root)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [portableText(k, root), portableValue(v, root)]),
    ) as T;
  }
  return value;
}
