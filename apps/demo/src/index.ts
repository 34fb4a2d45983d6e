export { createDemoApp, LIMITS } from './app.js';
export { startDemoServer } from './server.js';
export type { DemoServer } from './server.js';
export { parseDemoOptions } from './options.js';
export type { DemoOptions } from './options.js';
export { readOrCreateCertificate } from './certificate.js';
export { CS_WORK_SCRIPT, PS_ONE_SHOT_SCRIPT, PS_SLEEP_SCRIPT } from './scripts.js';
