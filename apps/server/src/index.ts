// Public API of @lethe/server: open the service, build its HTTP app, and the served models.
export { type AppOptions, buildApp, MAX_IDS } from './app.js';
export { type Caller, hashToken, SCOPES, type Scope } from './auth.js';
export { type Db, openPglite, openServer } from './db.js';
export { FAULT_STAGES, type FaultStage } from './faults.js';
export { migrate, SERVICE_SCHEMA, SERVICE_SCHEMA_VERSION } from './migrations.js';
export { loadServedModel, MODEL_NAMES, type ModelName, type ServedModel } from './model.js';
export {
  type ApplicationTiming,
  DeletionService,
  type ReleasePolicy,
  type ReleaseView,
  type RequestState,
  type RequestView,
  type ServiceOptions,
} from './service.js';
