/** esbuild bundles imported CSS into the page's inline stylesheet. */
declare module "*.css";
