/**
 * True when `path` exists. When it does not: false (the caller skips its test), or, with
 * LETHE_REQUIRE_DATA=1, an error naming the path and the apt package that provides it.
 */
export function dataPresent(path: string, aptPackage: string): boolean;
