// esbuild inject for the notebooks' CommonJS bundle: what import.meta.url means in ESM.
export const importMetaUrl = require('node:url').pathToFileURL(__filename).href;
