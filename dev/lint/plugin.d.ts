/** Declarations of plugin.js (plain JS: eslint.config.js loads it). */
import type { ESLint } from 'eslint'
export declare const runnelPlugin: ESLint.Plugin
