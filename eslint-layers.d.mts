// Types for eslint-layers.mjs (plain JS so eslint.config.js can load it without a build),
// for the test that checks the table (test/unit/common/layers.test.ts).
export declare const LAYERS: Readonly<Record<string, readonly string[]>>;
export declare const AREAS: readonly string[];
export interface LayerZone {
  target: string;
  from: string[];
  message: string;
}
export declare function layerZones(root?: string): LayerZone[];
export declare function findCycle(): string[] | undefined;
