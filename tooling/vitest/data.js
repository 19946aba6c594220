// Real-data tests read files that Debian packages install (Fashion-MNIST IDX files, scikit-learn's
// CSV sets). Where the package is missing such a test is skipped, with a title naming the
// package; with LETHE_REQUIRE_DATA=1 (CI sets it) a missing file fails instead, so that a CI run
// whose apt step failed cannot pass while the real-data tests silently did not run.
import { existsSync } from 'node:fs';

export function dataPresent(path, aptPackage) {
  if (existsSync(path)) return true;
  if (process.env.LETHE_REQUIRE_DATA === '1') {
    throw new Error(
      `${path} is missing and LETHE_REQUIRE_DATA=1 requires the real-data tests to run: apt-get install -y ${aptPackage} (or unset LETHE_REQUIRE_DATA to skip them).`,
    );
  }
  return false;
}
