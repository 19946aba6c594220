/** Where Debian's chromium package installs the browser. */
export const CHROMIUM_PATH: string;
/** Whether it is installed (with LETHE_REQUIRE_DATA=1, importing throws when it is not). */
export const chromiumPresent: boolean;
/** Launch arguments that keep Chromium from waiting on the closed network. */
export const CHROMIUM_ARGS: readonly string[];
