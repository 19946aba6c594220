// Debian's headless Chromium for the tests that render a page (the bench report, the service's
// status page). Without the package those tests skip, except where LETHE_REQUIRE_DATA=1 (CI)
// makes its absence a failure that names the package.
import { existsSync } from 'node:fs';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export const chromiumPresent = existsSync(CHROMIUM_PATH);
if (!chromiumPresent && process.env.LETHE_REQUIRE_DATA === '1') {
  throw new Error(
    `${CHROMIUM_PATH} is missing: apt-get install -y chromium (LETHE_REQUIRE_DATA=1).`,
  );
}

// Without these, Chromium waits on the closed network (component updates, sync, QUIC probes)
// and on a first-run dialog; each test passes a fresh profile directory of its own.
export const CHROMIUM_ARGS = Object.freeze([
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]);
