import type { BuildOptions } from 'esbuild';

/** The esbuild options the CLI bundle is built with (see bundle-options.mjs). */
export declare const bundleOptions: BuildOptions;
