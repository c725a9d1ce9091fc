/** Declarations of layers.js (plain JS: eslint.config.js loads it). */
export declare const LAYERS: Readonly<Record<string, readonly string[]>>
export declare function layerOf(relativePath: string): string | undefined
