export { DEFAULTS, SCHEMA, type Settings, type BucketSetting, type DicomwebSetting } from './schema.js';
export { loadSettings, defaultPaths, validateLayer, flatten, isConfigured, type LoadedSettings, type LoadOptions, type Layer } from './load.js';
