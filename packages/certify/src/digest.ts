// The weights' digest lives in @lethe/core, so that a store's deletion ledger and a certificate
// name weights the same way.
export { weightsSha256 } from '@lethe/core';
