/**
 * The library API of pm2-gitops: render, validate and (in later stages) diff,
 * plan and apply. Never imports cli/.
 */
export * from './domain/manifest.js';
export * from './domain/diagnostic.js';
export * from './domain/errors.js';
export { parseManifestFile, type ParsedFile, type ParsedDocument } from './manifest/parse.js';
export { readManifestFiles, loadDesiredState, type ManifestSource } from './manifest/load.js';
export { render, findEnvironments, type RenderInput, type RenderResult } from './render/render.js';
export { orderByDependencies } from './render/order.js';
export { selectHost, targetsHost, type HostIdentity, type HostTargeting } from './render/hosts.js';
export { assessFleet, buildFleetSummary, type Fleet, type FleetHost, type HostStanding } from './report/fleet.js';
export { importEcosystem, ecosystemApps, type ImportResult } from './ecosystem/import.js';
export { buildEcosystem, formatEcosystem, type EcosystemFormat, type ExportPlace } from './ecosystem/export.js';
export { readEcosystemFile } from './adapters/ecosystem-file.js';
